package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/internal/oacbench"
)

func TestMedian(t *testing.T) {
	w, c := median([]sample{{3, 30}, {1, 10}, {2, 50}})
	if w != 2 || c != 30 {
		t.Errorf("median = %v, %v; want 2, 30", w, c)
	}
	if r := ratio(2*time.Second, time.Second); r != 2 {
		t.Errorf("ratio = %v", r)
	}
}

// TestRun drives the whole comparison with /bin/true standing in for both
// tools: inputs are generated, every scenario line is printed.
func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run("/bin/true", "/bin/true", "/bin/true", 1, t.TempDir(), "", &out); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"big-meta-200", "small-1000", "small-1000-same", "small-1000-chg", "key-lookup-1mb", "startup", "speed-up", "python/floor"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
}

// TestFloor: the floor copies every template, unrendered, to the same
// path under the output directory.
func TestFloor(t *testing.T) {
	in, err := oacbench.Generate(t.TempDir(), oacbench.Small)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := runFloor(in.Templates, out, in.Metadata); err != nil {
		t.Fatal(err)
	}
	n := 0
	err = filepath.WalkDir(in.Templates, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(in.Templates, p)
		want, _ := os.ReadFile(p)
		got, err := os.ReadFile(filepath.Join(out, rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %q, %v; want %q", rel, got, err, want)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != in.Files {
		t.Errorf("%d templates, want %d", n, in.Files)
	}
	if err := runFloor(in.Templates, out, filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing metadata: no error")
	}
}
