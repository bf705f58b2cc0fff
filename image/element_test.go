package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/klauspost/compress/zstd"
	"github.com/tripleo-go/tripleo/internal/peertest"
)

func el(name string, deps, provides []string) *Element {
	return &Element{Name: name, Deps: deps, Provides: provides}
}

func names(es []*Element) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

func TestResolveElements(t *testing.T) {
	set := []*Element{
		el("base", nil, nil),
		el("node-agent", []string{"base", "os-config"}, nil),
		el("oac", []string{"base"}, []string{"os-config"}),
		el("zz", []string{"base"}, nil),
	}
	got, err := ResolveElements([]string{"zz", "node-agent"}, set)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"base", "oac", "node-agent", "zz"}; !reflect.DeepEqual(names(got), want) {
		t.Errorf("order %v, want %v", names(got), want)
	}
	cyc := []*Element{el("a", []string{"b"}, nil), el("b", []string{"c"}, nil), el("c", []string{"a"}, nil)}
	_, err = ResolveElements([]string{"a"}, cyc)
	var ce *CycleError
	if !errors.As(err, &ce) || !reflect.DeepEqual(ce.Path, []string{"a", "b", "c", "a"}) {
		t.Errorf("cycle: %v", err)
	}
	conf := []*Element{el("x", nil, []string{"bootloader"}), el("y", nil, []string{"bootloader"})}
	_, err = ResolveElements([]string{"x", "y"}, conf)
	var cf *ConflictError
	if !errors.As(err, &cf) || cf.Elements != [2]string{"x", "y"} || cf.Capability != "bootloader" {
		t.Errorf("conflict: %v", err)
	}
	if _, err := ResolveElements([]string{"nope"}, set); !errors.Is(err, ErrUnknownElement) {
		t.Errorf("unknown: %v", err)
	}
}

func TestElementsInBuild(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "agent", "static", "etc", "os-apply-config"), 0o755)
	os.MkdirAll(filepath.Join(dir, "agent", "install.d"), 0o755)
	os.WriteFile(filepath.Join(dir, "agent", "element-deps"), []byte("base\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "agent", "package-installs"), []byte("os-refresh-config # the agent\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "agent", "static", "etc", "os-apply-config", "t.conf"), []byte("{{x}}\n"), 0o644)
	// install.d runs inside the image (chroot, with the image's /bin/sh),
	// extra-data.d on the host with TARGET_ROOT.
	os.WriteFile(filepath.Join(dir, "agent", "install.d", "10-touch"), []byte("#!/bin/sh\nset -e\n[ \"$TARGET_ROOT\" = / ]\necho \"$GREETING\" > /etc/greeting\n"), 0o755)
	os.MkdirAll(filepath.Join(dir, "agent", "extra-data.d"), 0o755)
	os.WriteFile(filepath.Join(dir, "agent", "extra-data.d", "10-host"), []byte("#!/bin/sh\nset -e\nmkdir -p \"$TARGET_ROOT/etc\"\necho host > \"$TARGET_ROOT/etc/extra\"\n"), 0o755)
	agent, err := LoadElement(filepath.Join(dir, "agent"))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	base := &Element{Name: "base", Env: []EnvVar{{Name: "GREETING", Value: "hello"}}, Packages: []string{"systemd"},
		Overlay: fstest.MapFS{"etc/motd": {Data: []byte("golden\n"), Mode: 0o644}},
		Hooks: []Hook{{Phase: HookCleanup, Name: "90-check", Run: func(ctx context.Context, hc *HookContext) error {
			order = append(order, "cleanup")
			_, err := os.Stat(filepath.Join(hc.Root, "etc", "greeting"))
			return err
		}}, {Phase: HookPreInstall, Name: "01-first", Run: func(ctx context.Context, hc *HookContext) error {
			order = append(order, "pre-install")
			return nil
		}}}}
	spec := smallSpec("el")
	spec.Elements = []string{"agent"}
	var events []Event
	busybox, err := os.ReadFile(peertest.Look(t, "busybox")[0])
	if err != nil {
		t.Fatal(err)
	}
	a := buildT(t, spec, NewTree(Entry{Path: "bin/sh", Mode: 0o755, Data: busybox}), &Options{Elements: []*Element{base, agent}, Progress: func(e Event) { events = append(events, e) }})
	verifyImage(t, a)
	if !reflect.DeepEqual(order, []string{"pre-install", "cleanup"}) {
		t.Errorf("hook order %v", order)
	}
	got := readExt4(t, a.Path(a.Raw), a.Manifest.Disk.Partitions[1].Start)
	if string(got["etc/greeting"].data) != "hello\n" || string(got["etc/extra"].data) != "host\n" || string(got["etc/motd"].data) != "golden\n" || string(got["etc/os-apply-config/t.conf"].data) != "{{x}}\n" {
		t.Errorf("element output missing: %+v", got)
	}
	if !reflect.DeepEqual(a.Manifest.Packages, []string{"os-refresh-config", "systemd"}) || len(a.Manifest.Elements) != 2 || a.Manifest.Elements[1].Name != "agent" {
		t.Errorf("manifest elements %+v packages %v", a.Manifest.Elements, a.Manifest.Packages)
	}
	if len(events) == 0 || events[len(events)-1].Phase != PhaseDone {
		t.Errorf("events %v", events)
	}
	// A failing hook names the element and the hook.
	bad := &Element{Name: "broken", Hooks: []Hook{{Phase: HookInstall, Name: "50-fail", Run: func(context.Context, *HookContext) error { return errors.New("boom") }}}}
	spec.Elements = []string{"broken"}
	_, err = Build(t.Context(), spec, NewTree(), t.TempDir(), &Options{Elements: []*Element{bad}})
	var be *BuildError
	if !errors.As(err, &be) || be.Subject != "element broken hook install.d/50-fail" {
		t.Errorf("hook failure: %v", err)
	}
}

func FuzzParseElement(f *testing.F) {
	f.Add([]byte("name: x\ndeps: [a, b]\nprovides: [c]\nenv: [{name: N, type: int, value: \"3\"}]\npackages: [vim]\n"))
	f.Add([]byte("name: y\nenv: [{name: B, type: bool, value: maybe}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseElement(b)
		if err != nil {
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SpecError", err)
			}
			return
		}
		if _, err := ResolveElements([]string{e.Name}, []*Element{e}); err != nil && !errors.Is(err, ErrUnknownElement) {
			var ce *CycleError
			if !errors.As(err, &ce) {
				t.Fatalf("resolve: %v", err)
			}
		}
	})
}

