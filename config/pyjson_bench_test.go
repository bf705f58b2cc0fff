package config_test

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/internal/oacbench"
)

// cpuTime returns the CPU time the process has used so far, user and
// system, all threads (GC workers included).
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecodeBigMeta decodes BigMeta's 1 MB metadata file with
// DecodeJSON, and reads and decodes it with LoadMetadata, the step
// os-apply-config spends most of its start-up in. Besides wall time it
// reports the CPU time of the whole process per operation (cpu-ns/op),
// which other loads on a shared machine disturb less. Run it as the
// command runs (GOGC=400):
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
		start := cpuTime(b)
		for b.Loop() {
			if _, err := config.DecodeJSON(data); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
	})
	b.Run("LoadMetadata", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		start := cpuTime(b)
		for b.Loop() {
			if _, err := config.LoadMetadata([]string{in.Metadata}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
	})
}
