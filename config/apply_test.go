package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tree writes files under dir: a value ending in "\x00x" is made
// executable; "->target" makes a symlink.
func tree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasPrefix(body, "->"):
			if err := os.Symlink(body[2:], p); err != nil {
				t.Fatal(err)
			}
		case strings.HasSuffix(body, "\x00x"):
			if err := os.WriteFile(p, []byte(strings.TrimSuffix(body, "\x00x")), 0o755); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func metadata(t *testing.T, js string) any {
	t.Helper()
	v, err := DecodeJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// listTree returns "path mode uid:gid content" lines for every file and
// directory under dir (symlinks as "path -> target").
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+" -> "+target)
		case fi.IsDir():
			out = append(out, rel+"/ "+modeStr(fi.Mode()))
		default:
			b, _ := os.ReadFile(p)
			out = append(out, fmt.Sprintf("%s %s %d:%d %s", rel, modeStr(fi.Mode()), st.Uid, st.Gid, b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func modeStr(m fs.FileMode) string {
	perm := uint32(m.Perm())
	for bit, v := range map[fs.FileMode]uint32{fs.ModeSetuid: 0o4000, fs.ModeSetgid: 0o2000, fs.ModeSticky: 0o1000} {
		if m&bit != 0 {
			perm |= v
		}
	}
	return fmt.Sprintf("%#o", perm)
}

// needRoot skips tests that chown to other users or expect root's files.
// changeList is res.Changes as "kind path" lines, paths relative to root.
func changeList(res *Result, root string) []string {
	var out []string
	for _, c := range res.Changes {
		rel, _ := filepath.Rel(root, c.Path)
		out = append(out, c.Kind.String()+" "+rel)
	}
	return out
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (chown to other users)")
	}
}

func TestApplyTree(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	tdir, out := filepath.Join(dir, "t"), filepath.Join(dir, "o")
	tree(t, dir, map[string]string{
		"t/etc/app.conf":         "host={{db.host}} port={{db.port}}\n",
		"t/etc/app.conf.oac":     "mode: 0600\nowner: nobody\ngroup: daemon\n",
		"t/.hidden":              "{{#list}}{{.}},{{/list}}",
		"t/orphan.oac":           "mode: 0600",
		"t/deep/a/b/c":           "{{missing}}x",
		"t/linked":               "->etc",
		"t/linkfile":             "->etc/app.conf",
		"t/gen":                  "#!/bin/sh\necho generated; cat\n\x00x",
		"t/crlf":                 "a\r\nb\rc\n",
		"outside/not-a-template": "x",
	})
	md := metadata(t, `{"db": {"host": "h1", "port": 5432}, "list": [1, "a", null]}`)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	res, err := Apply(t.Context(), md, &ApplyOptions{TemplatesDir: tdir, OutputDir: out, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		".hidden 0644 0:0 1,a,,",
		"crlf 0644 0:0 a\nb\nc\n",
		"deep/ 0755",
		"deep/a/ 0755",
		"deep/a/b/ 0755",
		"deep/a/b/c 0644 0:0 x",
		"etc/ 0755",
		"etc/app.conf 0600 65534:1 host=h1 port=5432\n",
		"gen 0644 0:0 generated\n" + `{"db": {"host": "h1", "port": 5432}, "list": [1, "a", null]}`,
		"linkfile 0644 0:0 host=h1 port=5432\n",
	}
	if got := listTree(t, out); !slices.Equal(got, want) {
		t.Errorf("output tree:\n%q\nwant:\n%q", got, want)
	}
	var paths []string
	for _, c := range res.Changes {
		if c.Kind != Created {
			t.Errorf("%s: %v, want created", c.Path, c.Kind)
		}
		paths = append(paths, strings.TrimPrefix(c.Path, out+"/"))
	}
	if want := []string{".hidden", "crlf", "deep/a/b/c", "etc/app.conf", "gen", "linkfile"}; !slices.Equal(paths, want) {
		t.Errorf("changes %q, want %q", paths, want)
	}
	if !strings.Contains(logs.String(), `msg="writing `+out+`/etc/app.conf"`) {
		t.Errorf("log lacks the writing line:\n%s", logs.String())
	}

	// A second run changes nothing and rewrites nothing.
	before, _ := os.Stat(filepath.Join(out, "etc/app.conf"))
	res, err = Apply(t.Context(), md, &ApplyOptions{TemplatesDir: tdir, OutputDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 0 || len(res.Unchanged) != 6 {
		t.Errorf("second run: %+v", res)
	}
	after, _ := os.Stat(filepath.Join(out, "etc/app.conf"))
	if !os.SameFile(before, after) {
		t.Error("an unchanged file was replaced")
	}

	// New metadata: only what depends on it changes.
	md = metadata(t, `{"db": {"host": "h2", "port": 5432}, "list": [1, "a", null]}`)
	res, err = Apply(t.Context(), md, &ApplyOptions{TemplatesDir: tdir, OutputDir: out})
	if err != nil {
		t.Fatal(err)
	}
	want2 := []Change{{filepath.Join(out, "etc/app.conf"), Updated}, {filepath.Join(out, "gen"), Updated}, {filepath.Join(out, "linkfile"), Updated}}
	if !slices.Equal(res.Changes, want2) {
		t.Errorf("third run changes %+v, want %+v", res.Changes, want2)
	}
}

func TestApplyKeepsModeAndOwner(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	tdir, out := filepath.Join(dir, "t"), filepath.Join(dir, "o")
	tree(t, dir, map[string]string{
		"t/keep": "new", "t/suid": "new", "t/sgidx": "new", "t/sgid": "new", "t/sticky": "new",
		"t/override": "new", "t/override.oac": "mode: 0640\ngroup: daemon",
		"t/zero": "new", "t/zero.oac": "mode: 0",
		"t/same": "same", "t/same.oac": "owner: nobody",
		"o/keep": "old", "o/suid": "old", "o/sgidx": "old", "o/sgid": "old", "o/sticky": "old",
		"o/override": "old", "o/zero": "old", "o/same": "same",
	})
	for name, mode := range map[string]uint32{"keep": 0o600, "suid": 0o4755, "sgidx": 0o2755, "sgid": 0o2745, "sticky": 0o1644, "override": 0o4755, "zero": 0o640, "same": 0o644} {
		p := filepath.Join(out, name)
		if err := syscall.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Apply(t.Context(), NewObject(), &ApplyOptions{TemplatesDir: tdir, OutputDir: out}); err != nil {
		t.Fatal(err)
	}
	// As the original (checked with os-apply-config 12.0.0 on Linux):
	// setuid goes, setgid goes with group-exec, the sticky bit stays.
	want := []string{
		"keep 0600 65534:65534 new",
		"override 0640 65534:1 new",
		"same 0644 65534:65534 same",
		"sgid 02745 65534:65534 new",
		"sgidx 0755 65534:65534 new",
		"sticky 01644 65534:65534 new",
		"suid 0755 65534:65534 new",
		"zero 0640 65534:65534 new",
	}
	if got := listTree(t, out); !slices.Equal(got, want) {
		t.Errorf("output tree:\n%q\nwant:\n%q", got, want)
	}
}

// TestApplyNewFileMode: new files get 0644 or their .oac mode whatever the
// umask (a file created with its final mode skips the fchmod only once an
// fstat has shown the umask leaves that mode alone).
func TestApplyNewFileMode(t *testing.T) {
	for _, umask := range []int{0o077, 0o022, 0} {
		t.Run(fmt.Sprintf("umask %03o", umask), func(t *testing.T) {
			old := syscall.Umask(umask)
			defer syscall.Umask(old)
			dir := t.TempDir()
			tree(t, dir, map[string]string{
				"t/a/f1": "x", "t/a/f2": "x", "t/a/f3": "x",
				"t/a/g1": "x", "t/a/g1.oac": "mode: 0666", "t/a/g2": "x", "t/a/g2.oac": "mode: 0666",
				"t/a/h": "x", "t/a/h.oac": "mode: 0600",
			})
			if _, err := Apply(t.Context(), NewObject(), &ApplyOptions{TemplatesDir: filepath.Join(dir, "t"), OutputDir: filepath.Join(dir, "o")}); err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]fs.FileMode{"f1": 0o644, "f2": 0o644, "f3": 0o644, "g1": 0o666, "g2": 0o666, "h": 0o600} {
				fi, err := os.Stat(filepath.Join(dir, "o/a", name))
				if err != nil || fi.Mode().Perm() != want {
					t.Errorf("%s: %v %v, want %v whatever the umask", name, fi.Mode(), err, want)
				}
			}
		})
	}
}

func TestApplyAllowEmpty(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	tdir, out := filepath.Join(dir, "t"), filepath.Join(dir, "o")
	tree(t, dir, map[string]string{
		"t/del": "{{nothing}}", "t/del.oac": "allow_empty: false",
		"t/absent": "", "t/absent.oac": "allow_empty: no",
		"t/dangling": "", "t/dangling.oac": "allow_empty: no",
		"t/link": "", "t/link.oac": "allow_empty: no",
		"t/empty": "",
		"t/full":  "x", "t/full.oac": "allow_empty: false",
		"o/del": "old", "o/dangling": "->nowhere", "o/target": "t", "o/link": "->target",
	})
	var logs bytes.Buffer
	res, err := Apply(t.Context(), NewObject(), &ApplyOptions{TemplatesDir: tdir, OutputDir: out, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"dangling -> nowhere", "empty 0644 0:0 ", "full 0644 0:0 x", "target 0644 0:0 t"}
	if got := listTree(t, out); !slices.Equal(got, want) {
		t.Errorf("output tree:\n%q\nwant:\n%q", got, want)
	}
	wantChanges := []Change{{filepath.Join(out, "del"), Deleted}, {filepath.Join(out, "empty"), Created}, {filepath.Join(out, "full"), Created}, {filepath.Join(out, "link"), Deleted}}
	if !slices.Equal(res.Changes, wantChanges) {
		t.Errorf("changes %+v, want %+v", res.Changes, wantChanges)
	}
	for _, line := range []string{"deleting " + out + "/del", "not creating empty " + out + "/absent", "not creating empty " + out + "/dangling"} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, logs.String())
		}
	}
}

func TestApplySymlinkTargetReplaced(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	tdir, out := filepath.Join(dir, "t"), filepath.Join(dir, "o")
	tree(t, dir, map[string]string{
		"t/a": "new", "t/sub/b": "new",
		"o/real": "old", "o/a": "->real", "o/realdir/keep": "k", "o/sub": "->realdir",
	})
	if err := os.Chmod(filepath.Join(out, "real"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(t.Context(), NewObject(), &ApplyOptions{TemplatesDir: tdir, OutputDir: out}); err != nil {
		t.Fatal(err)
	}
	// The link a becomes a regular file with its target's mode, the
	// target is untouched; a directory link inside the root is followed.
	want := []string{"a 0600 0:0 new", "real 0600 0:0 old", "realdir/ 0755", "realdir/b 0644 0:0 new", "realdir/keep 0644 0:0 k", "sub -> realdir"}
	if got := listTree(t, out); !slices.Equal(got, want) {
		t.Errorf("output tree:\n%q\nwant:\n%q", got, want)
	}
}

func TestApplyRefusesEscapes(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"parent symlink to an absolute path outside", map[string]string{"t/etc/f": "x", "o/etc": "->/tmp"}},
		{"parent symlink with ..", map[string]string{"t/etc/f": "x", "o/etc": "->../elsewhere"}},
		{"target symlink outside", map[string]string{"t/f": "x", "o/f": "->../victim"}},
		{"dangling target symlink outside", map[string]string{"t/f": "x", "o/f": "->/nonexistent/victim"}},
		{"chain of links", map[string]string{"t/a/f": "x", "o/a": "->b", "o/b": "->../elsewhere"}},
		{"delete through a link outside", map[string]string{"t/f": "", "t/f.oac": "allow_empty: false", "o/f": "->../victim"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tdir, out := filepath.Join(dir, "t"), filepath.Join(dir, "o")
			tt.files["t/0first"] = "must not be written"
			tt.files["victim"] = "victim"
			tt.files["elsewhere/keep"] = "k"
			tree(t, dir, tt.files)
			before := listTree(t, dir)
			_, err := Apply(t.Context(), NewObject(), &ApplyOptions{TemplatesDir: tdir, OutputDir: out})
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("error %v, want ErrUnsafePath", err)
			}
			if !strings.Contains(err.Error(), out+"/") {
				t.Errorf("error %q does not name the path", err)
			}
			if after := listTree(t, dir); !slices.Equal(before, after) {
				t.Errorf("tree changed:\n%q\n%q", before, after)
			}
		})
	}
}

func TestApplyOutputRootIsSymlink(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"t/f": "x", "real/keep": "k", "o": "->real"})
	if _, err := Apply(t.Context(), NewObject(), &ApplyOptions{TemplatesDir: filepath.Join(dir, "t"), OutputDir: filepath.Join(dir, "o")}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "real/f")); err != nil || string(b) != "x" {
		t.Fatalf("%q %v", b, err)
	}
}

