package runparts

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Sort must agree with GNU "LC_ALL=C sort -n", which dib-run-parts uses.
func TestSortMatchesGNUSort(t *testing.T) {
	sortBin, err := exec.LookPath("sort")
	if err != nil {
		t.Skip("no sort(1)")
	}
	names := []string{"9-b", "10-a", "abc", "1-a", "1_a", "00-x", "010", "10", "-5x", "1A", "1a",
		"1-b", "1_b", "-", "-0", "0", "-10", "-9", "1.5x", "1.50", "1.", ".5", "-.5", "000", "99999999999999999999999", "99999999999999999999998"}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789-_aA.Z"
	for range 300 {
		n := 1 + rng.IntN(6)
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		names = append(names, b.String())
	}
	cmd := exec.CommandContext(t.Context(), sortBin, "-n")
	cmd.Env = []string{"LC_ALL=C"}
	cmd.Stdin = strings.NewReader(strings.Join(names, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	got := slices.Clone(names)
	Sort(got)
	if !slices.Equal(got, want) {
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("first difference at %d: got %q, sort -n %q\ngot  %q\nwant %q", i, got[i], want[i], got, want)
			}
		}
	}
}

func TestListSelection(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("10-run", 0o755)
	write("2-run", 0o700)
	write("skip.sh", 0o755)
	write(".hidden", 0o755)
	write("noexec", 0o644)
	write("tilde~", 0o755)
	if err := os.Mkdir(filepath.Join(dir, "30-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("10-run", filepath.Join(dir, "40-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere", filepath.Join(dir, "50-broken")); err != nil {
		t.Fatal(err)
	}
	got, err := List(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"2-run", "10-run", "40-link"}; !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
	if _, err := List(filepath.Join(dir, "10-run"), nil); err == nil {
		t.Error("List of a file succeeded")
	}
}

func TestEnvironmentOnlyExported(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "10-env")
	if err := os.WriteFile(f, []byte("export A=1\nB=2\necho noise\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	env, err := Environment(context.Background(), []string{f}, []string{"PATH=" + os.Getenv("PATH"), "SHLVL=3"}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(env, "A=1") || slices.Contains(env, "B=2") || !slices.Contains(env, "SHLVL=4") {
		t.Errorf("env = %q", env)
	}
	if stdout.String() != "noise\n" || !strings.Contains(stderr.String(), "Sourcing environment file "+f) {
		t.Errorf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
}

func FuzzCompare(f *testing.F) {
	for _, s := range []string{"10-a", "9-b", "-5x", "1.5", "", "0010", "-0"} {
		f.Add(s, "1-a")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := Compare(a, b), Compare(b, a)
		if ab != -ba {
			t.Fatalf("Compare(%q,%q)=%d but Compare(%q,%q)=%d", a, b, ab, b, a, ba)
		}
		if (ab == 0) != (a == b) {
			t.Fatalf("Compare(%q,%q)=%d", a, b, ab)
		}
	})
}
