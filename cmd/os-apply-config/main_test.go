package main

import (
	"bytes"
	"context"
	"debug/elf"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var regexpTime = regexp.MustCompile(`\[\d{4}/\d\d/\d\d \d\d:\d\d:\d\d [AP]M\]`)

func TestLogFormat(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(newLogHandler(&buf))
	l.Info("writing", "path", "/etc/x")
	l.Warn("careful")
	l.Error("broken")
	l.Debug("hidden")
	l.With("k", "v").Info("with")
	got := regexpTime.ReplaceAllString(buf.String(), "[TS]")
	want := "[TS] [INFO] writing /etc/x\n[TS] [WARNING] careful\n[TS] [ERROR] broken\n[TS] [INFO] with v\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if !regexpTime.MatchString(buf.String()) {
		t.Errorf("timestamp format: %q", buf.String())
	}
}

func TestTemplatesDir(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	dirs := func(ds ...string) func(string) bool {
		return func(p string) bool {
			for _, d := range ds {
				if d == p {
					return true
				}
			}
			return false
		}
	}
	tests := []struct {
		name    string
		getenv  func(string) (string, bool)
		isDir   func(string) bool
		want    string
		warning bool
	}{
		{"env", func(k string) (string, bool) { return "/env/t", k == "OS_CONFIG_APPLIER_TEMPLATES" }, dirs(), "/env/t", false},
		{"env empty", func(k string) (string, bool) { return "", k == "OS_CONFIG_APPLIER_TEMPLATES" }, dirs(), "", false},
		{"nothing", noEnv, dirs(), defaultTemplatesDir, false},
		{"standard", noEnv, dirs(defaultTemplatesDir, legacyTemplatesDir), defaultTemplatesDir, false},
		{"legacy", noEnv, dirs(legacyTemplatesDir), legacyTemplatesDir, true},
		{"older legacy", noEnv, dirs(legacyTemplatesDirOld), legacyTemplatesDirOld, true},
		{"both legacy", noEnv, dirs(legacyTemplatesDir, legacyTemplatesDirOld), legacyTemplatesDir, true},
	}
	for _, tt := range tests {
		got, warn := templatesDir(tt.getenv, tt.isDir)
		if got != tt.want || (warn != "") != tt.warning {
			t.Errorf("%s: got %q (warning %q), want %q (warning %v)", tt.name, got, warn, tt.want, tt.warning)
		}
	}
}

func TestRunKey(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "md.json")
	if err := os.WriteFile(md, []byte(`{"db": {"port": 3306, "hosts": ["a", "b"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	getenv := func(string) (string, bool) { return "", false }
	tests := []struct {
		args       []string
		code       int
		out, inErr string
	}{
		{[]string{"--key", "db.port", "--type", "int"}, 0, "3306\n", ""},
		{[]string{"--key", "db.hosts.-1"}, 0, "b\n", ""},
		{[]string{"--key", "db.hosts", "--type", "raw"}, 0, "[\"a\", \"b\"]\n", ""},
		{[]string{"--key", "db.nope"}, 1, "", "key db.nope does not exist in ['" + md + "']"},
		{[]string{"--key", "db.port", "--type", "bogus"}, 1, "", "unknown key type"},
		{[]string{"--boolean-key", "db.port"}, 255, "", ""},
		{[]string{"--key"}, 2, "", "expected one argument"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		argv := append([]string{"os-apply-config", "--fallback-metadata", "-m", md}, tt.args...)
		code := run(context.Background(), nil, argv, &stdout, &stderr, getenv)
		if code != tt.code || stdout.String() != tt.out || !strings.Contains(stderr.String(), tt.inErr) {
			t.Errorf("%v: code %d stdout %q stderr %q; want %d %q containing %q", tt.args, code, stdout.String(), stderr.String(), tt.code, tt.out, tt.inErr)
		}
	}
}

func Example_version() {
	run(context.Background(), nil, []string{"os-config-applier", "--version"}, os.Stdout, os.Stderr, os.LookupEnv)
	// Output:
	// 12.0.0
}

// TestStaticBinary checks that the command links no C library, even when
// cgo is on: an image can ship it with no libc to match, and it starts
// without ld.so (about 1.5 ms of every run). Importing os/user or net
// would break this (see config/iddb.go).
func TestStaticBinary(t *testing.T) {
	if ourBinary == "" {
		t.Skip("binary not built")
	}
	f, err := elf.Open(ourBinary)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("%s is dynamically linked (program header %v): a dependency uses cgo", ourBinary, p.Type)
		}
	}
}