// Every failure leaves the output tree as it was: nothing written, no
// directory made, no temporary file left.
func TestApplyAtomic(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		is    error
		as    any
		msg   string
	}{
		{"mustache syntax", map[string]string{"t/z/bad": "{{#a}}{{/b}}"}, ErrTemplate, new(*TemplateError), "t/z/bad"},
		{"not UTF-8", map[string]string{"t/z/bad": "ok\n\xff"}, ErrTemplate, new(*TemplateError), "line 2"},
		{"dangling template", map[string]string{"t/z/bad": "->nowhere"}, ErrTemplate, new(*TemplateError), "t/z/bad"},
		{"bad oac", map[string]string{"t/z/bad": "x", "t/z/bad.oac": "mode: 600"}, nil, new(*ControlError), "mode '0o1130' out of range"},
		{"unknown owner", map[string]string{"t/z/bad": "x", "t/z/bad.oac": "owner: no-such-user-here"}, nil, new(*ControlError), "not found in passwd database"},
		{"failing script", map[string]string{"t/z/bad": "#!/bin/sh\necho out; echo err >&2; exit 3\n\x00x"}, ErrExec, new(*ExecError), "exit status 3"},
		{"target is a directory", map[string]string{"t/z/bad": "x", "o/z/bad/keep": "k"}, syscall.EISDIR, nil, "o/z/bad"},
		{"parent is a file", map[string]string{"t/z/bad/f": "x", "o/z/bad": "file"}, syscall.ENOTDIR, nil, "o/z/bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.files["t/a/new"] = "new"
			tt.files["t/old"] = "new"
			tt.files["o/old"] = "old"
			tree(t, dir, tt.files)
			before := listTree(t, filepath.Join(dir, "o"))
			_, err := Apply(t.Context(), NewObject(), &ApplyOptions{TemplatesDir: filepath.Join(dir, "t"), OutputDir: filepath.Join(dir, "o")})
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if tt.as != nil && !errors.As(err, tt.as) {
				t.Errorf("error %v (%T) is not %T", err, err, tt.as)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q lacks %q", err, tt.msg)
			}
			if after := listTree(t, filepath.Join(dir, "o")); !slices.Equal(before, after) {
				t.Errorf("output changed:\n%q\n%q", before, after)
			}
		})
	}
}

