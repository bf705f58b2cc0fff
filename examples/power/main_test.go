package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/drivers/sim"
)

// setup starts one simulated machine and writes its password to a file
// in dir.
func setup(dir string) (*sim.Datacenter, string) {
	dc, err := sim.Start(1, &sim.Options{Password: "pw-in-a-file"})
	if err != nil {
		panic(err)
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("pw-in-a-file\n"), 0o600); err != nil {
		panic(err)
	}
	return dc, pw
}

func TestPowerTool(t *testing.T) {
	dc, pw := setup(t.TempDir())
	defer dc.Close()
	m := dc.Machine(0)
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"status"}, 0, "power: off\n"},
		{[]string{"on"}, 0, "power: on\n"},
		{[]string{"bootdev", "pxe"}, 0, "boot device: pxe (next boot only)\n"},
		{[]string{"cycle"}, 0, "power: on\n"},
		{[]string{"off"}, 0, "power: off\n"},
		{[]string{"bootdev", "disk", "persistent"}, 0, "boot device: disk (persistent)\n"},
		{[]string{"bootdev", "floppy"}, 2, ""},
		{[]string{"dance"}, 2, ""},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		args := append([]string{"-bmc", m.IPMIURL(), "-username", "admin", "-password-file", pw}, tt.args...)
		code := run(t.Context(), args, &out, &errb)
		if code != tt.code || out.String() != tt.out {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d, %q", tt.args, code, out.String(), errb.String(), tt.code, tt.out)
		}
	}
	want := []string{"power on", "boot pxe once", "power cycle", "power off", "boot disk persistent"}
	if got := m.Calls(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("machine saw %v, want %v", got, want)
	}
}

func TestPowerToolFailures(t *testing.T) {
	dc, pw := setup(t.TempDir())
	defer dc.Close()
	m := dc.Machine(0)
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("wrong-one\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-bmc", m.IPMIURL(), "-username", "admin", "-password-file", bad, "status"}, "check -username"},
		{[]string{"-bmc", m.IPMIURL(), "-username", "admin", "-password-file", "/nonexistent", "status"}, "password file"},
		{[]string{"-bmc", "nosuch://h", "-username", "admin", "-password-file", pw, "status"}, "registered: [ipmi ipmi+lan"},
		{[]string{"-bmc", "ipmi://admin:x@h", "-username", "admin", "-password-file", pw, "status"}, "credentials must not be in the address"},
	} {
		var out, errb bytes.Buffer
		if code := run(t.Context(), tc.args, &out, &errb); code != 1 || !strings.Contains(errb.String(), tc.want) || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tc.args, code, errb.String(), tc.want)
		}
		if strings.Contains(errb.String(), "wrong-one") {
			t.Errorf("password printed: %s", errb.String())
		}
	}
	m.SetFault(sim.FaultUnreachable, 0)
	var out, errb bytes.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	code := run(ctx, []string{"-bmc", m.IPMIURL() + "?timeout=100ms&retries=0", "-username", "admin", "-password-file", pw, "status"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "is the BMC up") {
		t.Errorf("unreachable: exit %d, %q", code, errb.String())
	}
}

func Example() {
	dir, _ := os.MkdirTemp("", "power-example")
	defer os.RemoveAll(dir)
	dc, pw := setup(dir)
	defer dc.Close()
	var errb bytes.Buffer
	run(context.Background(), []string{"-bmc", dc.Machine(0).IPMIURL(), "-username", "admin", "-password-file", pw, "on"}, os.Stdout, &errb)
	// Output: power: on
}

// TestPowerToolRedfish drives a machine's Redfish endpoint (an address
// as examples/sim-bmc prints it) the same way as ipmi://.
func TestPowerToolRedfish(t *testing.T) {
	dc, err := sim.Start(1, &sim.Options{Endpoints: sim.EndpointRedfish, Password: "pw-in-a-file", PowerOnDelay: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("pw-in-a-file\n"), 0o600)
	m := dc.Machine(0)
	for _, tt := range []struct {
		args []string
		out  string
	}{
		{[]string{"status"}, "power: off\n"},
		{[]string{"bootdev", "cdrom"}, "boot device: cdrom (next boot only)\n"},
		{[]string{"on"}, "power: on\n"},
		{[]string{"soft-off"}, "power: off\n"},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"-bmc", m.RedfishURL(), "-username", "admin", "-password-file", pw}, tt.args...)
		if code := run(t.Context(), args, &out, &errb); code != 0 || out.String() != tt.out {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", tt.args, code, out.String(), errb.String(), tt.out)
		}
	}
	if want := []string{"boot cdrom once", "power on", "power soft-off"}; strings.Join(m.Calls(), ",") != strings.Join(want, ",") {
		t.Errorf("machine saw %v, want %v", m.Calls(), want)
	}
	var out, errb bytes.Buffer
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("wrong-one\n"), 0o600)
	if code := run(t.Context(), []string{"-bmc", m.RedfishURL(), "-username", "admin", "-password-file", bad, "status"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "check -username") || strings.Contains(errb.String(), "wrong-one") {
		t.Errorf("wrong password: exit %d, %q", code, errb.String())
	}
}
