package image

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diskfs/go-diskfs/filesystem/fat32"
	"github.com/tripleo-go/tripleo/internal/peertest"
)

// synthTree is a root tree with the awkward cases: symlinks, hard links,
// a device node, a 3,000-entry directory, long names, a sparse file,
// setuid, foreign owners and an xattr.
func synthTree() *Tree {
	mt := time.Unix(1600000000, 0)
	t := NewTree(
		Entry{Path: "etc", Mode: fs.ModeDir | 0o755, ModTime: mt},
		Entry{Path: "etc/hostname", Mode: 0o644, Data: []byte("golden\n"), ModTime: mt},
		Entry{Path: "etc/machine-id", Mode: 0o444, Data: []byte("0123456789abcdef0123456789abcdef\n"), ModTime: mt},
		Entry{Path: "etc/ssh/ssh_host_ed25519_key", Mode: 0o600, Data: []byte("secret"), ModTime: mt},
		Entry{Path: "var/log/syslog", Mode: 0o640, UID: 0, GID: 4, Data: []byte("log"), ModTime: mt},
		Entry{Path: "usr/bin/tool", Mode: 0o755 | fs.ModeSetuid, Data: []byte("#!/bin/sh\necho tool\n"), ModTime: mt},
		Entry{Path: "usr/bin/tool-link", HardLink: "usr/bin/tool"},
		Entry{Path: "usr/bin/sh", Mode: fs.ModeSymlink | 0o777, Target: "tool", ModTime: mt},
		Entry{Path: "home/user/notes.txt", Mode: 0o600, UID: 1000, GID: 1000, Data: []byte("mine"), ModTime: mt},
		Entry{Path: "dev/null", Mode: fs.ModeDevice | fs.ModeCharDevice | 0o666, Major: 1, Minor: 3, ModTime: mt},
		Entry{Path: "var/lib/sparse.img", Mode: 0o644, Data: []byte("head"), Size: 8 << 20, ModTime: mt},
		Entry{Path: "opt/" + strings.Repeat("n", 255), Mode: 0o644, Data: []byte("long"), ModTime: mt},
		Entry{Path: "opt/xattr", Mode: 0o644, Data: []byte("x"), Xattrs: map[string]string{"user.tripleo": "yes"}, ModTime: mt},
		Entry{Path: "boot/efi", Mode: fs.ModeDir | 0o700, ModTime: mt},
		Entry{Path: "boot/efi/EFI/BOOT/BOOTX64.EFI", Mode: 0o644, Data: bytes.Repeat([]byte("efi"), 5000), ModTime: mt},
		Entry{Path: "boot/efi/EFI/tripleo/a-rather-long-file-name.conf", Mode: 0o644, Data: []byte("x"), ModTime: mt},
		Entry{Path: "boot/efi/vmlinuz-test", Mode: 0o644, Data: []byte("kernel"), ModTime: mt},
		Entry{Path: "marker", Mode: 0o644, Data: []byte("TRIPLEO-ROOT-OK\n"), ModTime: mt},
	)
	for i := range 3000 {
		t.Add(Entry{Path: fmt.Sprintf("big/file-%04d", i), Mode: 0o644, Data: []byte(strconv.Itoa(i)), ModTime: mt})
	}
	return t
}