func TestTarSources(t *testing.T) {
	var plain bytes.Buffer
	tw := tar.NewWriter(&plain)
	tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "etc/owned", Typeflag: tar.TypeReg, Mode: 0o640, Uid: 33, Gid: 33, Size: 2})
	tw.Write([]byte("ok"))
	tw.WriteHeader(&tar.Header{Name: "etc/link", Typeflag: tar.TypeLink, Linkname: "etc/owned"})
	tw.WriteHeader(&tar.Header{Name: "etc/sym", Typeflag: tar.TypeSymlink, Linkname: "owned"})
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain.Bytes())
	zw.Close()
	var zs bytes.Buffer
	ze, _ := zstd.NewWriter(&zs)
	ze.Write(plain.Bytes())
	ze.Close()
	for name, data := range map[string][]byte{"root.tar": plain.Bytes(), "root.tar.gz": gz.Bytes(), "root.tar.zst": zs.Bytes()} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), name)
			os.WriteFile(p, data, 0o644)
			st := newStaging(t.TempDir())
			if err := (TarSource{Path: p}).Populate(t.Context(), st); err != nil {
				t.Fatal(err)
			}
			got := readStaged(t, st.Dir, st.Fixups())
			if e := got["etc/owned"]; string(e.data) != "ok" || e.uid != 33 || e.gid != 33 || e.mode&0o7777 != 0o640 {
				t.Errorf("etc/owned = %+v", e)
			}
			if got["etc/sym"].target != "owned" || string(got["etc/link"].data) != "ok" {
				t.Errorf("links: %+v", got)
			}
		})
	}
}