// A failure while writing the temporary files (here an immutable
// directory, which even root cannot write into) undoes everything.
func TestApplyWriteFailureRollsBack(t *testing.T) {
	needRoot(t)
	chattr, err := exec.LookPath("chattr")
	if err != nil {
		t.Skip("no chattr")
	}
	dir := t.TempDir()
	tree(t, dir, map[string]string{"t/a/b/new": "new", "t/old": "new", "o/old": "old", "t/x/f": "x", "o/x/keep": "k"})
	ro := filepath.Join(dir, "o/x")
	if out, err := exec.Command(chattr, "+i", ro).CombinedOutput(); err != nil {
		t.Skipf("chattr +i: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command(chattr, "-i", ro).Run() })
	before := listTree(t, filepath.Join(dir, "o"))
	_, err = Apply(t.Context(), NewObject(), &ApplyOptions{TemplatesDir: filepath.Join(dir, "t"), OutputDir: filepath.Join(dir, "o")})
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "o/x/f") {
		t.Fatalf("error %v", err)
	}
	if after := listTree(t, filepath.Join(dir, "o")); !slices.Equal(before, after) {
		t.Errorf("output changed:\n%q\n%q", before, after)
	}
}

func TestApplyExecutable(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	tree(t, dir, map[string]string{
		"t/env":    "#!/bin/sh\nprintf '%s' \"$OAC_TEST\"\n\x00x",
		"t/args":   "#!/bin/sh\necho \"$0 $#\"\n\x00x",
		"t/stdin":  "#!/bin/sh\ncat\n\x00x",
		"t/binary": "#!/bin/sh\nprintf 'ok\\r\\n'\n\x00x",
	})
	md := metadata(t, `{"b": 1, "a": "\u00e9", "l": [1.0, null, true]}`)
	_, err := Apply(t.Context(), md, &ApplyOptions{TemplatesDir: filepath.Join(dir, "t"), OutputDir: filepath.Join(dir, "o"), Env: []string{"OAC_TEST=from env"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"args 0644 0:0 " + filepath.Join(dir, "t") + "/args 0\n",
		"binary 0644 0:0 ok\r\n",
		"env 0644 0:0 from env",
		`stdin 0644 0:0 {"b": 1, "a": "\u00e9", "l": [1.0, null, true]}`,
	}
	if got := listTree(t, filepath.Join(dir, "o")); !slices.Equal(got, want) {
		t.Errorf("output tree:\n%q\nwant:\n%q", got, want)
	}
}

func TestRunExecutableErrors(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{
		"fail":      "#!/bin/sh\necho out; echo err >&2; exit 7\n\x00x",
		"noshebang": "echo hi\n\x00x",
		"leaker":    "#!/bin/sh\nsleep 3 &\necho hi\n\x00x",
		"badutf8":   "#!/bin/sh\nprintf '\\377'\n\x00x",
		"sleeper":   "#!/bin/sh\nsleep 60 &\nsleep 60\n\x00x",
		"signal":    "#!/bin/sh\nkill -9 $$\n\x00x",
	})
	tests := []struct {
		name, msg string
		code      int
		is        error
	}{
		{"fail", "exit status 7", 7, nil},
		{"noshebang", "exec format error", -1, syscall.ENOEXEC},
		{"badutf8", "not valid UTF-8", 0, nil},
		{"sleeper", "timed out", -1, context.DeadlineExceeded},
		{"signal", "signal: killed", -1, nil},
		{"leaker", "kept its output open", 0, exec.ErrWaitDelay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			timeout := time.Minute // never reached, however loaded the machine
			if tt.name == "sleeper" {
				timeout = 300 * time.Millisecond
			}
			_, err := RunExecutable(t.Context(), p, []byte("{}"), nil, timeout)
			var ee *ExecError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v (%T), want *ExecError", err, err)
			}
			if ee.Template != p || ee.ExitCode != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %+v (%q)", ee, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if !errors.Is(err, ErrTemplate) || !errors.Is(err, ErrExec) {
				t.Errorf("error %v matches neither ErrTemplate nor ErrExec", err)
			}
			if tt.name == "fail" && string(ee.Output) != "out\nerr\n" {
				t.Errorf("output %q", ee.Output)
			}
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := RunExecutable(ctx, filepath.Join(dir, "sleeper"), nil, nil, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestApplyValidate(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	tree(t, dir, map[string]string{"t/f": "{{x}}", "t/s": "#!/bin/sh\ntouch " + marker + "\n\x00x"})
	res, err := Apply(t.Context(), NewObject(), &ApplyOptions{TemplatesDir: filepath.Join(dir, "t"), OutputDir: filepath.Join(dir, "o"), Validate: true})
	if err != nil || len(res.Changes) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "o")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("validate wrote the output root")
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("validate did not run the executable template")
	}
}

func TestApplyNoTemplates(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"file": "x"})
	for _, root := range []string{filepath.Join(dir, "missing"), filepath.Join(dir, "file"), ""} {
		res, err := Apply(t.Context(), NewObject(), &ApplyOptions{TemplatesDir: root, OutputDir: filepath.Join(dir, "o")})
		if err != nil || len(res.Changes) != 0 {
			t.Errorf("root %q: %+v %v", root, res, err)
		}
	}
}

