package image

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/internal/peertest"
)

// plainTree is what every writer can hold: no hard links, device nodes
// or xattrs.
func plainTree() *Tree {
	mt := time.Unix(1600000000, 0)
	t := NewTree(
		Entry{Path: "etc/hostname", Mode: 0o644, Data: []byte("plain\n"), ModTime: mt},
		Entry{Path: "usr/bin/sh", Mode: fs.ModeSymlink | 0o777, Target: "busybox", ModTime: mt},
		Entry{Path: "usr/bin/busybox", Mode: 0o755, Data: []byte("#!"), ModTime: mt},
		Entry{Path: "home/u/f", Mode: 0o600, UID: 1000, GID: 1000, Data: []byte("u"), ModTime: mt},
	)
	for i := range 50 {
		t.Add(Entry{Path: fmt.Sprintf("d/f%02d", i), Mode: 0o644, Data: []byte(strings.Repeat("x", i*100)), ModTime: mt})
	}
	return t
}

func TestSquashfsRoot(t *testing.T) {
	unsq := peertest.Look(t, "mksquashfs", "unsquashfs")[1]
	spec := smallSpec("sq")
	spec.Layout.RootFS = FSSquashfs
	a := buildT(t, spec, plainTree(), nil)
	verifyImage(t, a)
	root := a.Manifest.Disk.Partitions[1]
	img := extract(t, a.Path(a.Raw), root.Start, root.Size)
	out := run(t, unsq, "-lln", "-n", img)
	for _, want := range []string{"1000/1000", "squashfs-root/etc/hostname", "squashfs-root/usr/bin/sh -> busybox", "squashfs-root/d/f49"} {
		if !strings.Contains(out, want) {
			t.Errorf("unsquashfs listing lacks %q:\n%s", want, out)
		}
	}
	b := buildT(t, spec, plainTree(), nil)
	if a.Digest != b.Digest {
		t.Errorf("squashfs image not reproducible: %s vs %s", a.Digest, b.Digest)
	}
}

func TestExt4GoFallback(t *testing.T) {
	spec := smallSpec("go")
	spec.Layout.RootFS = FSExt4Go
	spec.Layout.Partitions = nil
	a := buildT(t, spec, plainTree(), nil)
	root := a.Manifest.Disk.Partitions[1]
	run(t, peertest.Look(t, "e2fsck")[0], "-fn", fmt.Sprintf("%s?offset=%d", a.Path(a.Raw), root.Start))
	got := readExt4(t, a.Path(a.Raw), root.Start)
	if string(got["etc/hostname"].data) != "plain\n" || got["usr/bin/sh"].target != "busybox" || got["home/u/f"].uid != 1000 {
		t.Errorf("go-diskfs ext4 content: %+v", got["etc/hostname"])
	}
	// The fallback refuses what it cannot represent.
	bad := plainTree()
	bad.Add(Entry{Path: "usr/bin/ash", HardLink: "usr/bin/busybox"})
	if _, err := Build(t.Context(), spec, bad, t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "not supported by the go-diskfs ext4 writer") {
		t.Errorf("hard links/devices accepted: %v", err)
	}
}

func TestMissingToolIsClear(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	out := t.TempDir()
	_, err := Build(t.Context(), smallSpec("notool"), plainTree(), out, nil)
	if !errors.Is(err, ErrToolMissing) || !strings.Contains(err.Error(), "mkfs.ext4") || !strings.Contains(err.Error(), "e2fsprogs") {
		t.Errorf("missing mkfs.ext4: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "*")); len(m) != 0 {
		t.Errorf("failed build left %v", m)
	}
}