func smallSpec(name string) *Spec {
	return &Spec{Name: name, Version: "1", SourceDateEpoch: 1700000000, Seed: "test-seed",
		Layout: Layout{DiskSize: 128 * MiB, ESPSize: 40 * MiB,
			Partitions: []Partition{{Name: "state", Size: 16 * MiB, Filesystem: "ext4", Keep: true}}},
		Outputs: Outputs{Qcow2: true, Tar: true}}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// extract copies [off, off+size) of src into a new temporary file.
func extract(t *testing.T, src string, off, size int64) string {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst := filepath.Join(t.TempDir(), "part.img")
	o, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if _, err := io.Copy(o, io.NewSectionReader(f, off, size)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// verifyImage checks a built image with the real tools.
func verifyImage(t *testing.T, a *Artifact) {
	t.Helper()
	tools := peertest.Look(t, "sgdisk", "sfdisk", "fsck.vfat", "e2fsck")
	raw := a.Path(a.Raw)
	if out := run(t, tools[0], "-v", raw); !strings.Contains(out, "No problems found") {
		t.Errorf("sgdisk -v: %s", out)
	}
	run(t, tools[1], "--verify", raw)
	for _, p := range a.Manifest.Disk.Partitions {
		switch p.Filesystem {
		case "vfat":
			esp := extract(t, raw, p.Start, p.Size)
			run(t, tools[2], "-n", esp)
		case "ext4":
			run(t, tools[3], "-fn", fmt.Sprintf("%s?offset=%d", raw, p.Start))
		}
	}
}

type fsEntry struct {
	mode     uint32
	uid, gid int
	size     int64
	target   string
	data     []byte
}

// readExt4 lists every entry of the ext4 filesystem at off with debugfs
// (recursively through "ls -p") and dumps the regular files' content.
func readExt4(t *testing.T, raw string, off int64) map[string]fsEntry {
	t.Helper()
	debugfs := peertest.Look(t, "debugfs")[0]
	dev := fmt.Sprintf("%s?offset=%d", raw, off)
	out := map[string]fsEntry{}
	queue := []string{""}
	for len(queue) > 0 {
		// batch every pending directory in one debugfs run
		var script bytes.Buffer
		dirs := queue
		queue = nil
		for _, d := range dirs {
			fmt.Fprintf(&script, "ls -p \"/%s\"\n", d)
		}
		cmd := exec.CommandContext(t.Context(), debugfs, "-f", "-", dev)
		cmd.Stdin = &script
		res, err := cmd.Output()
		if err != nil {
			t.Fatalf("debugfs: %v", err)
		}
		cur := -1
		for _, l := range strings.Split(string(res), "\n") {
			if strings.HasPrefix(l, "debugfs:") {
				cur++
				continue
			}
			f := strings.Split(l, "/")
			if len(f) < 7 || cur < 0 {
				continue
			}
			name := f[5]
			if name == "." || name == ".." || (dirs[cur] == "" && name == "lost+found") {
				continue
			}
			mode, _ := strconv.ParseUint(f[2], 8, 32)
			uid, _ := strconv.Atoi(f[3])
			gid, _ := strconv.Atoi(f[4])
			size, _ := strconv.ParseInt(f[6], 10, 64)
			p := strings.TrimPrefix(dirs[cur]+"/"+name, "/")
			out[p] = fsEntry{mode: uint32(mode), uid: uid, gid: gid, size: size}
			if mode&0o170000 == 0o040000 {
				queue = append(queue, p)
			}
		}
	}
	dump := t.TempDir()
	run(t, debugfs, "-R", "rdump / "+dump, dev)
	for p, e := range out {
		hp := filepath.Join(dump, filepath.FromSlash(p))
		switch e.mode & 0o170000 {
		case 0o100000:
			e.data, _ = os.ReadFile(hp)
		case 0o120000:
			e.target, _ = os.Readlink(hp)
		}
		out[p] = e
	}
	return out
}

// readStaged lists a directory tree the same way, applying fixups.
func readStaged(t *testing.T, dir string, fixups []Fixup) map[string]fsEntry {
	t.Helper()
	out := map[string]fsEntry{}
	filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		var e fsEntry
		fi, _ := os.Lstat(p)
		st := statT(fi)
		e.mode, e.uid, e.gid, e.size = st.Mode, int(st.Uid), int(st.Gid), fi.Size()
		switch {
		case fi.Mode().IsRegular():
			e.data, _ = os.ReadFile(p)
		case fi.Mode()&fs.ModeSymlink != 0:
			e.target, _ = os.Readlink(p)
		case fi.IsDir():
			e.size = 0
		}
		out[filepath.ToSlash(rel)] = e
		return nil
	})
	for _, f := range fixups {
		e := out[f.Path]
		e.uid, e.gid = f.UID, f.GID
		if f.Mode != 0 {
			e.mode = f.Mode
		}
		if f.Dev != nil {
			e.data = nil
		}
		out[f.Path] = e
	}
	return out
}

func compareTrees(t *testing.T, want, got map[string]fsEntry) {
	t.Helper()
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			t.Errorf("%s: missing from the image", p)
			continue
		}
		if g.mode != w.mode || g.uid != w.uid || g.gid != w.gid {
			t.Errorf("%s: mode/uid/gid %o/%d/%d, want %o/%d/%d", p, g.mode, g.uid, g.gid, w.mode, w.uid, w.gid)
		}
		if w.mode&0o170000 == 0o100000 && !bytes.Equal(g.data, w.data) {
			t.Errorf("%s: content differs (%d vs %d bytes)", p, len(g.data), len(w.data))
		}
		if g.target != w.target {
			t.Errorf("%s: symlink -> %q, want %q", p, g.target, w.target)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: in the image but not in the tree", p)
		}
	}
}

func buildT(t *testing.T, spec *Spec, src Source, opts *Options) *Artifact {
	t.Helper()
	a, err := Build(context.WithoutCancel(t.Context()), spec, src, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// readESP reads every file of the image's ESP back with go-diskfs.
func readESP(t *testing.T, a *Artifact) map[string]string {
	t.Helper()
	p := a.Manifest.Disk.Partitions[0]
	f, err := os.Open(a.Path(a.Raw))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	efs, err := fat32.Read(&fileBackend{f}, espFSSize(p.Size), p.Start, sector)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(dir string)
	walk = func(dir string) {
		ents, err := efs.ReadDir(dir)
		if err != nil {
			t.Fatalf("ESP %s: %v", dir, err)
		}
		for _, e := range ents {
			p := e.Name()
			if dir != "." {
				p = dir + "/" + e.Name()
			}
			if e.IsDir() {
				walk(p)
				continue
			}
			b, err := efs.ReadFile(p)
			if err != nil {
				t.Fatalf("ESP %s: %v", p, err)
			}
			out["/"+p] = string(b)
		}
	}
	walk(".")
	return out
}

var (
	synthOnce sync.Once
	synthArt  *Artifact
	synthErr  error
	sharedDir string
)

// synthArtifact is the synthetic tree built once with smallSpec("golden")
// and shared by the tests that only read it.
func synthArtifact(t *testing.T) *Artifact {
	t.Helper()
	synthOnce.Do(func() {
		sharedDir, synthErr = os.MkdirTemp("", "tripleo-image-test-")
		if synthErr == nil {
			synthArt, synthErr = Build(context.Background(), smallSpec("golden"), synthTree(), sharedDir, nil)
		}
	})
	if synthErr != nil {
		t.Fatal(synthErr)
	}
	return synthArt
}

var (
	synthReadOnce sync.Once
	synthRead     map[string]fsEntry
)

// synthContent is readExt4 of synthArtifact's root, read once.
func synthContent(t *testing.T) map[string]fsEntry {
	t.Helper()
	a := synthArtifact(t)
	synthReadOnce.Do(func() { synthRead = readExt4(t, a.Path(a.Raw), a.Manifest.Disk.Partitions[1].Start) })
	if synthRead == nil {
		t.Fatal("reading the shared image failed")
	}
	return synthRead
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}
