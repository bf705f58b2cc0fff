package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/internal/peertest"
)

func TestQcow2CheckAndCompare(t *testing.T) {
	qemuImg := peertest.Look(t, "qemu-img")[0]
	a := synthArtifact(t)
	q := a.Path(a.Qcow2)
	if out := run(t, qemuImg, "check", q); !strings.Contains(out, "No errors were found") {
		t.Errorf("qemu-img check: %s", out)
	}
	run(t, qemuImg, "compare", "-f", "raw", "-F", "qcow2", a.Path(a.Raw), q)
	// A raw whose size is not a cluster multiple, with data at both ends.
	raw := filepath.Join(t.TempDir(), "odd.raw")
	f, err := os.Create(raw)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("start"), 0)
	f.WriteAt([]byte("end"), 3*MiB+1000)
	f.Close()
	f, _ = os.Open(raw)
	defer f.Close()
	out, err := os.Create(raw + ".qcow2")
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteQcow2(t.Context(), out, f, nil); err != nil {
		t.Fatal(err)
	}
	out.Close()
	run(t, qemuImg, "check", raw+".qcow2")
	run(t, qemuImg, "compare", "-f", "raw", "-F", "qcow2", raw, raw+".qcow2")
}