func TestApplyFIFOTemplate(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "t"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "t/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Apply(t.Context(), NewObject(), &ApplyOptions{TemplatesDir: filepath.Join(dir, "t"), OutputDir: filepath.Join(dir, "o")})
	if !errors.Is(err, ErrTemplate) || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("error %v", err)
	}
}

func TestApplyCancelled(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"t/f": "x"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Apply(ctx, NewObject(), &ApplyOptions{TemplatesDir: filepath.Join(dir, "t"), OutputDir: filepath.Join(dir, "o")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
}

func TestFindTemplates(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{
		"t/b": "", "t/a/.dot": "", "t/a/x.oac": "", "t/a/x": "", "t/y.oac": "",
		"t/dirlink": "->a", "t/filelink": "->b", "t/dangling": "->nowhere",
		"t/z.oac/inside": "", "t/w": "", "t/w.oac/notacontrol": "",
		"t/s": "", "t/s.oac": "->a/x.oac", "t/d": "", "t/d.oac": "->nowhere",
	})
	got, err := FindTemplates(filepath.Join(dir, "t") + "/")
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, tp := range got {
		line := tp.Rel + " " + strings.TrimPrefix(tp.Path, dir)
		if tp.Control != "" {
			line += " " + strings.TrimPrefix(tp.Control, dir)
		}
		s = append(s, line)
	}
	want := []string{
		"a/.dot /t/a/.dot",
		"a/x /t/a/x /t/a/x.oac",
		"b /t/b",
		"d /t/d",
		"dangling /t/dangling",
		"filelink /t/filelink",
		"s /t/s /t/s.oac",
		"w /t/w",
		"w.oac/notacontrol /t/w.oac/notacontrol",
		"z.oac/inside /t/z.oac/inside",
	}
	if !slices.Equal(s, want) {
		t.Errorf("got\n%q\nwant\n%q", s, want)
	}
}

func TestChangeKindString(t *testing.T) {
	for k, want := range map[ChangeKind]string{Created: "created", Updated: "updated", Deleted: "deleted", 0: "ChangeKind(0)"} {
		if got := k.String(); got != want {
			t.Errorf("%d: %q, want %q", int(k), got, want)
		}
	}
}

func TestNormalizeNewlines(t *testing.T) {
	for in, want := range map[string]string{"": "", "a\r\nb": "a\nb", "a\rb\r": "a\nb\n", "\r\r\n": "\n\n", "x": "x"} {
		if got := string(normalizeNewlines([]byte(in))); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func ExampleApply() {
	dir, err := os.MkdirTemp("", "apply-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	templates, out := filepath.Join(dir, "templates"), filepath.Join(dir, "out")
	os.MkdirAll(filepath.Join(templates, "etc/app"), 0o755)
	os.WriteFile(filepath.Join(templates, "etc/app/app.conf"), []byte("[db]\nhost = {{db.host}}\n"), 0o644)
	os.WriteFile(filepath.Join(templates, "etc/app/app.conf.oac"), []byte("mode: 0640\n"), 0o644)
	os.WriteFile(filepath.Join(templates, "etc/motd"), []byte("{{#motd}}{{.}}\n{{/motd}}"), 0o644)

	for _, js := range []string{`{"db": {"host": "10.0.0.1"}}`, `{"db": {"host": "10.0.0.2"}, "motd": "hello"}`} {
		md, err := DecodeJSON([]byte(js))
		if err != nil {
			panic(err)
		}
		res, err := Apply(context.Background(), md, &ApplyOptions{TemplatesDir: templates, OutputDir: out})
		if err != nil {
			panic(err)
		}
		for _, c := range res.Changes {
			rel, _ := filepath.Rel(out, c.Path)
			fmt.Println(c.Kind, rel)
		}
		fmt.Println("unchanged:", len(res.Unchanged))
	}
	b, _ := os.ReadFile(filepath.Join(out, "etc/app/app.conf"))
	fi, _ := os.Stat(filepath.Join(out, "etc/app/app.conf"))
	fmt.Printf("%v\n%s", fi.Mode(), b)
	// Output:
	// created etc/app/app.conf
	// created etc/motd
	// unchanged: 0
	// updated etc/app/app.conf
	// updated etc/motd
	// unchanged: 0
	// -rw-r-----
	// [db]
	// host = 10.0.0.2
}

// Rendered templates run in parallel and executable ones in order, but
// the error reported is always that of the first failing template.
func TestApplyFirstErrorInOrder(t *testing.T) {
	for _, tt := range []struct {
		files map[string]string
		want  string
	}{
		{map[string]string{"t/a": "{{#x}}{{/y}}", "t/b": "#!/bin/sh\nexit 1\n\x00x", "t/c": "{{/z}}"}, "/t/a"},
		{map[string]string{"t/a": "#!/bin/sh\nexit 1\n\x00x", "t/b": "{{#x}}{{/y}}"}, "/t/a"},
		{map[string]string{"t/a": "ok", "t/b": "x", "t/b.oac": "mode: 9999", "t/c": "{{/z}}"}, "/t/b.oac"},
	} {
		dir := t.TempDir()
		tree(t, dir, tt.files)
		_, err := Apply(t.Context(), NewObject(), &ApplyOptions{TemplatesDir: filepath.Join(dir, "t"), OutputDir: filepath.Join(dir, "o"), NoSync: true})
		if err == nil || !strings.Contains(err.Error(), dir+tt.want) || strings.Contains(err.Error(), dir+"/t/c") {
			t.Errorf("error %v, want one about %s", err, tt.want)
		}
	}
}

// An executable template runs by its path as given, relative to the
// working directory, as in the original (its $0 shows it); a bare name is
// never looked up in $PATH.
func TestRunExecutableRelative(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"sub/zero": "#!/bin/sh\nprintf '%s' \"$0\"\n\x00x", "bin/zero": "#!/bin/sh\necho from PATH\n\x00x"})
	t.Chdir(dir)
	for path, want := range map[string]string{"sub/zero": "sub/zero", "./sub/zero": "./sub/zero"} {
		out, err := RunExecutable(t.Context(), path, nil, nil, 0)
		if err != nil || string(out) != want {
			t.Errorf("%s: %q %v, want %q", path, out, err, want)
		}
	}
	t.Chdir(filepath.Join(dir, "sub"))
	t.Setenv("PATH", filepath.Join(dir, "bin"))
	if out, err := RunExecutable(t.Context(), "zero", nil, nil, 0); err != nil || string(out) != "./zero" {
		t.Errorf("bare name: %q %v", out, err)
	}
}

// BenchmarkApply times Apply alone on 1,000 small templates in 20
// directories (the peer notes' small-1000 shape): into a fresh output tree
// with and without fsync, and again over an output tree that is already
// up to date, which is what a node does on most runs.
//
//	go test -run '^$' -bench Apply -benchtime 10x ./config
func BenchmarkApply(b *testing.B) {
	dir := b.TempDir()
	tdir := filepath.Join(dir, "t")
	for d := range 20 {
		if err := os.MkdirAll(filepath.Join(tdir, fmt.Sprint("dir", d)), 0o755); err != nil {
			b.Fatal(err)
		}
		for i := range 50 {
			p := filepath.Join(tdir, fmt.Sprint("dir", d), fmt.Sprint("file", i, ".conf"))
			if err := os.WriteFile(p, []byte("[s]\nname = {{name}}\nport = {{port}}\n{{#l}}{{.}},{{/l}}\n"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	md, err := DecodeJSON([]byte(`{"name": "node", "port": 8080, "l": [1, 2, 3]}`))
	if err != nil {
		b.Fatal(err)
	}
	fresh := func(b *testing.B, noSync bool) {
		n := 0
		for b.Loop() {
			n++
			out := filepath.Join(dir, fmt.Sprint("o", noSync, n))
			res, err := Apply(b.Context(), md, &ApplyOptions{TemplatesDir: tdir, OutputDir: out, NoSync: noSync})
			if err != nil || len(res.Changes) != 1000 {
				b.Fatal(err)
			}
			b.StopTimer()
			os.RemoveAll(out)
			b.StartTimer()
		}
	}
	b.Run("fresh", func(b *testing.B) { fresh(b, false) })
	b.Run("fresh-nosync", func(b *testing.B) { fresh(b, true) })
	b.Run("unchanged", func(b *testing.B) {
		out := filepath.Join(dir, "same")
		if _, err := Apply(b.Context(), md, &ApplyOptions{TemplatesDir: tdir, OutputDir: out}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			res, err := Apply(b.Context(), md, &ApplyOptions{TemplatesDir: tdir, OutputDir: out})
			if err != nil || len(res.Unchanged) != 1000 {
				b.Fatal(err)
			}
		}
	})
}

type fakeRenderer struct {
	err        error
	prepareErr error
	prepared   *int
}

func (f fakeRenderer) Render(name string, src []byte, data any) ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	return append([]byte(name[strings.LastIndexByte(name, '/')+1:]+":"), src...), nil
}

func (f fakeRenderer) PrepareData(data any) (any, error) {
	*f.prepared++
	return data, f.prepareErr
}

// Apply works with any Renderer: plain errors get the template's name,
// a *TemplateError passes through, DataPreparer runs once per Apply.
func TestApplyCustomRenderer(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"t/a": "1", "t/b/c": "2"})
	opts := func(r Renderer) *ApplyOptions {
		return &ApplyOptions{TemplatesDir: filepath.Join(dir, "t"), OutputDir: filepath.Join(dir, "o"), Renderer: r, NoSync: true}
	}
	n := 0
	if _, err := Apply(t.Context(), nil, opts(fakeRenderer{prepared: &n})); err != nil || n != 1 {
		t.Fatalf("%v, prepared %d times", err, n)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "o/b/c")); string(b) != "c:2" {
		t.Errorf("rendered %q", b)
	}
	plain := errors.New("boom")
	_, err := Apply(t.Context(), nil, opts(fakeRenderer{prepared: &n, err: plain}))
	var te *TemplateError
	if !errors.As(err, &te) || te.File != filepath.Join(dir, "t/a") || !errors.Is(err, plain) {
		t.Errorf("plain error: %v", err)
	}
	own := &TemplateError{File: "mine", Line: 7, Err: plain}
	if _, err := Apply(t.Context(), nil, opts(fakeRenderer{prepared: &n, err: own})); err != own {
		t.Errorf("template error: %v", err)
	}
	if _, err := Apply(t.Context(), nil, opts(fakeRenderer{prepared: &n, prepareErr: plain})); !errors.Is(err, plain) {
		t.Errorf("prepare error: %v", err)
	}
}

// Every durability mode writes the same tree and change set: only when the
// data reaches the disk differs (which a test cannot observe without
// cutting the power).
func TestApplySyncModes(t *testing.T) {
	modes := map[string]ApplyOptions{
		"syncfs":    {},
		"each file": {SyncEachFile: true},
		"none":      {NoSync: true},
	}
	var first []string
	for _, name := range slices.Sorted(maps.Keys(modes)) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			tree(t, dir, map[string]string{
				"t/etc/a.conf": "a={{a}}\n", "t/etc/sub/b": "b", "t/c": "{{#l}}{{.}}{{/l}}",
				"o/c": "old", "o/etc/a.conf": "a=1\n",
			})
			o := modes[name]
			o.TemplatesDir, o.OutputDir = filepath.Join(dir, "t"), filepath.Join(dir, "o")
			res, err := Apply(t.Context(), metadata(t, `{"a": 1, "l": [1, 2]}`), &o)
			if err != nil {
				t.Fatal(err)
			}
			got := changeList(res, o.OutputDir)
			got = append(got, listTree(t, o.OutputDir)...)
			if first == nil {
				first = got
			} else if !slices.Equal(got, first) {
				t.Errorf("got\n%q\nwant (as the first mode)\n%q", got, first)
			}
		})
	}
}

