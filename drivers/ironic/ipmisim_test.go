package ironic_test

import (
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/internal/ipmisimtest"
	"github.com/tripleo-go/tripleo/provision"
)

// TestOpenIPMISim drives an ipmi node whose BMC is OpenIPMI's ipmi_sim (an
// independent IPMI implementation) through Ironic's ipmitool: manage,
// power on and off, boot device, provide.
func TestOpenIPMISim(t *testing.T) {
	t.Parallel()
	const password = "ipmisim-pw-77"
	bmc := ipmisimtest.Start(t, &ipmisimtest.Options{User: "ironic", Password: password})
	creds := provision.NewCredentials(bmc.User, bmc.Password)
	const name = "test-ipmisim-0"
	var buf logBuffer
	p := open(t, &buf, name)
	c := ctx(t)
	n, err := p.Enroll(c, &provision.Node{Name: name, BMCAddress: bmc.URL("ipmi"), Credentials: creds, MACs: []string{"52:54:00:12:34:56"}})
	wantState(t, n, err, provision.StateManageable)
	for _, tc := range []struct {
		action provision.PowerAction
		file   string
	}{{provision.PowerActionOn, "1"}, {provision.PowerActionOff, "0"}} {
		n, err = p.Power(c, name, tc.action)
		if err != nil {
			t.Fatal(err)
		}
		if n.PowerState != tc.action.Target() || bmc.File("power") != tc.file {
			t.Fatalf("after %s: Ironic says %s, ipmi_sim's chassis has power %q", tc.action, n.PowerState, bmc.File("power"))
		}
	}
	if err := p.SetBootDevice(c, name, provision.BootPXE, false); err != nil {
		t.Fatal(err)
	}
	if got := bmc.File("boot"); got != "pxe" {
		t.Errorf("ipmi_sim's chassis boot = %q after SetBootDevice pxe", got)
	}
	if dev, _, err := p.BootDevice(c, name); err != nil || dev != provision.BootPXE {
		t.Errorf("BootDevice = %v, %v", dev, err)
	}
	n, err = p.Provide(c, name)
	wantState(t, n, err, provision.StateAvailable)
	if strings.Contains(buf.String(), password) {
		t.Errorf("password in our log:\n%s", buf.String())
	}
}
