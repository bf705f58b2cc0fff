package oacbench

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// tree reads every file under dir into a map.
func tree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		m[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGenerateDeterministic(t *testing.T) {
	for _, s := range Scenarios {
		a, b := t.TempDir(), t.TempDir()
		if _, err := Generate(a, s); err != nil {
			t.Fatal(err)
		}
		if _, err := Generate(b, s); err != nil {
			t.Fatal(err)
		}
		ta, tb := tree(t, a), tree(t, b)
		if len(ta) != len(tb) {
			t.Fatalf("%s: %d files vs %d", s, len(ta), len(tb))
		}
		for p, x := range ta {
			if !bytes.Equal(x, tb[p]) {
				t.Errorf("%s: %s differs between two runs", s, p)
			}
		}
	}
	if _, err := Generate(t.TempDir(), "nope"); err == nil {
		t.Error("unknown scenario: no error")
	}
}

func Example() {
	dir, _ := os.MkdirTemp("", "oacbench-")
	defer os.RemoveAll(dir)
	for _, s := range Scenarios {
		in, err := Generate(filepath.Join(dir, string(s)), s)
		if err != nil {
			fmt.Println(err)
			return
		}
		st, _ := os.Stat(in.Metadata)
		fmt.Printf("%s: %d templates, metadata ~%d KB\n", s, in.Files, (st.Size()+500)/1000)
	}
	// Output:
	// big-meta-200: 200 templates, metadata ~1000 KB
	// small-1000: 1000 templates, metadata ~2 KB
}
