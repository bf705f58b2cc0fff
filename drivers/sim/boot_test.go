package sim_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/internal/peertest"
	"github.com/tripleo-go/tripleo/provision"
)

// bootCall is one call of recordingBooter.
type bootCall struct {
	machine, disk, dir string
	ctx                context.Context
}

// recordingBooter reports each boot and runs until its context ends.
type recordingBooter struct {
	calls   chan bootCall
	stopped chan string
}

func newRecordingBooter() *recordingBooter {
	return &recordingBooter{calls: make(chan bootCall, 16), stopped: make(chan string, 16)}
}

func (b *recordingBooter) Boot(ctx context.Context, machine, disk, dir string) error {
	b.calls <- bootCall{machine, disk, dir, ctx}
	<-ctx.Done()
	b.stopped <- machine
	return ctx.Err()
}

func (b *recordingBooter) next(t *testing.T) bootCall {
	t.Helper()
	select {
	case c := <-b.calls:
		return c
	case <-time.After(30 * time.Second):
		t.Fatal("no boot")
	}
	return bootCall{}
}

func (b *recordingBooter) waitStopped(t *testing.T) {
	t.Helper()
	select {
	case <-b.stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("the booted system did not stop")
	}
}

// writeGPTMarker makes the machine's disk look partitioned.
func writeGPTMarker(t *testing.T, m *sim.Machine) {
	t.Helper()
	f, err := os.OpenFile(m.DiskPath(), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("EFI PART"), 512); err != nil {
		t.Fatal(err)
	}
}

