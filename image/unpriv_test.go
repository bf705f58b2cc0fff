package image

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestUnprivilegedFixups builds the synthetic tree as a user without root
// would stage it: foreign owners, setuid bits and the device node become
// fixups that the ext4 writer applies with debugfs, and the image must
// still match the tree.
func TestUnprivilegedFixups(t *testing.T) {
	tree := synthTree()
	a := buildT(t, smallSpec("unpriv"), tree, &Options{unprivileged: true})
	verifyImage(t, a)
	ref := synthArtifact(t)
	got := readExt4(t, a.Path(a.Raw), a.Manifest.Disk.Partitions[1].Start)
	want := synthContent(t)
	compareTrees(t, want, got)
	if g := got["dev/null"]; g.mode != 0o20666 {
		t.Errorf("dev/null mode %o, want 20666", g.mode)
	}
	if g := got["home/user/notes.txt"]; g.uid != 1000 || g.gid != 1000 {
		t.Errorf("home/user/notes.txt owner %d:%d", g.uid, g.gid)
	}
	// The tar carries the fixups too: same bytes as the privileged build.
	if a.Manifest.Outputs[2].SHA256 != ref.Manifest.Outputs[2].SHA256 {
		t.Errorf("tar differs from the privileged build's")
	}
	// squashfs cannot take fixups: a clear error, nothing written.
	spec := smallSpec("sq")
	spec.Layout.RootFS = FSSquashfs
	out := t.TempDir()
	_, err := Build(t.Context(), spec, synthTree(), out, &Options{unprivileged: true})
	var be *BuildError
	if !errors.As(err, &be) || be.Phase != PhaseRootFS {
		t.Errorf("squashfs with fixups: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "*")); len(m) != 0 {
		t.Errorf("failed build left %v", m)
	}
}
