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

// TestDiffDefaultPaths compares the built-in default paths with the real
// tool: output root "/", the fallback metadata files under /var/cache and
// /var/lib, /var/lib/os-collect-config/os_config_files.json and its legacy
// /var/run fallback. Both tools run in a private mount namespace with tmpfs
// over /var/lib, /var/cache, /run and /mnt, so the host is never touched;
// templates render under /mnt, and the script prints what was written.
func TestDiffDefaultPaths(t *testing.T) {
	real := peertest.Look(t, "os-apply-config")[0]
	if os.Geteuid() != 0 {
		t.Skip("needs root for a private mount namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare not installed")
	}
	if out, err := exec.Command(unshare, "-m", "sh", "-c", "mount -t tmpfs none /mnt").CombinedOutput(); err != nil {
		t.Skipf("no private mount namespace here: %v: %s", err, out)
	}
	const setup = `set -e
for d in /var/lib /var/cache /run /mnt; do mount -t tmpfs none $d; done
mkdir -p /var/cache/heat-cfntools /var/lib/heat-cfntools /var/lib/cloud/data /var/lib/os-collect-config /run/os-collect-config
echo '{"fb": "cache", "c": 1}' > /var/cache/heat-cfntools/last_metadata
echo '{"fb": "heat", "h": 2}' > /var/lib/heat-cfntools/cfn-init-data
echo '{"fb": "cloud", "k": 3}' > /var/lib/cloud/data/cfn-init-data
echo '{"md": "listed"}' > /mnt/listed.json
echo '{"md": "legacy-list"}' > /mnt/legacy.json
`
	tests := []struct {
		name, script string
	}{
		{"os_config_files.json", `echo '["/mnt/listed.json"]' > /var/lib/os-collect-config/os_config_files.json
"$@"`},
		{"legacy /var/run list", `echo '[]' > /var/lib/os-collect-config/os_config_files.json
echo '["/mnt/legacy.json"]' > /run/os-collect-config/os_config_files.json
"$@"`},
		{"no list at all", `"$@"`},
		{"key from fallbacks", `"$@" --key h`},
		{"empty --os-config-files", `echo '["/mnt/listed.json"]' > /var/lib/os-collect-config/os_config_files.json
"$@" --os-config-files ''`},
		{"empty OS_CONFIG_FILES_PATH", `echo '["/mnt/listed.json"]' > /var/lib/os-collect-config/os_config_files.json
echo '["/mnt/legacy.json"]' > /run/os-collect-config/os_config_files.json
OS_CONFIG_FILES_PATH= "$@"`},
		{"no fallbacks", `echo '["/mnt/listed.json"]' > /var/lib/os-collect-config/os_config_files.json
"$@" --fallback-metadata`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tdir := filepath.Join(dir, "templates", "mnt", "oac")
			if err := os.MkdirAll(tdir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(tdir, "all"), []byte("{{.}}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			script := setup + tt.script + "\necho rc=$?\nfind /mnt/oac -type f -exec sh -c 'echo \"== $1\"; cat \"$1\"' sh {} \\; 2>/dev/null || true\n"
			run := func(bin string) (stdout, stderr string) {
				cmd := exec.CommandContext(t.Context(), unshare, "-m", "--propagation", "private", "sh", "-c", script, "sh", bin)
				cmd.Dir = dir
				cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "OS_CONFIG_APPLIER_TEMPLATES=" + filepath.Join(dir, "templates")}
				var o, e bytes.Buffer
				cmd.Stdout, cmd.Stderr = &o, &e
				if err := cmd.Run(); err != nil {
					t.Fatalf("%s: %v\n%s", bin, err, e.String())
				}
				return o.String(), e.String()
			}
			wantOut, wantErr := run(real)
			gotOut, gotErr := run(ourBinary)
			if gotOut != wantOut {
				t.Errorf("real:\n%s\nours:\n%s\nreal stderr:\n%s\nour stderr:\n%s", wantOut, gotOut, wantErr, gotErr)
			}
			const dep = "DEPRECATED: falling back to /var/run/os-collect-config/os_config_files.json"
			if strings.Contains(wantErr, dep) != strings.Contains(gotErr, dep) {
				t.Errorf("deprecation warning differs:\nreal:\n%s\nours:\n%s", wantErr, gotErr)
			}
		})
	}
}
