package ironic_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/internal/openstacktest"
)

// EndpointEnv names an Ironic the tests use instead of starting one
// (noauth, e.g. http://127.0.0.1:6385/v1). The nodes they create are named
// test-* and deleted at the end of each test.
const EndpointEnv = "TRIPLEO_IRONIC_URL"

// ironicService is the standalone Ironic the package's tests share,
// started by .ci/openstack/ironic.sh (API, json-rpc and HTTP ports free on
// 127.0.0.1).
var ironicService = &openstacktest.Service{Name: "Ironic", Script: "ironic.sh",
	Binaries: []string{"ironic-api", "ironic-conductor"}, Ports: 3, EndpointEnv: EndpointEnv, KeepEnv: "TRIPLEO_KEEP_IRONIC"}

// TestMain starts Ironic when it is installed and no EndpointEnv is set,
// and stops it afterwards. Tests that need it call needIronic, which skips
// (or fails under TRIPLEO_REQUIRE_PEERS=1) when it is not installed.
func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(ironicService.Main(runner{m}))
}

// ironicState is the started Ironic's state directory (logs), set before
// the tests run.
var ironicState string

type runner struct{ m *testing.M }

func (r runner) Run() int {
	ironicState = ironicService.State()
	return r.m.Run()
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) []string {
	ps, err := openstacktest.FreePorts(n)
	if err != nil {
		panic(err)
	}
	return ps
}

// needIronic returns the endpoint of the running Ironic, skipping the test
// when Ironic is not installed (failing under TRIPLEO_REQUIRE_PEERS=1).
func needIronic(t *testing.T) string {
	t.Helper()
	return ironicService.Need(t)
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
