package image

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func statT(fi fs.FileInfo) *syscall.Stat_t { return fi.Sys().(*syscall.Stat_t) }

func TestBuildVerifiedAndContent(t *testing.T) {
	// Build with the staging tree kept so it can be compared.
	tree := synthTree()
	var stage string
	a := synthArtifact(t)
	verifyImage(t, a)

	// Reference: the same tree staged and excluded the way Build does.
	st := newStaging(t.TempDir())
	if err := tree.Populate(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if _, err := excludeState(st, nil, false); err != nil {
		t.Fatal(err)
	}
	if err := emptyDir(filepath.Join(st.Dir, "boot", "efi")); err != nil {
		t.Fatal(err)
	}
	stage = st.Dir
	want := readStaged(t, stage, st.Fixups())
	got := synthContent(t)
	compareTrees(t, want, got)
	for _, p := range []string{"etc/ssh/ssh_host_ed25519_key", "var/log/syslog"} {
		if _, ok := got[p]; ok {
			t.Errorf("%s: state not excluded", p)
		}
	}
	if g := got["etc/machine-id"]; g.size != 0 {
		t.Errorf("machine-id not emptied: %d bytes", g.size)
	}
	if len(a.Manifest.Excluded) == 0 {
		t.Error("manifest lists no exclusions")
	}
	if !strings.HasPrefix(a.Digest, "sha256:") {
		t.Errorf("digest %q", a.Digest)
	}
	// The ESP holds /boot/efi plus the generated loader entry.
	espf := readESP(t, a)
	for p, want := range map[string]string{
		"/EFI/BOOT/BOOTX64.EFI":       strings.Repeat("efi", 5000),
		"/vmlinuz-test":               "kernel",
		"/loader/entries/golden.conf": "title golden\nlinux /vmlinuz-test\noptions " + a.Manifest.KernelCmdline + "\n",
	} {
		if got := espf[p]; got != want {
			t.Errorf("ESP %s = %.60q, want %.60q", p, got, want)
		}
	}
	sums, err := os.ReadFile(filepath.Join(a.Dir, a.Sums))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{a.Raw, a.Qcow2, a.Tar, a.ManifestFile} {
		if !strings.Contains(string(sums), "  "+f+"\n") {
			t.Errorf("SHA256SUMS lacks %s:\n%s", f, sums)
		}
	}
}
