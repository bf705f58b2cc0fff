package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/internal/peertest"
	"github.com/tripleo-go/tripleo/refresh"
)

// Each case runs the real os-refresh-config and ours with the same
// arguments and base directory and compares exit status and stdout.
func TestExitCodesDifferential(t *testing.T) {
	orc := peertest.Look(t, "os-refresh-config", "dib-run-parts")[0]
	okBase := t.TempDir()
	mk := func(base, rel, body string) {
		p := filepath.Join(base, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mk(okBase, "configure.d/10-ok", "#!/bin/sh\necho configured\n")
	failBase := t.TempDir()
	mk(failBase, "configure.d/10-fail", "#!/bin/sh\necho failing\nexit 4\n")
	mk(failBase, "error.d/10-report", "#!/bin/sh\necho error handler\n")
	hangBase := t.TempDir()
	mk(hangBase, "configure.d/10-hang", "#!/bin/sh\necho started\nsleep 30\n")
	mk(hangBase, "error.d/10-report", "#!/bin/sh\necho error handler ran\n")
	heldLock := filepath.Join(t.TempDir(), "held.lock")
	unlock, err := refresh.Lock(heldLock)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	cases := []struct {
		name string
		base string
		args []string
	}{
		{"success", okBase, nil},
		{"failure", failBase, nil},
		{"lock-held", okBase, []string{"--lockfile", heldLock}},
		{"print-base", okBase, []string{"--print-base"}},
		{"print-phases", okBase, []string{"--print-phases"}},
		{"abbreviated", okBase, []string{"--print-b"}},
		{"ambiguous", okBase, []string{"--print"}},
		{"unknown", okBase, []string{"--bogus"}},
		{"positional", okBase, []string{"extra"}},
		{"bad-timeout", okBase, []string{"--timeout", "x"}},
		{"bad-level", okBase, []string{"--log-level", "FOO"}},
		{"missing-value", okBase, []string{"--lockfile"}},
		{"timeout-ok", okBase, []string{"--timeout=30", "--log-level", "DEBUG"}},
		{"timeout-reached", hangBase, []string{"--timeout", "3"}},
		{"timeout-negative", okBase, []string{"--timeout", "-1"}},
		{"help", okBase, []string{"-h"}},
		{"help-long", okBase, []string{"--he"}},
		{"explicit-arg", okBase, []string{"--print-base=x"}},
		{"underscore-int", okBase, []string{"--timeout", "1_0", "--print-base"}},
		{"double-dash", okBase, []string{"--", "--print-base"}},
		{"abbreviated-value", okBase, []string{"--log", "DEBUG", "--print-phases"}},
		{"negative-looking", okBase, []string{"--lockfile", "-x"}},
		{"missing-base", filepath.Join(okBase, "nope"), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if !strings.Contains(strings.Join(args, " "), "--lockfile") {
				args = append([]string{"--lockfile", filepath.Join(t.TempDir(), "lock")}, args...)
			}
			cmd := exec.CommandContext(t.Context(), orc, args...)
			cmd.Env = append(os.Environ(), "OS_REFRESH_CONFIG_BASE_DIR="+c.base)
			var rout, rerr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &rout, &rerr
			want := 0
			if err := cmd.Run(); err != nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					t.Fatal(err)
				}
				want = ee.ExitCode()
			}
			var out, errb bytes.Buffer
			env := func(k string) (string, bool) {
				if k == "OS_REFRESH_CONFIG_BASE_DIR" {
					return c.base, true
				}
				return os.LookupEnv(k)
			}
			got := run(t.Context(), args, env, nil, &out, &errb)
			if got != want {
				t.Errorf("exit: real %d, ours %d\nreal stderr:\n%s\nour stderr:\n%s", want, got, rerr.String(), errb.String())
			}
			if out.String() != rout.String() {
				t.Errorf("stdout: real %q, ours %q", rout.String(), out.String())
			}
			if want == 2 && lastLine(errb.String()) != lastLine(rerr.String()) {
				t.Errorf("usage error: real %q, ours %q", lastLine(rerr.String()), lastLine(errb.String()))
			}
		})
	}
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}
