package image

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tripleo-go/tripleo/internal/peertest"
)

// ExtractRoot reads back the synthetic image Build wrote (hard links, a
// 3,000-entry hashed directory, a 255-byte name, a sparse file, setuid,
// foreign owners, a device node) and gives the tree debugfs sees.
func TestExtractRoot(t *testing.T) {
	a := synthArtifact(t)
	want := maps.Clone(synthContent(t)) // shared: not to be changed
	root := a.Manifest.Disk.Partitions[1]
	asRoot := os.Geteuid() == 0
	dst := filepath.Join(t.TempDir(), "root")
	res, err := ExtractRoot(t.Context(), a.Path(a.Raw), dst, &ExtractOptions{KeepOwners: asRoot})
	if err != nil {
		t.Fatal(err)
	}
	if res.Partition.Start != root.Start || res.Partition.Size != root.Size || res.Partition.GUID != root.GUID || res.Partition.Type != root.Type {
		t.Errorf("partition %+v, manifest says %+v", res.Partition, root)
	}
	if !slices.Equal(res.Skipped, []string{"dev/null"}) {
		t.Errorf("skipped %v, want [dev/null]", res.Skipped)
	}
	delete(want, "dev/null")
	if !asRoot {
		for p, e := range want {
			e.uid, e.gid = os.Getuid(), os.Getgid()
			e.mode &^= unix.S_ISUID | unix.S_ISGID
			want[p] = e
		}
	}
	got := readStaged(t, dst, nil)
	compareTrees(t, want, got)
	if res.HardLinks != 1 {
		t.Errorf("%d hard links made, want 1", res.HardLinks)
	}
	var a1, a2 unix.Stat_t
	if err := unix.Stat(filepath.Join(dst, "usr/bin/tool"), &a1); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(filepath.Join(dst, "usr/bin/tool-link"), &a2); err != nil {
		t.Fatal(err)
	}
	if a1.Ino != a2.Ino {
		t.Error("usr/bin/tool-link is not a hard link to usr/bin/tool")
	}
	var sp unix.Stat_t
	if err := unix.Stat(filepath.Join(dst, "var/lib/sparse.img"), &sp); err != nil {
		t.Fatal(err)
	}
	if sp.Size != 8<<20 || sp.Blocks*512 >= 1<<20 {
		t.Errorf("sparse.img: %d bytes in %d blocks, want 8 MiB mostly holes", sp.Size, sp.Blocks)
	}
	fi, err := os.Stat(filepath.Join(dst, "marker"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.ModTime().Unix() != 1600000000 { // synthTree's time, before the epoch
		t.Errorf("marker mtime %v, want 1600000000", fi.ModTime())
	}

	// A second extraction replaces the tree as a whole.
	if err := os.WriteFile(filepath.Join(dst, "stale"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ExtractRoot(t.Context(), a.Path(a.Raw), dst, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "stale")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale file survived a new extraction: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".root.*")); len(left) != 0 {
		t.Errorf("temporary directories left: %v", left)
	}
}

// A disk without a GPT, a missing partition name and a corrupt root
// filesystem are errors that leave the destination untouched.
func TestExtractRootErrors(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "root")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	blank := filepath.Join(dir, "blank.img")
	if err := os.WriteFile(blank, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ExtractRoot(t.Context(), blank, dst, nil); !errors.Is(err, ErrNoRoot) {
		t.Errorf("blank disk: %v, want ErrNoRoot", err)
	}
	a := synthArtifact(t)
	if _, err := ExtractRoot(t.Context(), a.Path(a.Raw), dst, &ExtractOptions{Partition: "nope"}); !errors.Is(err, ErrNoRoot) {
		t.Errorf("missing partition: %v, want ErrNoRoot", err)
	}
	// the ESP is FAT, not ext4
	if _, err := ExtractRoot(t.Context(), a.Path(a.Raw), dst, &ExtractOptions{Partition: "ESP"}); !errors.Is(err, errExt4) {
		t.Errorf("ESP as root: %v, want an ext4 error", err)
	}
	t.Run("squashfs", func(t *testing.T) {
		peertest.Look(t, "mksquashfs")
		spec := &Spec{Name: "sq", SourceDateEpoch: 1700000000,
			Layout: Layout{DiskSize: 96 * MiB, ESPSize: 40 * MiB, RootFS: FSSquashfs}}
		sq := buildT(t, spec, NewTree(Entry{Path: "etc/hostname", Mode: 0o644, Data: []byte("sq\n")}), nil)
		if _, err := ExtractRoot(t.Context(), sq.Path(sq.Raw), dst, nil); err == nil || !strings.Contains(err.Error(), "squashfs") {
			t.Errorf("squashfs root: %v, want an error naming squashfs", err)
		}
	})
	if b, err := os.ReadFile(filepath.Join(dst, "keep")); err != nil || string(b) != "x" {
		t.Errorf("destination changed by a failed extraction: %q %v", b, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".root.*")); len(left) != 0 {
		t.Errorf("temporary directories left: %v", left)
	}
}

// BenchmarkExtractRoot extracts the synthetic image's root (3,000 files
// in one directory, a sparse file, links) with ExtractRoot and, side by
// side, with the peer it replaces, debugfs rdump (e2fsprogs).
func BenchmarkExtractRoot(b *testing.B) {
	a := synthArtifact(&testing.T{})
	b.Run("ExtractRoot", func(b *testing.B) {
		dst := filepath.Join(b.TempDir(), "root")
		for b.Loop() {
			if _, err := ExtractRoot(b.Context(), a.Path(a.Raw), dst, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("debugfs-rdump", func(b *testing.B) {
		debugfs := peertest.Look(b, "debugfs")[0]
		dev := fmt.Sprintf("%s?offset=%d", a.Path(a.Raw), a.Manifest.Disk.Partitions[1].Start)
		for b.Loop() {
			dst := b.TempDir()
			if out, err := exec.CommandContext(b.Context(), debugfs, "-R", "rdump / "+dst, dev).CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	})
}

// The pure-Go writer's filesystems (go-diskfs) read back too.
func TestExtractRootExt4Go(t *testing.T) {
	tree := NewTree(Entry{Path: "etc/hostname", Mode: 0o644, Data: []byte("go\n")},
		Entry{Path: "usr/bin/tool", Mode: 0o755, Data: bytes.Repeat([]byte("tool"), 30000)},
		Entry{Path: "usr/bin/link", Mode: fs.ModeSymlink | 0o777, Target: "tool"},
		Entry{Path: "var/log", Mode: fs.ModeDir | 0o750})
	spec := &Spec{Name: "go", SourceDateEpoch: 1700000000, Layout: Layout{DiskSize: 96 * MiB, ESPSize: 40 * MiB}}
	a := buildT(t, spec, tree, &Options{RootWriter: Ext4Go{}})
	dst := filepath.Join(t.TempDir(), "root")
	if _, err := ExtractRoot(t.Context(), a.Path(a.Raw), dst, nil); err != nil {
		t.Fatal(err)
	}
	got := readStaged(t, dst, nil)
	if e := got["usr/bin/tool"]; !bytes.Equal(e.data, bytes.Repeat([]byte("tool"), 30000)) || e.mode != 0o100755 {
		t.Errorf("usr/bin/tool: mode %o, %d bytes", e.mode, len(e.data))
	}
	if e := got["usr/bin/link"]; e.target != "tool" {
		t.Errorf("usr/bin/link -> %q", e.target)
	}
	if e := got["var/log"]; e.mode != 0o40750 {
		t.Errorf("var/log: mode %o", e.mode)
	}
	if e := got["etc/hostname"]; string(e.data) != "go\n" {
		t.Errorf("etc/hostname: %q", e.data)
	}
}