// TestTarCannotEscape: entries written through a symlink, or ".."
// names, are refused and nothing lands outside the staging tree.
func TestTarCannotEscape(t *testing.T) {
	outside := t.TempDir()
	for name, entries := range map[string][]*tar.Header{
		"through symlink": {
			{Name: "etc", Typeflag: tar.TypeSymlink, Linkname: outside},
			{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		},
		"dir through symlink": {
			{Name: "x", Typeflag: tar.TypeSymlink, Linkname: outside},
			{Name: "x/sub/", Typeflag: tar.TypeDir, Mode: 0o777},
		},
		"hard link through symlink": {
			{Name: "y", Typeflag: tar.TypeSymlink, Linkname: outside},
			{Name: "z", Typeflag: tar.TypeLink, Linkname: "y/secret"},
		},
		"dot dot": {{Name: "../evil", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1}},
		"dir over symlink": {
			{Name: "w", Typeflag: tar.TypeSymlink, Linkname: outside},
			{Name: "w/", Typeflag: tar.TypeDir, Mode: 0o777},
			{Name: "w/new", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
			{Name: "v", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "v/../../evil", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		},
	} {
		t.Run(name, func(t *testing.T) {
			os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600)
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, h := range entries {
				tw.WriteHeader(h)
				if h.Size > 0 {
					tw.Write([]byte("x"))
				}
			}
			tw.Close()
			st := newStaging(t.TempDir())
			if err := populateTar(t.Context(), &buf, st); err == nil {
				t.Error("accepted")
			}
			ents, _ := os.ReadDir(outside)
			if len(ents) != 1 {
				t.Errorf("wrote outside the staging tree: %v", ents)
			}
			if fi, _ := os.Stat(outside); fi.Mode().Perm() == 0o777 {
				t.Error("changed the mode of a directory outside")
			}
		})
	}
}

func FuzzReadTar(f *testing.F) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "etc/a", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
	tw.Write([]byte("a"))
	tw.WriteHeader(&tar.Header{Name: "etc/l", Typeflag: tar.TypeLink, Linkname: "etc/a"})
	tw.Close()
	f.Add(buf.Bytes())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(buf.Bytes())
	zw.Close()
	f.Add(gz.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		// Parsing only: the fuzzer never writes files.
		_ = readTar(context.Background(), bytes.NewReader(b), func(e Entry, data io.Reader) error {
			if e.Path == "" || strings.HasPrefix(e.Path, "/") || strings.HasPrefix(e.Path, "../") || e.Path == ".." || path.Clean(e.Path) != e.Path {
				t.Fatalf("unclean path %q", e.Path)
			}
			if e.HardLink != "" && (strings.HasPrefix(e.HardLink, "/") || strings.HasPrefix(e.HardLink, "..")) {
				t.Fatalf("unclean hard link %q", e.HardLink)
			}
			if data != nil {
				io.Copy(io.Discard, io.LimitReader(data, 1<<20))
			}
			return nil
		})
	})
}

// TestSymlinkedStatePathsStayInside: exclusion rules and the ESP never
// follow a symlink out of the staging tree.
func TestSymlinkedStatePathsStayInside(t *testing.T) {
	outside := t.TempDir()
	os.MkdirAll(filepath.Join(outside, "log"), 0o755)
	os.WriteFile(filepath.Join(outside, "log", "keep"), []byte("k"), 0o644)
	os.WriteFile(filepath.Join(outside, "ssh_host_rsa_key"), []byte("k"), 0o600)
	os.WriteFile(filepath.Join(outside, "machine-id"), []byte("0123\n"), 0o644)
	tree := NewTree(
		Entry{Path: "var", Mode: fs.ModeSymlink | 0o777, Target: outside},
		Entry{Path: "etc/ssh", Mode: fs.ModeSymlink | 0o777, Target: outside},
		Entry{Path: "etc/machine-id", Mode: fs.ModeSymlink | 0o777, Target: filepath.Join(outside, "machine-id")},
	)
	st := newStaging(t.TempDir())
	if err := tree.Populate(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if _, err := excludeState(st, []string{"var/log/keep"}, false); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"log/keep", "ssh_host_rsa_key", "machine-id"} {
		if fi, err := os.Stat(filepath.Join(outside, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s outside the tree was removed or emptied: %v", f, err)
		}
	}
	spec := smallSpec("esp-link")
	spec.Outputs = Outputs{}
	_, err := Build(t.Context(), spec, NewTree(Entry{Path: "boot", Mode: fs.ModeSymlink | 0o777, Target: outside}), t.TempDir(), nil)
	var be *BuildError
	if !errors.As(err, &be) || be.Phase != PhaseESP {
		t.Errorf("boot -> outside: %v", err)
	}
}
