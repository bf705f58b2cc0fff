package redfish_test

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/tripleo-go/tripleo/drivers/redfish"
	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/internal/peertest"
)

// BenchmarkPowerStatus reads a simulated system's power state over
// Redfish, side by side: our driver on a warm session (one GET) and cold
// (log in, probe, read, log out), against Debian's python3-sushy doing
// the same in one Python process (the sushy sub-benchmark reports
// warm-ms/read and cold-ms/read, measured by the script over 50 reads
// each; its ns/op is the whole script run).
//
//	go test -run '^$' -bench PowerStatus ./drivers/redfish/
func BenchmarkPowerStatus(b *testing.B) {
	dc := startDC(b, 1, nil)
	m := dc.Machine(0)
	b.Run("driver/warm", func(b *testing.B) {
		d, err := redfish.Open(b.Context(), m.RedfishURL(), m.Credentials(), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer d.Close()
		for b.Loop() {
			if _, err := d.PowerState(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("driver/cold", func(b *testing.B) {
		for b.Loop() {
			d, err := redfish.Open(b.Context(), m.RedfishURL(), m.Credentials(), nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := d.PowerState(b.Context()); err != nil {
				b.Fatal(err)
			}
			d.Close()
		}
	})
	py := "/usr/bin/python3"
	if exec.Command(py, "-c", "import sushy").Run() != nil {
		peertest.Look(b, "python3-sushy")
	}
	pw := filepath.Join(b.TempDir(), "pw")
	os.WriteFile(pw, []byte(password+"\n"), 0o600)
	const reads = 50
	b.Run("sushy", func(b *testing.B) {
		var warm, cold float64
		for b.Loop() {
			out, err := exec.CommandContext(b.Context(), py, "testdata/sushy_bench.py", dc.Redfish().URL(), "admin", pw, m.RedfishSystemPath(), strconv.Itoa(reads)).CombinedOutput()
			if err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
			for _, l := range strings.Split(string(out), "\n") {
				k, v, _ := strings.Cut(l, " ")
				s, _ := strconv.ParseFloat(v, 64)
				switch k {
				case "warm":
					warm = s
				case "cold":
					cold = s
				}
			}
		}
		b.ReportMetric(warm*1000/reads, "warm-ms/read")
		b.ReportMetric(cold*1000/reads, "cold-ms/read")
	})
}

var benchBMCs = flag.Int("bmcs", 1000, "simulated Redfish systems swept by BenchmarkSweep")

// BenchmarkSweep reads the power state of every system of a simulated
// datacenter's Redfish service with a new driver each (log in, probe,
// read, log out), 100 at a time: the Redfish counterpart of drivers/ipmi's
// BenchmarkPowerStatus.
//
//	go test -run '^$' -bench Sweep -benchtime 3x ./drivers/redfish/
func BenchmarkSweep(b *testing.B) {
	dc := startDC(b, *benchBMCs, &sim.Options{DiskSize: 1 << 20})
	ms := dc.Machines()
	for b.Loop() {
		g, ctx := errgroup.WithContext(b.Context())
		g.SetLimit(100)
		for _, m := range ms {
			g.Go(func() error {
				d, err := redfish.Open(ctx, m.RedfishURL(), m.Credentials(), nil)
				if err != nil {
					return err
				}
				defer d.Close()
				_, err = d.PowerState(ctx)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/float64(len(ms)), "ms/BMC")
}
