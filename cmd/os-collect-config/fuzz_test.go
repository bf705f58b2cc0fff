package main

import (
	"os"
	"path/filepath"
	"testing"
)

// Any config file either loads or gives an error; it never panics.
func FuzzConfigFile(f *testing.F) {
	f.Add("[DEFAULT]\ncommand = os-refresh-config\ncollectors = request\ncollectors = local\n[local]\npath = /x\n[request]\nmetadata_url = http://127.0.0.1/\ntimeout = 5\n")
	f.Add("[heat]\nauth_url = x\n")
	f.Add("one_time = maybe\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body string) {
		p := filepath.Join(dir, "f.conf")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = parseArgs([]string{"--config-file", p})
	})
}

func TestConfigFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "occ.conf")
	body := "[DEFAULT]\ncommand = os-refresh-config\ncollectors = request\ncollectors = local\none_time = true\n[local]\npath = /a\npath = /b\n[request]\nmetadata_url = http://127.0.0.1:1/md\n[heat]\nauth_url = http://keystone\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := parseArgs([]string{"--config-file", p, "--local-path", "/c"})
	if err != nil {
		t.Fatal(err)
	}
	if s.command != "os-refresh-config" || !s.oneTime || s.requestURL != "http://127.0.0.1:1/md" || !s.configured["heat"] {
		t.Errorf("settings %+v", s)
	}
	if len(s.collectors) != 2 || s.collectors[1] != "local" {
		t.Errorf("collectors %q", s.collectors)
	}
	if len(s.localPaths) != 1 || s.localPaths[0] != "/c" {
		t.Errorf("local paths %q (the command line replaces the file's)", s.localPaths)
	}
}
