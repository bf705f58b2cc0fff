package ironic_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/drivers/ironic"
	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/provision"
)

// runLifecycle is one scenario with the same expectations for every
// provisioner: enroll → manageable, inspect → manageable with an
// inventory, provide → available, power on and off, deploy → active,
// deploy again (rebuild) → active, undeploy → available, and the
// refusals the state machine makes on the way.
func runLifecycle(t *testing.T, p provision.Lifecycle, n *provision.Node, steps ...provision.DeployStep) {
	c := ctx(t)
	got, err := p.Enroll(c, n)
	wantState(t, got, err, provision.StateManageable)
	if _, err := p.Undeploy(c, n.Name); !errors.Is(err, provision.ErrInvalidTransition) {
		t.Errorf("undeploy of a manageable node: %v, want ErrInvalidTransition", err)
	}
	got, err = p.Inspect(c, n.Name)
	wantState(t, got, err, provision.StateManageable)
	if got.Inventory == nil {
		t.Errorf("no inventory after inspection")
	}
	got, err = p.Provide(c, n.Name)
	wantState(t, got, err, provision.StateAvailable)
	for _, a := range []provision.PowerAction{provision.PowerActionOn, provision.PowerActionOff} {
		if got, err = p.Power(c, n.Name, a); err != nil || got.PowerState != a.Target() {
			t.Fatalf("power %s: %v, power state %v", a, err, got)
		}
	}
	got, err = p.Deploy(c, n.Name, steps...)
	wantState(t, got, err, provision.StateActive)
	got, err = p.Deploy(c, n.Name, steps...)
	wantState(t, got, err, provision.StateActive)
	got, err = p.Undeploy(c, n.Name)
	wantState(t, got, err, provision.StateAvailable)
	got, err = p.Manage(c, n.Name)
	wantState(t, got, err, provision.StateManageable)
}

// TestSameLifecycleEmbedded runs the scenario on the embedded provisioner
// with a drivers/sim machine.
func TestSameLifecycleEmbedded(t *testing.T) {
	t.Parallel()
	dc, err := sim.Start(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	inv, err := provision.OpenFileInventory(filepath.Join(t.TempDir(), "inventory.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := provision.NewProvisioner(inv, nil)
	t.Cleanup(func() { p.Close() })
	m := dc.Machine(0)
	runLifecycle(t, p, &provision.Node{Name: "same-0", BMCAddress: m.SimURL(), Credentials: m.Credentials(), MACs: []string{strings.ToLower(m.MAC())}})
}

// TestSameLifecycleIronic runs the scenario on Ironic with a
// fake-hardware node.
func TestSameLifecycleIronic(t *testing.T) {
	t.Parallel()
	const name = "test-same-0"
	p := open(t, nil, name)
	runLifecycle(t, p, &provision.Node{Name: name, BMCAddress: "fake://same", MACs: []string{"52:54:00:aa:bb:cc"}},
		ironic.Image{URL: "http://127.0.0.1:1/image.raw", Checksum: "sha256:" + strings.Repeat("0f", 32)})
}
