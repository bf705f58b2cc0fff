package image

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/internal/peertest"
)

// TestReproducible builds the same inputs twice, a second apart on the
// wall clock, and compares every output with cmp.
func TestReproducible(t *testing.T) {
	cmp := peertest.Look(t, "cmp")[0]
	a := synthArtifact(t)
	time.Sleep(1100 * time.Millisecond) // a different wall-clock second
	b := buildT(t, smallSpec("golden"), synthTree(), nil)
	if a.Digest != b.Digest {
		t.Errorf("digests differ: %s vs %s", a.Digest, b.Digest)
	}
	for _, n := range []string{a.Raw, a.Qcow2, a.Tar, a.ManifestFile, a.Sums} {
		out, err := exec.CommandContext(t.Context(), cmp, filepath.Join(a.Dir, n), filepath.Join(b.Dir, n)).CombinedOutput()
		if err != nil {
			t.Errorf("%s differs between two builds: %v %s", n, err, out)
		}
	}
}

// TestReproducibleDirEpochZero builds a directory source with
// SOURCE_DATE_EPOCH 0 twice: e2fsprogs treats a fake time of 0 as "no
// fake time", so this catches wall-clock leaks into the superblocks and
// reserved inodes.
func TestReproducibleDirEpochZero(t *testing.T) {
	st := newStaging(t.TempDir())
	if err := plainTree().Populate(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	spec := smallSpec("zero")
	spec.SourceDateEpoch = 0
	spec.Outputs = Outputs{}
	a := buildT(t, spec, DirSource{Path: st.Dir}, nil)
	time.Sleep(1100 * time.Millisecond)
	b := buildT(t, spec, DirSource{Path: st.Dir}, nil)
	if a.Digest != b.Digest {
		t.Errorf("digests differ: %s vs %s", a.Digest, b.Digest)
	}
	verifyImage(t, b)
}
