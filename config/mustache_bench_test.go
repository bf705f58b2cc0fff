package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tripleo-go/tripleo/internal/oacbench"
)

// benchScenario loads a scenario's metadata (as Apply passes it to the
// renderer, after DataPreparer when the renderer has one) and its
// templates, sorted by path.
func benchScenario(b *testing.B, s oacbench.Scenario, r Renderer) (data any, srcs [][]byte) {
	b.Helper()
	in, err := oacbench.Generate(b.TempDir(), s)
	if err != nil {
		b.Fatal(err)
	}
	md, err := LoadMetadata([]string{in.Metadata})
	if err != nil {
		b.Fatal(err)
	}
	data = md
	if p, ok := r.(DataPreparer); ok {
		if data, err = p.PrepareData(md); err != nil {
			b.Fatal(err)
		}
	}
	var paths []string
	err = filepath.WalkDir(in.Templates, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	slices.Sort(paths)
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		srcs = append(srcs, src)
	}
	return data, srcs
}

// BenchmarkMustache times the renderer alone (parse + render, no file
// I/O) on the oacbench scenarios: one Small template per op, and every
// BigMeta template per op. Run with GOGC=400, as the command sets:
//
//	GOGC=400 go test -run '^$' -bench Mustache -count 5 ./config
func BenchmarkMustache(b *testing.B) {
	m := Mustache{}
	b.Run("small-one", func(b *testing.B) {
		data, srcs := benchScenario(b, oacbench.Small, m)
		src := srcs[0]
		b.SetBytes(int64(len(src)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Render("t", src, data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("small-parse", func(b *testing.B) {
		_, srcs := benchScenario(b, oacbench.Small, m)
		src := srcs[0]
		b.SetBytes(int64(len(src)))
		b.ReportAllocs()
		for b.Loop() {
			if err := ParseMustache("t", src); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("big-meta-all", func(b *testing.B) {
		data, srcs := benchScenario(b, oacbench.BigMeta, m)
		var n int64
		for _, s := range srcs {
			n += int64(len(s))
		}
		b.SetBytes(n)
		b.ReportAllocs()
		for b.Loop() {
			for _, src := range srcs {
				if _, err := m.Render("t", src, data); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