// waitBootState waits (bounded, as a hang guard) until m's boot state is s.
func waitBootState(t *testing.T, m *sim.Machine, s sim.BootState) sim.BootStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := m.BootStatus()
		if st.State == s {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("machine %s: boot state %s (%v), want %s", m.Name(), st.State, st.Err, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A machine that powers on from a partitioned disk boots, through every
// BMC path (IPMI with ipmitool, Redfish, the sim:// driver); power-off and
// reset stop the booted system; a network boot or a blank disk boots
// nothing.
func TestBootOnPowerOn(t *testing.T) {
	ipmitool := peertest.Look(t, "ipmitool")[0]
	b := newRecordingBooter()
	dc := startDC(t, 2, &sim.Options{Endpoints: sim.EndpointIPMI | sim.EndpointRedfish, Booter: b})
	m := dc.Machine(0)

	// A blank disk: the machine is on, nothing boots.
	m.Power(provision.PowerActionOn)
	waitBootState(t, m, sim.BootStateNoOS)
	m.Power(provision.PowerActionOff)
	writeGPTMarker(t, m)

	// IPMI: ipmitool chassis power on / off.
	host, port, _ := strings.Cut(m.IPMIAddr(), ":")
	ipmi := func(args ...string) {
		t.Helper()
		argv := append([]string{"-I", "lanplus", "-C", "3", "-H", host, "-p", port, "-U", "admin", "-P", "password", "-N", "2", "-R", "3"}, args...)
		if out, err := exec.CommandContext(t.Context(), ipmitool, argv...).CombinedOutput(); err != nil {
			t.Fatalf("ipmitool %v: %v\n%s", args, err, out)
		}
	}
	ipmi("chassis", "power", "on")
	c := b.next(t)
	if c.machine != "m0" || c.disk != m.DiskPath() || c.dir != m.Dir() {
		t.Errorf("Boot(%q, %q, %q), want m0, %s, %s", c.machine, c.disk, c.dir, m.DiskPath(), m.Dir())
	}
	if fi, err := os.Stat(m.Dir()); err != nil || !fi.IsDir() {
		t.Errorf("machine directory: %v", err)
	}
	waitBootState(t, m, sim.BootStateRunning)
	ipmi("chassis", "power", "off")
	b.waitStopped(t)
	if st := waitBootState(t, m, sim.BootStateStopped); st.Boots != 2 {
		t.Errorf("%d boots counted, want 2 (the blank disk's and this one)", st.Boots)
	}

	// Redfish: On, then ForceRestart stops the first boot and starts another.
	reset := func(typ string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, dc.Redfish().URL()+m.RedfishSystemPath()+"/Actions/ComputerSystem.Reset",
			strings.NewReader(`{"ResetType":"`+typ+`"}`))
		req.SetBasicAuth("admin", "password")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("Redfish reset %s: %s", typ, resp.Status)
		}
	}
	reset("On")
	first := b.next(t)
	reset("ForceRestart")
	b.waitStopped(t)
	if first.ctx.Err() == nil {
		t.Error("the first boot's context is still live after a restart")
	}
	second := b.next(t)
	if second.ctx.Err() != nil {
		t.Error("the boot after the restart was stopped")
	}

	// The provision driver (sim://): power off.
	bmc, err := provision.OpenBMC(t.Context(), m.SimURL(), m.Credentials(), &provision.BMCOptions{PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer bmc.Close()
	if err := bmc.Driver().SetPower(t.Context(), provision.PowerActionOff); err != nil {
		t.Fatal(err)
	}
	b.waitStopped(t)

	// A network boot runs no Booter.
	m.SetBoot(provision.BootPXE, false)
	m.Power(provision.PowerActionOn)
	// (The last boot's end may still be being recorded, off or stopped;
	// what matters is that no operating system starts.)
	if st := m.BootStatus(); st.State == sim.BootStateStarting || st.State == sim.BootStateRunning {
		t.Errorf("network boot: state %s", st.State)
	}
	select {
	case c := <-b.calls:
		t.Errorf("network boot ran the booter: %+v", c)
	default:
	}
	m.Power(provision.PowerActionOff)

	// Close stops a running system and waits for it.
	dc.Machine(1).Power(provision.PowerActionOn) // blank disk: no OS
	writeGPTMarker(t, dc.Machine(1))
	dc.Machine(1).Power(provision.PowerActionReset)
	b.next(t)
	if err := dc.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.stopped:
	default:
		t.Error("Close returned before the booted system stopped")
	}
}

// A Booter's error or panic is logged and shown on the machine, never
// raised; SetBooter changes what later boots run.
func TestBootFailures(t *testing.T) {
	dc := startDC(t, 1, nil)
	m := dc.Machine(0)
	writeGPTMarker(t, m)
	m.Power(provision.PowerActionOn)
	if st := m.BootStatus(); st.State != sim.BootStateOff || st.Boots != 0 {
		t.Errorf("no booter: %+v", st)
	}
	m.Power(provision.PowerActionOff)

	boom := errors.New("no init found")
	dc.SetBooter(sim.BootFunc(func(ctx context.Context, machine, disk, dir string) error { return boom }))
	m.Power(provision.PowerActionOn)
	if st := waitBootState(t, m, sim.BootStateFailed); !errors.Is(st.Err, boom) {
		t.Errorf("failed boot: %+v", st)
	}
	m.Power(provision.PowerActionOff)

	dc.SetBooter(sim.BootFunc(func(ctx context.Context, machine, disk, dir string) error { panic("kernel panic") }))
	m.Power(provision.PowerActionOn)
	if st := waitBootState(t, m, sim.BootStateFailed); st.Err == nil || !strings.Contains(st.Err.Error(), "kernel panic") {
		t.Errorf("panicking boot: %+v", st)
	}
	m.Power(provision.PowerActionOff)

	dc.SetBooter(sim.BootFunc(func(ctx context.Context, machine, disk, dir string) error { return nil }))
	m.Power(provision.PowerActionOn)
	waitBootState(t, m, sim.BootStateHalted)
}

// A deploy step with a config drive writes it under the machine's
// directory; a deploy without one removes it.
func TestDeployConfigDrive(t *testing.T) {
	ctx := t.Context()
	dc := startDC(t, 1, nil)
	m := dc.Machine(0)
	img := filepath.Join(t.TempDir(), "image.raw")
	if err := os.WriteFile(img, []byte("golden image"), 0o644); err != nil {
		t.Fatal(err)
	}
	step := dc.DeployStep(img).(interface {
		WithConfigDrive(map[string][]byte) provision.DeployStep
	}).WithConfigDrive(map[string][]byte{"openstack/latest/meta_data.json": []byte(`{"uuid":"x"}`)})
	n := &provision.Node{Name: "n0", BMCAddress: m.SimURL()}
	m.SetBoot(provision.BootPXE, false)
	m.Power(provision.PowerActionOn)
	if err := step.Run(ctx, n, nil); err != nil {
		t.Fatal(err)
	}
	drive := filepath.Join(m.Dir(), sim.ConfigDriveDir, "openstack/latest/meta_data.json")
	if b, err := os.ReadFile(drive); err != nil || string(b) != `{"uuid":"x"}` {
		t.Errorf("config drive: %q, %v", b, err)
	}
	if err := m.WriteConfigDrive(map[string][]byte{"../escape": nil}); err == nil {
		t.Error("a config drive path leaving the drive was accepted")
	}
	if _, err := os.Stat(drive); err != nil {
		t.Errorf("a refused config drive changed the old one: %v", err)
	}
	if err := dc.DeployStep(img).Run(ctx, n, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(drive)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a deploy without a config drive left the old one: %v", err)
	}
}
