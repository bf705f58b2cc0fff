package config_test

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/internal/oacbench"
	"github.com/tripleo-go/tripleo/internal/peertest"
)

// BenchmarkOAC times the scenarios of the peer notes (§7) through the
// library (load + merge + render + Apply into a fresh output dir, with and
// without fsync) and,
// side by side in the same run, through Debian's Python os-apply-config
// (skipped when it is not installed). bench/oac-compare.sh compares the
// two command-line tools, start-up included.
//
//	go test -run '^$' -bench OAC -benchtime 10x ./config
func BenchmarkOAC(b *testing.B) {
	for _, s := range oacbench.Scenarios {
		b.Run(string(s), func(b *testing.B) {
			in, err := oacbench.Generate(b.TempDir(), s)
			if err != nil {
				b.Fatal(err)
			}
			outRoot := b.TempDir()
			for _, v := range []struct {
				name   string
				noSync bool
			}{{"config.Apply", false}, {"config.Apply-nosync", true}} {
				b.Run(v.name, func(b *testing.B) {
					n := 0
					for b.Loop() {
						n++
						out := filepath.Join(outRoot, v.name, strconv.Itoa(n))
						md, err := config.LoadMetadata([]string{in.Metadata})
						if err != nil {
							b.Fatal(err)
						}
						res, err := config.Apply(b.Context(), md, &config.ApplyOptions{TemplatesDir: in.Templates, OutputDir: out, NoSync: v.noSync})
						if err != nil {
							b.Fatal(err)
						}
						if len(res.Changes) != in.Files {
							b.Fatalf("%d changes, want %d", len(res.Changes), in.Files)
						}
						// Write back what this iteration left unsynced, so
						// it is not charged to the next; outputs stay until
						// the end (b.TempDir): on ext4 without a journal,
						// creating files right after deleting others scans
						// past the deleted inodes (recently_deleted).
						b.StopTimer()
						syscall.Sync()
						b.StartTimer()
					}
				})
			}
			b.Run("python-os-apply-config", func(b *testing.B) {
				if _, err := exec.LookPath("os-apply-config"); err != nil && !peertest.Required() {
					b.Skip("os-apply-config not installed")
				}
				bin := peertest.Look(b, "os-apply-config")[0]
				n := 0
				for b.Loop() {
					n++
					out := filepath.Join(outRoot, "py", strconv.Itoa(n))
					cmd := exec.Command(bin, "--fallback-metadata", "-t", in.Templates, "-o", out, "-m", in.Metadata)
					cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
					if msg, err := cmd.CombinedOutput(); err != nil {
						b.Fatalf("%v: %s", err, msg)
					}
					b.StopTimer()
					syscall.Sync() // as above: Python never syncs
					b.StartTimer()
				}
			})
		})
	}
}

// BenchmarkKeyLookup is --key services.svc123.db.host --type netaddress on
// the 1 MB metadata file: load, merge, look up, check.
func BenchmarkKeyLookup(b *testing.B) {
	in, err := oacbench.Generate(b.TempDir(), oacbench.BigMeta)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		md, err := config.LoadMetadata([]string{in.Metadata})
		if err != nil {
			b.Fatal(err)
		}
		v, ok := config.LookupKey(md, oacbench.KeyLookup)
		if !ok {
			b.Fatal("key not found")
		}
		if _, err := config.FormatKey(v, oacbench.KeyLookupType); err != nil {
			b.Fatal(err)
		}
	}
}
