package ironic_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/tripleo-go/tripleo/drivers/ipmi" // to wait until ipmi_sim answers
	"github.com/tripleo-go/tripleo/internal/peertest"
	"github.com/tripleo-go/tripleo/provision"
)

// openIPMISim is one OpenIPMI ipmi_sim on a free loopback UDP port,
// configured from testdata/ipmi_sim, stopped at the end of the test.
type openIPMISim struct {
	url   string
	state string // chassis state directory (files power, boot)
	creds provision.Credentials
}

func startOpenIPMISim(t *testing.T, user, password string) *openIPMISim {
	t.Helper()
	bin := peertest.Look(t, "ipmi_sim")[0]
	dir := t.TempDir()
	state := filepath.Join(dir, "chassis")
	if err := os.Mkdir(state, 0o755); err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs("testdata/ipmi_sim/chassis.sh")
	tmpl, err := os.ReadFile("testdata/ipmi_sim/lan.conf.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	conf := strings.NewReplacer("@PORT@", strconv.Itoa(port), "@SCRIPT@", script, "@STATE@", state, "@USER@", user, "@PASSWORD@", password).Replace(string(tmpl))
	if err := os.WriteFile(filepath.Join(dir, "lan.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	emu, _ := filepath.Abs("testdata/ipmi_sim/bmc.emu")
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "lan.conf"), "-f", emu, "-s", filepath.Join(dir, "simstate"), "-n")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	s := &openIPMISim{url: "ipmi://127.0.0.1:" + strconv.Itoa(port), state: state, creds: provision.NewCredentials(user, password)}
	// Ready when our own IPMI driver reads the power state.
	for i := 0; ; i++ {
		c, cancel := context.WithTimeout(t.Context(), time.Second)
		b, err := provision.OpenBMC(c, s.url, s.creds, &provision.BMCOptions{Retries: -1})
		if err == nil {
			_, err = b.PowerState(c)
			b.Close()
		}
		cancel()
		if err == nil {
			return s
		}
		if i == 50 {
			t.Fatalf("ipmi_sim did not answer: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// file returns the content of a chassis state file ("" when absent).
func (s *openIPMISim) file(name string) string {
	b, _ := os.ReadFile(filepath.Join(s.state, name))
	return strings.TrimSpace(string(b))
}

// TestOpenIPMISim drives an ipmi node whose BMC is OpenIPMI's ipmi_sim (an
// independent IPMI implementation) through Ironic's ipmitool: manage,
// power on and off, boot device, provide.
func TestOpenIPMISim(t *testing.T) {
	t.Parallel()
	const password = "ipmisim-pw-77"
	bmc := startOpenIPMISim(t, "ironic", password)
	const name = "test-ipmisim-0"
	var buf logBuffer
	p := open(t, &buf, name)
	c := ctx(t)
	n, err := p.Enroll(c, &provision.Node{Name: name, BMCAddress: bmc.url, Credentials: bmc.creds, MACs: []string{"52:54:00:12:34:56"}})
	wantState(t, n, err, provision.StateManageable)
	for _, tc := range []struct {
		action provision.PowerAction
		file   string
	}{{provision.PowerActionOn, "1"}, {provision.PowerActionOff, "0"}} {
		n, err = p.Power(c, name, tc.action)
		if err != nil {
			t.Fatal(err)
		}
		if n.PowerState != tc.action.Target() || bmc.file("power") != tc.file {
			t.Fatalf("after %s: Ironic says %s, ipmi_sim's chassis has power %q", tc.action, n.PowerState, bmc.file("power"))
		}
	}
	if err := p.SetBootDevice(c, name, provision.BootPXE, false); err != nil {
		t.Fatal(err)
	}
	if got := bmc.file("boot"); got != "pxe" {
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
