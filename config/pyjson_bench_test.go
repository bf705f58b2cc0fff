package config_test

import (
	"os"
	"testing"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/internal/oacbench"
)

// BenchmarkDecodeBigMeta decodes BigMeta's 1 MB metadata file with
// DecodeJSON, and reads and decodes it with LoadMetadata, the step
// os-apply-config spends most of its start-up in. Run it as the command
// runs (GOGC=400):
//
//	GOGC=400 go test -run '^$' -bench DecodeBigMeta -count 5 ./config
func BenchmarkDecodeBigMeta(b *testing.B) {
	in, err := oacbench.Generate(b.TempDir(), oacbench.BigMeta)
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(in.Metadata)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("DecodeJSON", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := config.DecodeJSON(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LoadMetadata", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := config.LoadMetadata([]string{in.Metadata}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
