package config

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// noTemps fails if a temporary file or staging directory is left under dir.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".oac-tmp-") {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

// New directories are built under a temporary name and renamed into place;
// the result is the tree the original makes in place, in every sync mode.
func TestApplyStagesNewDirectories(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	for name, o := range map[string]ApplyOptions{"syncfs": {}, "each file": {SyncEachFile: true}, "none": {NoSync: true}} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			tree(t, dir, map[string]string{
				"t/new/a/b/f1": "1", "t/new/a/f2": "2", "t/new/c/f3": "3", "t/new/f0": "0",
				"t/old/f4": "4", "t/old/sub/f5": "5", "t/top": "{{x}}", "t/new/f6": "6", "t/new/f6.oac": "mode: 0600",
				"o/old/keep": "k",
			})
			o.TemplatesDir, o.OutputDir = filepath.Join(dir, "t"), filepath.Join(dir, "o")
			res, err := Apply(t.Context(), metadata(t, `{"x": "y"}`), &o)
			if err != nil {
				t.Fatal(err)
			}
			got := changeList(res, o.OutputDir)
			want := []string{"created new/a/b/f1", "created new/a/f2", "created new/c/f3", "created new/f0", "created new/f6", "created old/f4", "created old/sub/f5", "created top"}
			if !slices.Equal(got, want) {
				t.Errorf("changes\n%q\nwant\n%q", got, want)
			}
			got = listTree(t, o.OutputDir)
			want = []string{
				"new/ 0755", "new/a/ 0755", "new/a/b/ 0755", "new/a/b/f1 0644 0:0 1", "new/a/f2 0644 0:0 2",
				"new/c/ 0755", "new/c/f3 0644 0:0 3", "new/f0 0644 0:0 0", "new/f6 0600 0:0 6",
				"old/ 0755", "old/f4 0644 0:0 4", "old/keep 0644 0:0 k", "old/sub/ 0755", "old/sub/f5 0644 0:0 5",
				"top 0644 0:0 y",
			}
			uid := os.Geteuid()
			for i := range want {
				want[i] = strings.ReplaceAll(want[i], "0:0", strconv.Itoa(uid)+":"+strconv.Itoa(os.Getegid()))
			}
			if !slices.Equal(got, want) {
				t.Errorf("tree\n%q\nwant\n%q", got, want)
			}
			noTemps(t, dir)
		})
	}
}

// A missing output directory is made in place (nothing is ever written
// beside it), and what is below it is staged.
func TestApplyMissingOutputRoot(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"t/a/f": "x", "t/g": "y"})
	out := filepath.Join(dir, "p", "o")
	if _, err := Apply(t.Context(), NewObject(), &ApplyOptions{TemplatesDir: filepath.Join(dir, "t"), OutputDir: out}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"p/o/a/f": "x", "p/o/g": "y"} {
		if b, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(b) != want {
			t.Errorf("%s: %q %v", p, b, err)
		}
	}
	noTemps(t, dir)
}

// A new directory made by another writer between the check and the rename
// is not replaced: its files fail with EEXIST, the other directories'
// files are done, and no staging directory is left.
func TestApplyStagingRaced(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	tree(t, dir, map[string]string{"t/new/f": "x", "t/old/g": "y", "o/old/keep": "k"})
	tdir, out := filepath.Join(dir, "t"), filepath.Join(dir, "o")
	tpls, err := findTemplates(tdir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := renderAll(t.Context(), tpls, NewObject(), &ApplyOptions{Renderer: Mustache{}})
	if err != nil {
		t.Fatal(err)
	}
	acts, root, err := plan(files, out)
	if err != nil {
		t.Fatal(err)
	}
	testHookBeforeRenames = func() { tree(t, dir, map[string]string{"o/new/theirs": "z"}) } // the race
	defer func() { testHookBeforeRenames = nil }()
	res, err := commit(t.Context(), acts, root, syncFilesystems, slog.New(slog.DiscardHandler))
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "o/new/f") {
		t.Fatalf("error %v, want EEXIST naming o/new/f", err)
	}
	if res == nil || len(res.Changes) != 1 || res.Changes[0].Path != filepath.Join(out, "old/g") {
		t.Errorf("result %+v, want old/g only", res)
	}
	want := []string{"new/ 0755", "new/theirs 0644 " + strconv.Itoa(os.Geteuid()) + ":" + strconv.Itoa(os.Getegid()) + " z",
		"old/ 0755", "old/g 0644 " + strconv.Itoa(os.Geteuid()) + ":" + strconv.Itoa(os.Getegid()) + " y",
		"old/keep 0644 " + strconv.Itoa(os.Geteuid()) + ":" + strconv.Itoa(os.Getegid()) + " k"}
	if got := listTree(t, out); !slices.Equal(got, want) {
		t.Errorf("tree\n%q\nwant\n%q", got, want)
	}
	noTemps(t, dir)
}