func TestCompareConcat(t *testing.T) {
	for _, s := range []string{"", "a", "a.oac", "a.oa", "a.oacx", "a-b", "a/b", "b", "a.oab", "a.oad"} {
		for _, a := range []string{"", "a", "a.", "ab"} {
			for _, b := range []string{"", ".oac", "c"} {
				if got, want := compareConcat(s, a, b), strings.Compare(s, a+b); got < 0 != (want < 0) || got > 0 != (want > 0) {
					t.Errorf("compareConcat(%q, %q, %q) = %d, want the sign of %d", s, a, b, got, want)
				}
			}
		}
	}
}

func TestJoinClean(t *testing.T) {
	for _, root := range []string{"/", "/o", "/a/b"} {
		for _, rel := range []string{"x", "a/b", "a//b", "a/./b", "a/../b", ".", "..x/y", "x.", "a/b/", "./a", "...", "a/.."} {
			if got, want := joinClean(root, rel), filepath.Join(root, rel); got != want {
				t.Errorf("joinClean(%q, %q) = %q, want %q", root, rel, got, want)
			}
		}
	}
}

// dirCache gives what resolveDir gives, for directories that exist, are
// missing, lie under a missing one, go through symlinks (inside and out of
// the root), or under a file.
func TestDirCacheSameAsResolveDir(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{
		"o/a/b/keep": "k", "o/file": "f", "o/link": "->a", "o/abs": "->" + filepath.Join(dir, "elsewhere"),
		"elsewhere/x/keep": "k", "o/dangling": "->nowhere", "o/a/loop": "->loop",
	})
	root := filepath.Join(dir, "o")
	dirs := []string{
		root, root + "/a", root + "/a/b", root + "/a/b/c", root + "/a/b/c/d", root + "/new", root + "/new/x/y",
		root + "/link", root + "/link/b", root + "/link/new/z", root + "/abs", root + "/abs/x", root + "/abs/new/q",
		root + "/file/sub", root + "/file/sub/deeper", root + "/dangling/x", root + "/a/loop/x",
	}
	for _, order := range [][]string{dirs, reversed(dirs)} {
		c := dirCache{root: root, m: map[string]parentDir{}}
		for _, d := range order {
			got, gerr := c.resolve(d)
			real, exists, werr := resolveDir(d)
			if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
				t.Errorf("%s: error %v, resolveDir's %v", d, gerr, werr)
				continue
			}
			if gerr == nil && (got.real != real || got.exists != exists) {
				t.Errorf("%s: %+v, resolveDir gives %s %v", d, got, real, exists)
			}
		}
	}
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

