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
)

// TestDiffLegacyTemplatesDir compares the default templates root with the
// real tool when the legacy /opt/stack directories exist. Both tools run in
// a private mount namespace (unshare -m) with tmpfs over /opt and
// /usr/libexec, so the host is never touched.
func TestDiffLegacyTemplatesDir(t *testing.T) {
	real := peertest.Look(t, "os-apply-config")[0]
	if os.Geteuid() != 0 {
		t.Skip("needs root for a private mount namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare not installed")
	}
	if out, err := exec.Command(unshare, "-m", "sh", "-c", "mount -t tmpfs none /opt").CombinedOutput(); err != nil {
		t.Skipf("no private mount namespace here: %v: %s", err, out)
	}
	const (
		std    = "/usr/libexec/os-apply-config/templates"
		legacy = "/opt/stack/os-apply-config/templates"
		older  = "/opt/stack/os-config-applier/templates"
	)
	tests := []struct {
		name    string
		dirs    []string // template roots that exist
		want    string   // the root both must pick
		warning bool
	}{
		{"legacy only", []string{legacy}, legacy, true},
		{"older legacy only", []string{older}, older, true},
		{"both legacy", []string{legacy, older}, legacy, true},
		{"standard and legacy", []string{std, legacy}, std, false},
		{"none", nil, std, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "md.json"), []byte(`{"v": "from metadata"}`), 0o644); err != nil {
				t.Fatal(err)
			}
			// The script mounts, creates the roots (each with a template
			// naming it) and runs the tool: --print-templates, then a
			// render into ./out with the default root.
			var script strings.Builder
			script.WriteString("set -e\nmount -t tmpfs none /opt\nmount -t tmpfs none /usr/libexec\n")
			for _, d := range tt.dirs {
				script.WriteString("mkdir -p " + d + "/etc && printf '" + d + " {{v}}' > " + d + "/etc/which\n")
			}
			script.WriteString(`"$@" --print-templates` + "\n")
			script.WriteString(`"$@" --fallback-metadata -o out -m md.json` + "\n")
			run := func(bin string) (stdout, stderr, which string) {
				os.RemoveAll(filepath.Join(dir, "out"))
				cmd := exec.CommandContext(t.Context(), unshare, "-m", "--propagation", "private", "sh", "-c", script.String(), "sh", bin)
				cmd.Dir = dir
				cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}
				var o, e bytes.Buffer
				cmd.Stdout, cmd.Stderr = &o, &e
				if err := cmd.Run(); err != nil {
					t.Fatalf("%s: %v\n%s", bin, err, e.String())
				}
				b, err := os.ReadFile(filepath.Join(dir, "out/etc/which"))
				if err != nil && !errors.Is(err, os.ErrNotExist) {
					t.Fatal(err)
				}
				return o.String(), e.String(), string(b)
			}
			wantOut, wantErr, wantWhich := run(real)
			gotOut, gotErr, gotWhich := run(ourBinary)
			if wantOut != tt.want+"\n" {
				t.Errorf("the real tool picks %q, the test expects %q", wantOut, tt.want)
			}
			if gotOut != wantOut || gotWhich != wantWhich {
				t.Errorf("real: %q rendering %q; ours: %q rendering %q", wantOut, wantWhich, gotOut, gotWhich)
			}
			const warn = "WARNING:root:Template directory " // the original's root-logger format
			if strings.Contains(wantErr, warn) != tt.warning || strings.Contains(gotErr, warn) != tt.warning {
				t.Errorf("deprecation warning: want %v\nreal:\n%s\nours:\n%s", tt.warning, wantErr, gotErr)
			}
		})
	}
}
