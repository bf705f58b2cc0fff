package ironic_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/drivers/ironic"
	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/provision"
)

// open returns a Provisioner on the test Ironic logging into buf, and
// deletes the named nodes at the end of the test.
func open(t *testing.T, buf *logBuffer, names ...string) *ironic.Provisioner {
	t.Helper()
	url := needIronic(t)
	var log *slog.Logger
	if buf != nil {
		log = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := ironic.OpenNoAuth(ctx(t), url, &ironic.Options{Logger: log, PollInterval: 100 * time.Millisecond, MaxPollInterval: time.Second, OperationTimeout: 3 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, n := range names {
			got, err := p.Get(c, n)
			if err != nil {
				continue
			}
			if got.ProvisionState == provision.StateActive {
				p.Undeploy(c, n)
			}
			if got.ProvisionState == provision.StateAvailable {
				p.Manage(c, n)
			}
			if err := p.Delete(c, n); err != nil {
				t.Logf("cleanup: %v", err)
			}
		}
		p.Close()
	})
	return p
}

func wantState(t *testing.T, n *provision.Node, err error, want provision.ProvisionState) *provision.Node {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if n.ProvisionState != want {
		t.Fatalf("node %s in %q, want %q (last error %q)", n.Name, n.ProvisionState, want, n.LastError)
	}
	return n
}

// TestFakeHardwareLifecycle takes a fake-hardware node through every
// operation: enroll (with ports and properties), inspect, provide, power,
// boot device, deploy, rebuild, undeploy, delete.
func TestFakeHardwareLifecycle(t *testing.T) {
	t.Parallel()
	const name = "test-fake-0"
	p := open(t, nil, name)
	c := ctx(t)
	n, err := p.Enroll(c, &provision.Node{
		Name: name, BMCAddress: "fake://nowhere",
		MACs:       []string{"52:54:00:00:00:02", "52:54:00:00:00:01"},
		Properties: map[string]string{"capabilities": "boot_mode:uefi"},
		Inventory:  &provision.HardwareInventory{CPUs: 4, CPUArch: "x86_64", MemoryMiB: 8192, DiskGiB: 40},
	})
	wantState(t, n, err, provision.StateManageable)
	if n.UUID == "" || n.BMCAddress != "fake://nowhere" || !slices.Equal(n.MACs, []string{"52:54:00:00:00:01", "52:54:00:00:00:02"}) {
		t.Fatalf("enrolled node = %+v", n)
	}
	if n.Properties["capabilities"] != "boot_mode:uefi" || n.Inventory == nil || n.Inventory.CPUs != 4 || n.Inventory.MemoryMiB != 8192 || n.Inventory.DiskGiB != 40 || n.Inventory.CPUArch != "x86_64" {
		t.Fatalf("properties %v inventory %+v", n.Properties, n.Inventory)
	}

	n, err = p.Inspect(c, name)
	wantState(t, n, err, provision.StateManageable)
	n, err = p.Provide(c, name)
	wantState(t, n, err, provision.StateAvailable)

	for _, a := range []provision.PowerAction{provision.PowerActionOn, provision.PowerActionOff, provision.PowerActionCycle} {
		n, err = p.Power(c, name, a)
		if err != nil {
			t.Fatal(err)
		}
		if n.PowerState != a.Target() {
			t.Fatalf("after %s power is %s", a, n.PowerState)
		}
	}
	if err := p.SetBootDevice(c, name, provision.BootPXE, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.BootDevice(c, name); err != nil {
		t.Fatal(err)
	}

	img := ironic.Image{URL: "http://127.0.0.1:1/disk.qcow2", Checksum: "sha256:" + strings.Repeat("ab", 32)}
	n, err = p.Deploy(c, name, img)
	wantState(t, n, err, provision.StateActive)
	n, err = p.Rebuild(c, name, &ironic.Image{URL: "http://127.0.0.1:1/disk2.qcow2", Checksum: strings.Repeat("cd", 16)})
	wantState(t, n, err, provision.StateActive)
	n, err = p.Undeploy(c, name)
	wantState(t, n, err, provision.StateAvailable)

	all, err := p.List(c)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(all, func(x *provision.Node) bool { return x.Name == name }) {
		t.Fatalf("List does not have %s", name)
	}
	n, err = p.Manage(c, name)
	wantState(t, n, err, provision.StateManageable)
	if err := p.Delete(c, name); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(c, name); !errors.Is(err, provision.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
}

// foreignStep is a deploy step Ironic cannot run.
type foreignStep struct{}

func (foreignStep) Name() string                                               { return "foreign" }
func (foreignStep) Run(context.Context, *provision.Node, *provision.BMC) error { return nil }

// TestErrorsClassify checks the provision sentinels for what Ironic
// refuses.
func TestErrorsClassify(t *testing.T) {
	t.Parallel()
	const name = "test-fake-err"
	p := open(t, nil, name)
	c := ctx(t)
	if _, err := p.Enroll(c, &provision.Node{Name: name, BMCAddress: "fake://x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Enroll(c, &provision.Node{Name: name, BMCAddress: "fake://x"}); !errors.Is(err, provision.ErrExists) {
		t.Fatalf("second enroll: %v, want ErrExists", err)
	}
	if _, err := p.Undeploy(c, name); !errors.Is(err, provision.ErrInvalidTransition) {
		t.Fatalf("undeploy of a manageable node: %v, want ErrInvalidTransition", err)
	}
	if _, err := p.Deploy(c, name, foreignStep{}); !errors.Is(err, provision.ErrUnsupported) {
		t.Fatalf("deploy with a foreign step: %v, want ErrUnsupported", err)
	}
	if _, err := p.Get(c, "test-no-such-node"); !errors.Is(err, provision.ErrNotFound) {
		t.Fatalf("Get: %v, want ErrNotFound", err)
	}
	if _, err := p.Enroll(c, &provision.Node{Name: "test-x", BMCAddress: "sim://127.0.0.1:1"}); !errors.Is(err, provision.ErrUnsupported) {
		t.Fatalf("enroll sim://: %v, want ErrUnsupported", err)
	}
}

// TestSimBMCs enrolls an ipmi node and a redfish node whose BMCs are
// drivers/sim machines, and drives them through Ironic's own ipmitool and
// sushy: manage (verification), power on and off, boot device, provide.
// Neither the password nor its redaction-free form appears in our logs or
// errors.
func TestSimBMCs(t *testing.T) {
	t.Parallel()
	const password = "s3cret-bmc-pw"
	dc, err := sim.Start(2, &sim.Options{Endpoints: sim.EndpointIPMI | sim.EndpointRedfish, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	names := []string{"test-ipmi-0", "test-redfish-1"}
	var buf logBuffer
	p := open(t, &buf, names...)
	c := ctx(t)
	m := dc.Machines()
	addrs := []string{m[0].IPMIURL(), m[1].RedfishURL()}
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n, err := p.Enroll(c, &provision.Node{Name: name, BMCAddress: addrs[i], Credentials: m[i].Credentials(), MACs: []string{m[i].MAC()}})
			wantState(t, n, err, provision.StateManageable)
			for _, a := range []provision.PowerAction{provision.PowerActionOn, provision.PowerActionOff} {
				n, err = p.Power(c, name, a)
				if err != nil {
					t.Fatal(err)
				}
				if n.PowerState != a.Target() || m[i].PowerState() != a.Target() {
					t.Fatalf("after %s: Ironic says %s, machine is %s", a, n.PowerState, m[i].PowerState())
				}
			}
			if err := p.SetBootDevice(c, name, provision.BootPXE, false); err != nil {
				t.Fatal(err)
			}
			if dev, _ := m[i].Boot(); dev != provision.BootPXE {
				t.Fatalf("machine boot device %s after SetBootDevice pxe", dev)
			}
			dev, _, err := p.BootDevice(c, name)
			if err != nil || dev != provision.BootPXE {
				t.Fatalf("BootDevice = %v, %v", dev, err)
			}
			if strings.HasPrefix(addrs[i], "redfish") {
				// Ironic's redfish inspect interface reads the system,
				// its processors, memory, storage and NICs.
				n, err = p.Inspect(c, name)
				wantState(t, n, err, provision.StateManageable)
				want := m[i].HardwareInventory()
				if n.Inventory == nil || n.Inventory.CPUs != want.CPUs || n.Inventory.MemoryMiB != want.MemoryMiB || !slices.Contains(n.MACs, strings.ToLower(m[i].MAC())) {
					t.Errorf("inspected inventory %+v, MACs %v; machine has %+v", n.Inventory, n.MACs, want)
				}
			}
			n, err = p.Provide(c, name)
			wantState(t, n, err, provision.StateAvailable)
			n, err = p.Manage(c, name)
			wantState(t, n, err, provision.StateManageable)
		})
	}
	t.Cleanup(func() {
		if s := buf.String(); strings.Contains(s, password) {
			t.Errorf("password in our log:\n%s", s)
		}
	})
}

// TestWrongPassword: verification fails, the node stays in enroll with
// last_error, and the error names the failure without the password.
func TestWrongPassword(t *testing.T) {
	t.Parallel()
	const wrong = "not-the-password-42"
	dc, err := sim.Start(1, &sim.Options{Endpoints: sim.EndpointRedfish, Password: "right"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	const name = "test-redfish-wrongpw"
	var buf logBuffer
	p := open(t, &buf, name)
	c := ctx(t)
	m := dc.Machine(0)
	n, err := p.Enroll(c, &provision.Node{Name: name, BMCAddress: m.RedfishURL(), Credentials: provision.NewCredentials(m.Username(), wrong)})
	var se *ironic.StateError
	if !errors.As(err, &se) || se.State != provision.StateEnroll || se.LastError == "" {
		t.Fatalf("enroll with a wrong password: %v, want a *StateError in enroll with last_error", err)
	}
	if n == nil || n.ProvisionState != provision.StateEnroll || n.LastError == "" {
		t.Fatalf("node = %+v", n)
	}
	for what, s := range map[string]string{"error": err.Error(), "last error": n.LastError, "log": buf.String()} {
		if strings.Contains(s, wrong) {
			t.Errorf("password in %s: %s", what, s)
		}
	}
}