func TestCompareWalkOrder(t *testing.T) {
	// The order a depth-first walk of sorted listings meets directories.
	walk := []string{"", "a", "a/b", "a/b/c", "a/c", "a-b", "a.b", "a.b/x", "b", "b/a"}
	for i, x := range walk {
		for j, y := range walk {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := compareWalkOrder(x, y); got != want {
				t.Errorf("compareWalkOrder(%q, %q) = %d, want %d", x, y, got, want)
			}
		}
	}
}

// A templates directory that cannot be listed is an error, and of several
// the one a walk in order meets first: here two branches deeper than
// PATH_MAX, whose paths cannot be opened; "b", of longer names, fails
// nearer the root, but a walk in order meets "a"'s failure first.
func TestFindTemplatesFirstUnreadable(t *testing.T) {
	dir := t.TempDir()
	for branch, nameLen := range map[string]int{"a": 200, "b": 250} {
		r, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		name := branch
		for range 4300/nameLen + 2 {
			if err := r.Mkdir(name, 0o755); err != nil {
				t.Fatal(err)
			}
			next, err := r.OpenRoot(name)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			r, name = next, strings.Repeat("d", nameLen)
		}
		r.Close()
	}
	_, err := FindTemplates(dir)
	if !errors.Is(err, syscall.ENAMETOOLONG) || !strings.Contains(err.Error(), "read templates directory: open "+dir+"/a/") {
		t.Fatalf("error %v, want the branch a's ENAMETOOLONG", err)
	}
}

