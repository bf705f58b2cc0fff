package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --agent --one-time renders the templates, runs the phases with
// OS_CONFIG_FILES and exits with the run's status.
func TestAgentMode(t *testing.T) {
	root := t.TempDir()
	mk := func(rel, body string, mode os.FileMode) { writeFile(t, root, rel, body, mode) }
	mk("local/10-node.json", `{"hostname": "n0"}`, 0o644)
	mk("templates/etc/hostname", "{{hostname}}\n", 0o644)
	mk("phases/configure.d/10-show", "#!/bin/sh\ncat "+root+"/out/etc/hostname\necho \"$OS_CONFIG_FILES\"\n", 0o755)
	args := []string{"--config-file", "/dev/null", "--agent", "--one-time",
		"--cachedir", filepath.Join(root, "cache"), "--backup-cachedir", filepath.Join(root, "backup"),
		"--agent-templates", filepath.Join(root, "templates"), "--agent-output", filepath.Join(root, "out"),
		"--agent-phases-dir", filepath.Join(root, "phases"), "--agent-lockfile", filepath.Join(root, "lock"),
		"local", "--local-path", filepath.Join(root, "local")}
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	want := "n0\n" + filepath.Join(root, "cache", "10-node.json.json") + "\n"
	if stdout.String() != want {
		t.Errorf("phase output %q, want %q", stdout.String(), want)
	}
	mk("phases/configure.d/20-fail", "#!/bin/sh\nexit 3\n", 0o755)
	mk("local/10-node.json", `{"hostname": "n1"}`, 0o644)
	stdout.Reset()
	if code := run(t.Context(), args, &stdout, &stderr); code != 1 {
		t.Errorf("failing phase: exit %d", code)
	}
	if !strings.Contains(stdout.String(), "n1") {
		t.Errorf("second run output %q", stdout.String())
	}
}
