package ironic_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/drivers/ironic"
	"github.com/tripleo-go/tripleo/provision"
)

// TestHTTPBasic starts a second ironic-api with auth_strategy = http_basic
// beside the test Ironic and drives it with OpenHTTPBasic; a wrong
// password is ErrAuth and does not appear in the error.
func TestHTTPBasic(t *testing.T) {
	t.Parallel()
	needIronic(t)
	if ironicState == "" {
		t.Skip("the Ironic in " + EndpointEnv + " was not started by this test binary")
	}
	const user, password = "operator", "basic-auth-pw-9"
	script, _ := filepath.Abs("../../.ci/openstack/ironic.sh")
	cmd := exec.Command(script, "basic-api", ironicState, freePorts(1)[0], user)
	cmd.Env = append(os.Environ(), "IRONIC_BASIC_PASSWORD="+password)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("basic-api: %v", err)
	}
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(ironicState, "basic-api.pid")); err == nil {
			exec.Command("kill", strings.TrimSpace(string(b))).Run()
		}
	})
	url := strings.TrimSpace(string(out))
	c := ctx(t)

	_, err = ironic.OpenHTTPBasic(c, url, provision.NewCredentials(user, password+"-wrong"), nil)
	if !errors.Is(err, provision.ErrAuth) || strings.Contains(err.Error(), password) {
		t.Fatalf("wrong password: %v, want ErrAuth without the password", err)
	}
	p, err := ironic.OpenHTTPBasic(c, url, provision.NewCredentials(user, password), nil)
	if err != nil {
		t.Fatal(err)
	}
	const name = "test-basic-0"
	t.Cleanup(func() { p.Delete(ctx(t), name) })
	n, err := p.Enroll(c, &provision.Node{Name: name, BMCAddress: "fake://basic"})
	wantState(t, n, err, provision.StateManageable)
	if err := p.Delete(c, name); err != nil {
		t.Fatal(err)
	}
}
