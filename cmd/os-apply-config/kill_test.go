package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKilledRunLeavesOldOrNew kills the command at random moments of a run
// that updates files in an existing directory and creates new directories,
// and checks what a crash of the process can leave: every existing file
// old or new and whole, every new directory absent or complete (it is
// renamed into place whole), and nothing else but temporary names.
func TestKilledRunLeavesOldOrNew(t *testing.T) {
	dir := t.TempDir()
	tdir := filepath.Join(dir, "t")
	var newDirs []string
	for d := range 4 {
		nd := fmt.Sprintf("new%d/sub", d)
		newDirs = append(newDirs, fmt.Sprintf("new%d", d))
		for f := range 40 {
			writeFile(t, filepath.Join(tdir, nd, fmt.Sprintf("f%02d", f)), strings.Repeat("new ", 2000))
		}
	}
	for f := range 40 {
		writeFile(t, filepath.Join(tdir, "old", fmt.Sprintf("f%02d", f)), strings.Repeat("new ", 2000))
	}
	// Kill at a uniformly random moment of a whole run's duration.
	start := time.Now()
	full := exec.Command(ourBinary, "--fallback-metadata", "-t", tdir, "-o", filepath.Join(dir, "full"))
	full.Env = []string{"PATH=/usr/bin:/bin", "OS_CONFIG_FILES="}
	if out, err := full.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	span := time.Since(start)
	states := map[string]int{} // how far the killed runs got, for the log
	for run := range 40 {
		out := filepath.Join(dir, fmt.Sprintf("o%d", run))
		for f := range 40 {
			writeFile(t, filepath.Join(out, "old", fmt.Sprintf("f%02d", f)), "old")
		}
		cmd := exec.Command(ourBinary, "--fallback-metadata", "-t", tdir, "-o", out)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "OS_CONFIG_FILES="}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(rand.N(span))
		cmd.Process.Kill()
		cmd.Wait()
		updated, made := 0, 0
		for f := range 40 {
			p := filepath.Join(out, "old", fmt.Sprintf("f%02d", f))
			b, err := os.ReadFile(p)
			if err != nil || string(b) != "old" && string(b) != strings.Repeat("new ", 2000) {
				t.Errorf("run %d: %s: %d bytes, %v: neither old nor new", run, p, len(b), err)
			}
			if string(b) != "old" {
				updated++
			}
		}
		for _, nd := range newDirs {
			if _, err := os.Stat(filepath.Join(out, nd)); err != nil {
				continue // not renamed into place yet
			}
			made++
			for f := range 40 {
				p := filepath.Join(out, nd, "sub", fmt.Sprintf("f%02d", f))
				if b, err := os.ReadFile(p); err != nil || string(b) != strings.Repeat("new ", 2000) {
					t.Errorf("run %d: %s: %d bytes, %v: a new directory appeared incomplete", run, p, len(b), err)
				}
			}
		}
		states[fmt.Sprintf("%d/40 updated, %d/4 new dirs", updated, made)]++
		entries, _ := filepath.Glob(filepath.Join(out, "*"))
		for _, e := range entries {
			if b := filepath.Base(e); b != "old" && !strings.HasPrefix(b, "new") && !strings.HasPrefix(b, ".oac-tmp-") {
				t.Errorf("run %d: unexpected %s", run, e)
			}
		}
	}
	t.Logf("killed runs: %v", states)
}

func writeFile(t *testing.T, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
