package config_test

import (
	"fmt"
	"os"
	"strings"
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

// benchDecode runs decode in a loop as b's operation, on size bytes of
// input, and reports the process CPU time per operation besides.
func benchDecode(b *testing.B, size int, decode func() error) {
	b.SetBytes(int64(size))
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		if err := decode(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkDecodeBigMeta decodes BigMeta's 1 MB metadata file with
// DecodeJSON, and reads and decodes it with LoadMetadata, the step
// os-apply-config spends most of its start-up in; DecodeJSON-escaped is
// 1 MB of certificates, strings with an escaped newline every 64
// characters. Besides wall time it reports the CPU time of the whole
// process per operation (cpu-ns/op), which other loads on a shared
// machine disturb less. Run it as the command runs (GOGC=400):
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
	var pem strings.Builder
	pem.WriteString("{")
	for i := range 250 {
		if i > 0 {
			pem.WriteString(", ")
		}
		fmt.Fprintf(&pem, `"cert%d": "-----BEGIN CERTIFICATE-----\n`, i)
		for range 60 {
			pem.WriteString(`MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n`)
		}
		pem.WriteString(`-----END CERTIFICATE-----\n"`)
	}
	pem.WriteString("}")
	escaped := []byte(pem.String())
	b.Run("DecodeJSON", func(b *testing.B) {
		benchDecode(b, len(data), func() error { _, err := config.DecodeJSON(data); return err })
	})
	b.Run("DecodeJSON-escaped", func(b *testing.B) {
		benchDecode(b, len(escaped), func() error { _, err := config.DecodeJSON(escaped); return err })
	})
	b.Run("LoadMetadata", func(b *testing.B) {
		benchDecode(b, len(data), func() error { _, err := config.LoadMetadata([]string{in.Metadata}); return err })
	})
}
