package image

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/internal/peertest"
)

const nonrootEnv = "TRIPLEO_IMAGE_NONROOT_HELPER"

// TestNonRootDirSource builds a directory source owned by root (with a
// foreign owner, a setuid file and a device node) as the unprivileged
// user nobody, in a child process, and checks the image keeps the
// source's owners, modes and device node.
func TestNonRootDirSource(t *testing.T) {
	if os.Getenv(nonrootEnv) != "" {
		t.Skip("helper process")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to set up a root-owned source and switch to nobody")
	}
	peertest.Look(t, "mkfs.ext4", "debugfs")
	base, err := os.MkdirTemp("", "tripleo-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	// The source, staged as root.
	st := newStaging(filepath.Join(base, "src"))
	os.Mkdir(st.Dir, 0o755)
	mt := time.Unix(1600000000, 0)
	tree := NewTree(
		Entry{Path: "etc/hostname", Mode: 0o644, Data: []byte("x\n"), ModTime: mt},
		Entry{Path: "etc/shadow", Mode: 0o640, GID: 42, Data: []byte("root:*:1::::::\n"), ModTime: mt},
		Entry{Path: "usr/bin/su", Mode: 0o755 | fs.ModeSetuid, Data: []byte("su"), ModTime: mt},
		Entry{Path: "home/u/f", Mode: 0o600, UID: 1000, GID: 1000, Data: []byte("u"), ModTime: mt},
		Entry{Path: "dev/null", Mode: fs.ModeDevice | fs.ModeCharDevice | 0o666, Major: 1, Minor: 3, ModTime: mt},
	)
	if err := tree.Populate(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	// A build user must be able to read every file: make the two private
	// ones readable, keeping their owners.
	os.Chmod(filepath.Join(st.Dir, "etc/shadow"), 0o644)
	os.Chmod(filepath.Join(st.Dir, "home/u/f"), 0o644)
	out := filepath.Join(base, "out")
	os.Mkdir(out, 0o755)
	os.Chown(out, 65534, 65534)
	exe, _ := os.Executable()
	bin := filepath.Join(base, "image.test")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bin, b, 0o755)
	cmd := exec.CommandContext(t.Context(), bin, "-test.run=^TestNonRootHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), nonrootEnv+"="+st.Dir+":"+out, "HOME="+out)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if o, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper as nobody: %v\n%s", err, o)
	}
	m, err := ReadManifest(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	a := &Artifact{Dir: out, Raw: "nonroot.raw", Manifest: m}
	verifyImage(t, a)
	got := readExt4(t, a.Path(a.Raw), m.Disk.Partitions[1].Start)
	for p, want := range map[string][3]int{
		"etc/hostname": {0o100644, 0, 0}, "etc/shadow": {0o100644, 0, 42}, "usr/bin/su": {0o104755, 0, 0},
		"home/u/f": {0o100644, 1000, 1000}, "dev/null": {0o20666, 0, 0}, "home/u": {0o40755, 0, 0},
	} {
		g := got[p]
		if int(g.mode) != want[0] || g.uid != want[1] || g.gid != want[2] {
			t.Errorf("%s: %o %d:%d, want %o %d:%d", p, g.mode, g.uid, g.gid, want[0], want[1], want[2])
		}
	}
}

// TestNonRootHelper is the child of TestNonRootDirSource.
func TestNonRootHelper(t *testing.T) {
	v := os.Getenv(nonrootEnv)
	if v == "" {
		t.Skip("run by TestNonRootDirSource")
	}
	var src, out string
	for i := range v {
		if v[i] == ':' {
			src, out = v[:i], v[i+1:]
		}
	}
	if os.Geteuid() == 0 {
		t.Fatal("helper runs as root")
	}
	spec := smallSpec("nonroot")
	spec.Outputs = Outputs{}
	spec.Layout.Partitions = nil
	if _, err := Build(context.Background(), spec, DirSource{Path: src}, out, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		t.Fatal(err)
	}
}
