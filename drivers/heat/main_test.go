package heat_test

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/internal/peertest"
)

// EndpointEnv names a noauth Heat the tests use instead of starting one
// (http://127.0.0.1:8004/v1/admin).
const EndpointEnv = "TRIPLEO_HEAT_URL"

var heatURL, heatErr = "", error(nil)

// TestMain starts Heat with .ci/openstack/heat.sh on a free loopback port
// when heat-all is installed, no EndpointEnv is set and tests will run
// (not for -list or -fuzz), and stops it at the end.
func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(func() int {
		heatURL = os.Getenv(EndpointEnv)
		fuzz, list := flag.Lookup("test.fuzz"), flag.Lookup("test.list")
		if heatURL != "" || fuzz.Value.String() != "" || list.Value.String() != "" {
			return m.Run()
		}
		if _, err := exec.LookPath("heat-all"); err != nil {
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "tripleo-heat-")
		if err != nil {
			heatErr = err
			return m.Run()
		}
		script, _ := filepath.Abs("../../.ci/openstack/heat.sh")
		defer os.RemoveAll(dir)
		defer exec.Command(script, "stop", dir).Run()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			heatErr = err
			return m.Run()
		}
		port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
		l.Close()
		out, err := exec.Command(script, "start", dir, port).Output()
		if err != nil {
			heatErr = fmt.Errorf("heat.sh start: %w", err)
			if ee, ok := err.(*exec.ExitError); ok {
				heatErr = fmt.Errorf("heat.sh start: %w: %s", err, ee.Stderr)
			}
		}
		heatURL = strings.TrimSpace(string(out))
		return m.Run()
	}())
}

// needHeat returns the running Heat's endpoint, skipping the test when
// Heat is not installed (failing under TRIPLEO_REQUIRE_PEERS=1).
func needHeat(t *testing.T) string {
	t.Helper()
	if heatErr != nil {
		t.Fatalf("Heat did not start: %v", heatErr)
	}
	if heatURL == "" {
		peertest.Look(t, "heat-all")
	}
	return heatURL
}
