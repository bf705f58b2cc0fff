package ipmi_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/provision"
)

// TestProvisionerOverIPMI runs a small fleet through its lifecycle over
// the wire: Provisioner → drivers/ipmi → RMCP+ → drivers/sim BMCs whose
// machines take 300ms to power on.
func TestProvisionerOverIPMI(t *testing.T) {
	ctx := t.Context()
	dc, err := sim.Start(3, &sim.Options{PowerOnDelay: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	img := filepath.Join(t.TempDir(), "golden.raw")
	os.WriteFile(img, []byte("golden image"), 0o644)
	inv, _ := provision.OpenFileInventory(filepath.Join(t.TempDir(), "inventory.json"), nil)
	p := provision.NewProvisioner(inv, &provision.Options{BMC: provision.BMCOptions{PollInterval: 20 * time.Millisecond, MaxPollInterval: 100 * time.Millisecond}})
	defer p.Close()
	for _, m := range dc.Machines() {
		n, err := p.Enroll(ctx, &provision.Node{Name: m.Name(), BMCAddress: m.IPMIURL(), Credentials: m.Credentials(), MACs: []string{m.MAC()}})
		if err != nil || n.ProvisionState != provision.StateManageable {
			t.Fatalf("Enroll %s = %+v, %v", m.Name(), n, err)
		}
		// IPMI has no hardware inventory: inspection fails cleanly.
		if n, err = p.Inspect(ctx, m.Name()); !errors.Is(err, provision.ErrUnsupported) || n.ProvisionState != provision.StateInspectFailed {
			t.Fatalf("Inspect over IPMI = %+v, %v", n, err)
		}
		if _, err := p.Manage(ctx, m.Name()); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Provide(ctx, m.Name()); err != nil {
			t.Fatal(err)
		}
		n, err = p.Deploy(ctx, m.Name(), dc.DeployStep(img))
		if err != nil || n.ProvisionState != provision.StateActive || n.PowerState != provision.PowerOn {
			t.Fatalf("Deploy %s = %+v, %v", m.Name(), n, err)
		}
		disk, _ := os.ReadFile(m.DiskPath())
		if !strings.HasPrefix(string(disk), "golden image") || m.BootedFrom() != provision.BootDisk {
			t.Errorf("%s: disk %q, booted from %s", m.Name(), disk[:12], m.BootedFrom())
		}
		want := []string{"boot pxe once", "power on", "disk write " + img, "boot disk persistent", "power cycle"}
		if got := m.Calls(); !slices.Equal(got, want) {
			t.Errorf("%s: BMC saw %q\nwant %q", m.Name(), got, want)
		}
	}
	// Someone switches m1 off behind our back: the sync reports it.
	dc.Machine(1).Power(provision.PowerActionOff)
	ms, err := p.SyncPower(ctx)
	if err != nil || len(ms) != 1 || ms[0].Node != "m1" || ms[0].Actual != provision.PowerOff {
		t.Errorf("SyncPower = %+v, %v", ms, err)
	}
}

func TestSlowAndFaultyBMC(t *testing.T) {
	ctx := t.Context()
	dc, err := sim.Start(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	m := dc.Machine(0)
	m.SetFault(sim.FaultSlow, 150*time.Millisecond)
	d, _, err := provision.OpenDriver(ctx, m.IPMIURL()+"?timeout=1s", m.Credentials(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.PowerState(ctx); err != nil {
		t.Errorf("slow BMC within the timeout: %v", err)
	}
	d.Close()
	d, _, _ = provision.OpenDriver(ctx, m.IPMIURL()+"?timeout=50ms&retries=0", m.Credentials(), nil)
	if _, err := d.PowerState(ctx); !errors.Is(err, provision.ErrUnreachable) {
		t.Errorf("slow BMC past the timeout: %v, want ErrUnreachable", err)
	}
	d.Close()
	m.SetFault(sim.FaultWrongPassword, 0)
	d, _, _ = provision.OpenDriver(ctx, m.IPMIURL(), m.Credentials(), nil)
	if _, err := d.PowerState(ctx); !errors.Is(err, provision.ErrAuth) {
		t.Errorf("BMC refusing passwords: %v, want ErrAuth", err)
	}
	d.Close()
}
