package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/tripleo-go/tripleo/drivers/ipmi"
	_ "github.com/tripleo-go/tripleo/drivers/redfish"
	"github.com/tripleo-go/tripleo/provision"
)

// syncBuffer is a bytes.Buffer safe for the program and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the program with args and returns its machine lines, a
// stop function returning the exit status, and its standard error.
func start(ctx context.Context, dir string, args ...string) ([]string, func() int, *syncBuffer, error) {
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("bmc-secret\n"), 0o600); err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	r, w := io.Pipe()
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"-listen", "127.0.0.1:0", "-username", "admin", "-password-file", pw}, args...), w, stderr)
		w.Close()
	}()
	n := 1
	for i, a := range args {
		if a == "-machines" {
			fmt.Sscan(args[i+1], &n)
		}
	}
	var lines []string
	sc := bufio.NewScanner(r)
	for len(lines) < n && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	go io.Copy(io.Discard, r)
	stop := func() int { cancel(); return <-done }
	if len(lines) < n {
		return lines, stop, stderr, fmt.Errorf("got %d lines: %s", len(lines), stderr.String())
	}
	return lines, stop, stderr, nil
}

func TestServesRedfishAndIPMI(t *testing.T) {
	ctx := t.Context()
	lines, stop, stderr, err := start(ctx, t.TempDir(), "-machines", "3", "-power-delay", "300ms")
	if err != nil {
		stop()
		t.Fatal(err)
	}
	creds := provision.NewCredentials("admin", "bmc-secret")
	re := regexp.MustCompile(`^(m\d) (redfish\+http://127\.0\.0\.1:\d+/redfish/v1/Systems/m\d) (ipmi://127\.0\.0\.1:\d+)$`)
	opts := &provision.BMCOptions{PollInterval: 20 * time.Millisecond, PowerTimeout: 20 * time.Second}
	for i, l := range lines {
		f := re.FindStringSubmatch(l)
		if f == nil || f[1] != fmt.Sprintf("m%d", i) || !strings.HasSuffix(f[2], f[1]) {
			t.Fatalf("line %q", l)
		}
		rf, err := provision.OpenBMC(ctx, f[2], creds, opts)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := rf.Power(ctx, provision.PowerActionOn); err != nil || s != provision.PowerOn {
			t.Errorf("%s: Redfish power on: %v, %v", f[1], s, err)
		}
		rf.Close()
		ipmi, err := provision.OpenBMC(ctx, f[3], creds, opts)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := ipmi.PowerState(ctx); err != nil || s != provision.PowerOn {
			t.Errorf("%s: IPMI sees %v, %v", f[1], s, err)
		}
		ipmi.Close()
	}
	if code := stop(); code != 0 {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
	if s := stderr.String(); !strings.Contains(s, "m2: power on, calls: power on") || strings.Contains(s, "bmc-secret") {
		t.Errorf("summary: %s", s)
	}
}

func TestUsage(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("x\n"), 0o600)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-machines", "2"}, 2, "-password-file is required"},
		{[]string{"-password-file", pw, "-machines", "0"}, 2, "want 1-10000"},
		{[]string{"-password-file", pw, "-power-delay", "soon"}, 2, "invalid value"},
		{[]string{"-password-file", pw, "extra"}, 2, "unexpected arguments"},
		{[]string{"-password-file", "/nonexistent"}, 1, "password file"},
		{[]string{"-password-file", pw, "-listen", "0.0.0.0:0"}, 1, "loopback"},
	} {
		var out, errb bytes.Buffer
		if code := run(t.Context(), tc.args, &out, &errb); code != tc.code || !strings.Contains(errb.String(), tc.want) || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), tc.code, tc.want)
		}
	}
}

func Example() {
	dir, _ := os.MkdirTemp("", "sim-bmc-example")
	defer os.RemoveAll(dir)
	lines, stop, _, err := start(context.Background(), dir, "-machines", "2")
	defer stop()
	if err != nil {
		panic(err)
	}
	port := regexp.MustCompile(`127\.0\.0\.1:\d+`)
	for _, l := range lines {
		fmt.Println(port.ReplaceAllString(l, "127.0.0.1:PORT"))
	}
	// Output:
	// m0 redfish+http://127.0.0.1:PORT/redfish/v1/Systems/m0 ipmi://127.0.0.1:PORT
	// m1 redfish+http://127.0.0.1:PORT/redfish/v1/Systems/m1 ipmi://127.0.0.1:PORT
}
