package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tripleo-go/tripleo/internal/peertest"
)

// TestHelpMatchesArgparse compares --help and a usage error with the real
// tool's argparse output at several terminal widths, under both names.
func TestHelpMatchesArgparse(t *testing.T) {
	real := peertest.Look(t, "os-apply-config")[0]
	dir := t.TempDir()
	for _, name := range []string{"os-apply-config", "os-config-applier"} {
		ours := filepath.Join(dir, name)
		if err := os.Symlink(ourBinary, ours); err != nil {
			t.Fatal(err)
		}
		realBin := filepath.Join(filepath.Dir(real), name)
		for _, cols := range []int{5, 12, 30, 50, 79, 100, 200} {
			for _, args := range [][]string{{"-h"}, {"--bogus", "-o", "out"}} {
				env := []string{"PATH=/usr/bin:/bin", "COLUMNS=" + strconv.Itoa(cols)}
				runIt := func(bin string) (string, string, int) {
					cmd := exec.CommandContext(t.Context(), bin, args...)
					cmd.Env, cmd.Dir = env, dir
					var o, e bytes.Buffer
					cmd.Stdout, cmd.Stderr = &o, &e
					cmd.Run()
					return o.String(), e.String(), cmd.ProcessState.ExitCode()
				}
				wo, we, wc := runIt(realBin)
				go_, ge, gc := runIt(ours)
				if wo != go_ || we != ge || wc != gc {
					t.Errorf("%s %v COLUMNS=%d:\nreal (exit %d):\n%s%s\nours (exit %d):\n%s%s", name, args, cols, wc, wo, we, gc, go_, ge)
				}
			}
		}
	}
}