// Templates are read into a buffer reused from one to the next: what the
// renderer keeps beyond a template (here the compiled delimiter patterns,
// keyed by the delimiters) must not point into it.
func TestApplyReusedSourceBuffer(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	want := map[string]string{}
	sets := [][2]string{{"<%", "%>"}, {"[[", "]]"}, {"<%%", "%%>"}, {"((", "))"}}
	for i := range 64 {
		d := sets[i%len(sets)]
		name := fmt.Sprintf("t/f%02d", i)
		files[name] = fmt.Sprintf("{{=%s %s=}}%d %sa%s %sb.c%s\n", d[0], d[1], i, d[0], d[1], d[0], d[1])
		want[fmt.Sprintf("f%02d", i)] = fmt.Sprintf("%d x y\n", i)
	}
	tree(t, dir, files)
	md := metadata(t, `{"a": "x", "b": {"c": "y"}}`)
	for range 3 {
		out := t.TempDir()
		if _, err := Apply(t.Context(), md, &ApplyOptions{TemplatesDir: filepath.Join(dir, "t"), OutputDir: out, NoSync: true}); err != nil {
			t.Fatal(err)
		}
		for name, w := range want {
			if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != w {
				t.Errorf("%s: %q %v, want %q", name, b, err, w)
			}
		}
	}
}
