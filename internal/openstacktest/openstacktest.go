package openstacktest

import (
	"bytes"
	"errors"
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

// Service is an OpenStack service started by a package's TestMain.
type Service struct {
	// Name is the service's name in messages ("Heat").
	Name string
	// Script is the start/stop script's name in .ci/openstack at the
	// module root ("heat.sh"); it is run as SCRIPT start STATE PORT... and
	// SCRIPT stop STATE, and prints the endpoint on stdout.
	Script string
	// Binaries must all be on PATH for the service to start; Need names
	// them when one is missing.
	Binaries []string
	// Ports is how many free loopback ports the script takes after the
	// state directory.
	Ports int
	// EndpointEnv, when set in the environment, names a running service
	// to use instead of starting one.
	EndpointEnv string
	// KeepEnv, when set in the environment, keeps the state directory
	// (logs) after the tests.
	KeepEnv string

	url   string
	err   error
	state string
}

// Runner runs a package's tests: *testing.M, or a wrapper that reads
// State before running them.
type Runner interface{ Run() int }

// Main starts the service (when installed and tests will run), runs m,
// stops the service and returns m's exit code. Call it from TestMain
// after flag.Parse: os.Exit(svc.Main(m)).
func (s *Service) Main(m Runner) int {
	if s.EndpointEnv != "" {
		if s.url = os.Getenv(s.EndpointEnv); s.url != "" {
			return m.Run()
		}
	}
	if !RunsTests() {
		return m.Run()
	}
	for _, b := range s.Binaries {
		if _, err := exec.LookPath(b); err != nil {
			return m.Run()
		}
	}
	script, err := ScriptPath(s.Script)
	if err != nil {
		s.err = err
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "tripleo-"+strings.ToLower(s.Name)+"-")
	if err != nil {
		s.err = err
		return m.Run()
	}
	s.state = dir
	defer func() {
		_ = exec.Command(script, "stop", dir).Run()
		if s.KeepEnv == "" || os.Getenv(s.KeepEnv) == "" {
			os.RemoveAll(dir)
		}
	}()
	ports, err := FreePorts(s.Ports)
	if err != nil {
		s.err = err
		return m.Run()
	}
	var stderr bytes.Buffer
	cmd := exec.Command(script, append([]string{"start", dir}, ports...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		s.err = fmt.Errorf("%s start: %v: %s", script, err, stderr.String())
		return m.Run()
	}
	s.url = strings.TrimSpace(string(out))
	return m.Run()
}

// Need returns the running service's endpoint. It skips the test when the
// service is not installed (fails it under TRIPLEO_REQUIRE_PEERS=1), and
// fails it when the service did not start.
func (s *Service) Need(t testing.TB) string {
	t.Helper()
	if s.err != nil {
		t.Fatalf("%s did not start: %v", s.Name, s.err)
	}
	if s.url == "" {
		peertest.Look(t, s.Binaries...)
		t.Fatalf("%s is installed but was not started (is TestMain calling Main?)", s.Name)
	}
	return s.url
}

// State returns the started service's state directory (configuration and
// logs), or "" when the tests did not start it.
func (s *Service) State() string { return s.state }

// RunsTests reports whether this test binary runs tests or benchmarks at
// all: -list, -fuzz and -run '^$' without -bench (what .ci/run's fuzz
// loop passes) need no service.
func RunsTests() bool {
	if fl := flag.Lookup("test.bench"); fl != nil && fl.Value.String() != "" {
		return true
	}
	for _, f := range []string{"test.list", "test.fuzz"} {
		if fl := flag.Lookup(f); fl != nil && fl.Value.String() != "" {
			return false
		}
	}
	fl := flag.Lookup("test.run")
	return fl == nil || fl.Value.String() != "^$"
}

// FreePorts returns n distinct free TCP ports on 127.0.0.1.
func FreePorts(n int) ([]string, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ps []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ps = append(ps, fmt.Sprint(l.Addr().(*net.TCPAddr).Port))
	}
	return ps, nil
}

// ScriptPath returns the absolute path of .ci/openstack/name, found from
// the working directory upwards (a package's tests run in its directory).
func ScriptPath(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, ".ci", "openstack", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("openstacktest: .ci/openstack/" + name + " not found above the working directory")
		}
		dir = parent
	}
}
