package ironic_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/internal/peertest"
)

// EndpointEnv names an Ironic the tests use instead of starting one
// (noauth, e.g. http://127.0.0.1:6385/v1). The nodes they create are named
// test-* and deleted at the end of each test.
const EndpointEnv = "TRIPLEO_IRONIC_URL"

var (
	ironicURL      string // set by TestMain when an Ironic runs
	ironicStartErr error  // why it could not be started
	ironicState    string // the started Ironic's state directory (logs)
)

// TestMain starts a standalone Ironic with .ci/openstack/ironic.sh (API,
// json-rpc and HTTP ports free on 127.0.0.1) when ironic-api is installed
// and no EndpointEnv is set, and stops it afterwards. Tests that need it
// call needIronic, which skips (or fails under TRIPLEO_REQUIRE_PEERS=1)
// when it is not installed.
func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		if !runsTests() {
			return m.Run()
		}
		if ironicURL = os.Getenv(EndpointEnv); ironicURL != "" {
			return m.Run()
		}
		if _, err := exec.LookPath("ironic-api"); err != nil {
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "tripleo-ironic-")
		if err != nil {
			ironicStartErr = err
			return m.Run()
		}
		ironicState = dir
		script, _ := filepath.Abs("../../.ci/openstack/ironic.sh")
		defer func() {
			_ = exec.Command(script, "stop", dir).Run()
			if os.Getenv("TRIPLEO_KEEP_IRONIC") == "" {
				os.RemoveAll(dir)
			}
		}()
		ports := freePorts(3)
		var stderr bytes.Buffer
		cmd := exec.Command(script, "start", dir, ports[0], ports[1], ports[2])
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			ironicStartErr = fmt.Errorf("%s start: %v: %s", script, err, stderr.String())
			return m.Run()
		}
		ironicURL = strings.TrimSpace(string(out))
		return m.Run()
	}()
	os.Exit(code)
}

// runsTests reports whether this run executes tests at all: -list,
// -fuzz and -run '^$' (what .ci/run's fuzz loop passes) need no Ironic.
func runsTests() bool {
	for _, f := range []string{"test.list", "test.fuzz"} {
		if fl := flag.Lookup(f); fl != nil && fl.Value.String() != "" {
			return false
		}
	}
	fl := flag.Lookup("test.run")
	return fl == nil || fl.Value.String() != "^$"
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) []string {
	var ls []net.Listener
	var ps []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		ls = append(ls, l)
		ps = append(ps, fmt.Sprint(l.Addr().(*net.TCPAddr).Port))
	}
	for _, l := range ls {
		l.Close()
	}
	return ps
}

// needIronic returns the endpoint of the running Ironic, skipping the test
// when Ironic is not installed (failing under TRIPLEO_REQUIRE_PEERS=1).
func needIronic(t *testing.T) string {
	t.Helper()
	if ironicURL == "" && ironicStartErr == nil {
		peertest.Look(t, "ironic-api", "ironic-conductor")
	}
	if ironicStartErr != nil {
		t.Fatalf("Ironic did not start: %v", ironicStartErr)
	}
	return ironicURL
}

// logBuffer is a concurrency-safe buffer for a test's slog output.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ctx returns the test's context bounded to two minutes.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}
