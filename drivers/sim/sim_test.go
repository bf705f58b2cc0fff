package sim_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/internal/peertest"
	"github.com/tripleo-go/tripleo/provision"
	"github.com/tripleo-go/tripleo/provision/powertest"
)

func startDC(t *testing.T, n int, o *sim.Options) *sim.Datacenter {
	t.Helper()
	dc, err := sim.Start(n, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	return dc
}

func TestConformanceSimScheme(t *testing.T) {
	dc := startDC(t, 2, &sim.Options{Password: "conformance-pw"})
	dead := dc.Machine(1)
	dead.SetFault(sim.FaultUnreachable, 0)
	open := func(addr string) func(context.Context, provision.Credentials, *slog.Logger) (provision.PowerDriver, error) {
		return func(ctx context.Context, c provision.Credentials, l *slog.Logger) (provision.PowerDriver, error) {
			d, _, err := provision.OpenDriver(ctx, addr, c, l)
			return d, err
		}
	}
	powertest.RunConformanceTests(t, powertest.Config{
		Open:            open(dc.Machine(0).SimURL()),
		OpenUnreachable: open(dead.SimURL()),
		Credentials:     dc.Machine(0).Credentials(),
		BMC:             provision.BMCOptions{PollInterval: 10 * time.Millisecond, PowerTimeout: 10 * time.Second},
	})
}

func TestPowerOnDelayIsWaitedFor(t *testing.T) {
	dc := startDC(t, 1, &sim.Options{PowerOnDelay: 2 * time.Second})
	m := dc.Machine(0)
	b, err := provision.OpenBMC(t.Context(), m.SimURL(), m.Credentials(), &provision.BMCOptions{PollInterval: 50 * time.Millisecond, MaxPollInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Driver().SetPower(t.Context(), provision.PowerActionOn); err != nil {
		t.Fatal(err)
	}
	if s := m.PowerState(); s != provision.PowerOff {
		t.Fatalf("machine is %s right after the command; the 2s delay did not apply", s)
	}
	s, err := b.Power(t.Context(), provision.PowerActionOn)
	if err != nil || s != provision.PowerOn || m.PowerState() != provision.PowerOn {
		t.Fatalf("Power(on) = %v, %v; machine %s", s, err, m.PowerState())
	}
}

// TestIPMIToolDrivesSim drives the simulated BMC with the real ipmitool,
// an independent client, over IPMI 2.0 (lanplus, suite 3) and 1.5 (lan).
func TestIPMIToolDrivesSim(t *testing.T) {
	ipmitool := peertest.Look(t, "ipmitool")[0]
	dc := startDC(t, 2, nil)
	m := dc.Machine(0)
	host, port, _ := strings.Cut(m.IPMIAddr(), ":")
	// Generous timeouts for the calls that must succeed (a loaded CI
	// machine), short ones for those expected to fail.
	timeouts := []string{"-N", "2", "-R", "3"}
	run := func(iface, password string, args ...string) (string, error) {
		base := append([]string{"-I", iface, "-H", host, "-p", port, "-U", "admin", "-P", password}, timeouts...)
		if iface == "lanplus" {
			base = append(base, "-C", "3")
		}
		cmd := exec.CommandContext(t.Context(), ipmitool, append(base, args...)...)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	steps := []struct {
		iface string
		args  []string
		want  string
	}{
		{"lanplus", []string{"chassis", "power", "status"}, "Chassis Power is off"},
		{"lanplus", []string{"chassis", "power", "on"}, "Up/On"},
		{"lanplus", []string{"chassis", "power", "status"}, "Chassis Power is on"},
		{"lanplus", []string{"chassis", "bootdev", "pxe"}, "Set Boot Device to pxe"},
		{"lanplus", []string{"chassis", "bootparam", "get", "5"}, "Force PXE"},
		{"lanplus", []string{"chassis", "power", "cycle"}, "Cycle"},
		{"lanplus", []string{"chassis", "bootdev", "disk", "options=persistent"}, "Set Boot Device to disk"},
		{"lanplus", []string{"chassis", "power", "soft"}, "Soft"},
		{"lanplus", []string{"chassis", "status"}, "System Power         : off"},
		{"lan", []string{"chassis", "power", "on"}, "Up/On"},
		{"lan", []string{"chassis", "power", "status"}, "Chassis Power is on"},
		{"lanplus", []string{"chassis", "power", "reset"}, "Reset"},
		{"lanplus", []string{"chassis", "power", "off"}, "Down/Off"},
	}
	for _, s := range steps {
		out, err := run(s.iface, "password", s.args...)
		if err != nil || !strings.Contains(out, s.want) {
			t.Fatalf("ipmitool -I %s %v: %v\n%s\nwant %q", s.iface, s.args, err, out, s.want)
		}
	}
	want := []string{"power on", "boot pxe once", "power cycle", "boot disk persistent", "power soft-off", "power on", "power reset", "power off"}
	if got := m.Calls(); !slices.Equal(got, want) {
		t.Errorf("machine saw %v\nwant %v", got, want)
	}
	if m.BootedFrom() != provision.BootDisk {
		t.Errorf("booted from %s after reset with disk persistent", m.BootedFrom())
	}
	timeouts = []string{"-N", "1", "-R", "1"}
	if out, err := run("lanplus", "not-the-password", "chassis", "power", "status"); err == nil || !strings.Contains(out, "RMCP+") {
		t.Errorf("wrong password: %v\n%s", err, out)
	}
	// Cipher suite 0 (no authentication) is refused.
	c0 := exec.CommandContext(t.Context(), ipmitool, "-I", "lanplus", "-C", "0", "-H", host, "-p", port, "-U", "admin", "-P", "x", "-N", "1", "-R", "1", "chassis", "power", "status")
	if out, err := c0.CombinedOutput(); err == nil {
		t.Errorf("cipher suite 0 accepted: %s", out)
	}
	m.SetFault(sim.FaultWrongPassword, 0)
	if _, err := run("lanplus", "password", "chassis", "power", "status"); err == nil {
		t.Error("FaultWrongPassword: ipmitool still got in")
	}
	m.SetFault(sim.FaultUnreachable, 0)
	if _, err := run("lanplus", "password", "chassis", "power", "status"); err == nil {
		t.Error("FaultUnreachable: ipmitool got an answer")
	}
	m.SetFault(sim.FaultNone, 0)
	timeouts = []string{"-N", "2", "-R", "3"}
	if out, err := run("lanplus", "password", "chassis", "power", "status"); err != nil {
		t.Errorf("after clearing the fault: %v\n%s", err, out)
	}
}

func TestDeployWritesDisk(t *testing.T) {
	ctx := t.Context()
	dc := startDC(t, 1, nil)
	m := dc.Machine(0)
	img := filepath.Join(t.TempDir(), "image.raw")
	os.WriteFile(img, []byte("golden image v1"), 0o644)
	inv, _ := provision.OpenFileInventory(filepath.Join(t.TempDir(), "inv.json"), nil)
	p := provision.NewProvisioner(inv, &provision.Options{BMC: provision.BMCOptions{PollInterval: 10 * time.Millisecond}})
	defer p.Close()
	if _, err := p.Enroll(ctx, &provision.Node{Name: "n0", BMCAddress: m.SimURL(), Credentials: m.Credentials()}); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Inspect(ctx, "n0"); err != nil || n.MACs[0] != m.MAC() {
		t.Fatalf("Inspect = %+v, %v", n, err)
	}
	if _, err := p.Provide(ctx, "n0"); err != nil {
		t.Fatal(err)
	}
	n, err := p.Deploy(ctx, "n0", dc.DeployStep(img))
	if err != nil || n.ProvisionState != provision.StateActive {
		t.Fatalf("Deploy = %+v, %v", n, err)
	}
	disk, _ := os.ReadFile(m.DiskPath())
	if !strings.HasPrefix(string(disk), "golden image v1") {
		t.Error("image not on the disk")
	}
	if m.BootedFrom() != provision.BootDisk || m.PowerState() != provision.PowerOn {
		t.Errorf("after deploy: booted from %s, power %s", m.BootedFrom(), m.PowerState())
	}
	// A deploy step refuses a machine that did not network-boot.
	m.Power(provision.PowerActionOff)
	if err := dc.DeployStep(img).Run(ctx, n, nil); err == nil {
		t.Error("deploy step ran on a powered-off machine")
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	if _, err := sim.Start(1, &sim.Options{Host: "0.0.0.0"}); err == nil {
		t.Fatal("bound a non-loopback address")
	}
}
