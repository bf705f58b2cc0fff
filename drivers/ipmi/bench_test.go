package ipmi_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/internal/peertest"
	"github.com/tripleo-go/tripleo/provision"
)

var (
	benchBMCs         = flag.Int("bmcs", 1000, "simulated BMCs swept by BenchmarkPowerStatus/driver")
	benchToolBMCs     = flag.Int("ipmitool-bmcs", 100, "BMCs swept by BenchmarkPowerStatus/ipmitool (one process each; 1000 takes minutes)")
	benchParallel     = flag.Int("parallel", 100, "concurrent sessions of our driver")
	benchToolParallel = flag.Int("ipmitool-parallel", 8, "concurrent ipmitool processes")
)

// BenchmarkPowerStatus reads the power state of every BMC of a simulated
// datacenter (drivers/sim, one process), side by side: our driver (a new
// RMCP+ session per BMC, status, close) against one ipmitool -I lanplus
// -C 3 process per BMC, the way Ironic's ipmitool driver works. Metrics:
// s/sweep, ms/BMC and cpu-ms/BMC (CPU time of both sides: client and the
// simulated BMCs) for each; RSS-MiB, our whole process after the sweep
// (the 1,000 simulated BMCs included), and peak-RSS-MiB for ipmitool, the
// RSS of one ipmitool run times the processes running at once.
//
//	go test -run '^$' -bench PowerStatus -benchtime 3x ./drivers/ipmi/ -ipmitool-bmcs 1000
func BenchmarkPowerStatus(b *testing.B) {
	n := max(*benchBMCs, *benchToolBMCs)
	dc, err := sim.Start(n, &sim.Options{DiskSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer dc.Close()
	machines := dc.Machines()
	for i, m := range machines {
		if i%2 == 0 {
			m.Power(provision.PowerActionOn)
		}
	}

	b.Run(fmt.Sprintf("driver/%d", *benchBMCs), func(b *testing.B) {
		ms := machines[:*benchBMCs]
		cpu0 := cpuTime()
		for b.Loop() {
			var on atomic.Int64
			g, ctx := errgroup.WithContext(b.Context())
			g.SetLimit(*benchParallel)
			for _, m := range ms {
				g.Go(func() error {
					d, _, err := provision.OpenDriver(ctx, m.IPMIURL(), m.Credentials(), nil)
					if err != nil {
						return err
					}
					defer d.Close()
					s, err := d.PowerState(ctx)
					if s == provision.PowerOn {
						on.Add(1)
					}
					return err
				})
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
			if int(on.Load()) != (len(ms)+1)/2 {
				b.Fatalf("%d machines on, want %d", on.Load(), (len(ms)+1)/2)
			}
		}
		reportSweep(b, len(ms), cpu0)
		b.ReportMetric(float64(rssKiB())/1024, "RSS-MiB")
	})

	// Steady state: the sessions stay open between sweeps, as a
	// Provisioner's cached BMC handles keep them for its power sync.
	b.Run(fmt.Sprintf("driver-warm/%d", *benchBMCs), func(b *testing.B) {
		ms := machines[:*benchBMCs]
		drivers := make([]provision.PowerDriver, len(ms))
		for i, m := range ms {
			d, _, err := provision.OpenDriver(b.Context(), m.IPMIURL(), m.Credentials(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			drivers[i] = d
		}
		sweep := func() error {
			g, ctx := errgroup.WithContext(b.Context())
			g.SetLimit(*benchParallel)
			for _, d := range drivers {
				g.Go(func() error {
					_, err := d.PowerState(ctx)
					return err
				})
			}
			return g.Wait()
		}
		if err := sweep(); err != nil { // open the sessions
			b.Fatal(err)
		}
		cpu0 := cpuTime()
		for b.Loop() {
			if err := sweep(); err != nil {
				b.Fatal(err)
			}
		}
		reportSweep(b, len(ms), cpu0)
		b.ReportMetric(float64(rssKiB())/1024, "RSS-MiB")
	})

	b.Run(fmt.Sprintf("ipmitool/%d", *benchToolBMCs), func(b *testing.B) {
		tool := peertest.Look(b, "ipmitool")[0]
		ms := machines[:*benchToolBMCs]
		cpu0 := cpuTime()
		for b.Loop() {
			g, ctx := errgroup.WithContext(b.Context())
			g.SetLimit(*benchToolParallel)
			for _, m := range ms {
				g.Go(func() error {
					host, port, _ := strings.Cut(m.IPMIAddr(), ":")
					// Ironic passes the password in a file (-f); so do we.
					pw, err := os.CreateTemp("", "pw")
					if err != nil {
						return err
					}
					defer os.Remove(pw.Name())
					pw.WriteString("password")
					pw.Close()
					cmd := exec.CommandContext(ctx, tool, "-I", "lanplus", "-C", "3", "-H", host, "-p", port, "-U", m.Username(), "-f", pw.Name(), "-N", "1", "-R", "3", "power", "status")
					out, err := cmd.Output()
					if err != nil || !strings.HasPrefix(string(out), "Chassis Power is") {
						return fmt.Errorf("ipmitool %s: %v: %s", m.IPMIAddr(), err, out)
					}
					return nil
				})
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
		}
		reportSweep(b, len(ms), cpu0)
		b.ReportMetric(float64(*benchToolParallel)*float64(ipmitoolRSSKiB(tool, ms[0]))/1024, "peak-RSS-MiB")
	})
}

// reportSweep reports wall time per sweep and per BMC, and CPU time per
// BMC: ours and the simulated BMCs' (same process) plus, for ipmitool, its
// processes'. CPU time does not depend on what else runs on the machine.
func reportSweep(b *testing.B, bmcs int, cpu0 time.Duration) {
	el := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(el, "s/sweep")
	b.ReportMetric(el*1000/float64(bmcs), "ms/BMC")
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1000/float64(b.N*bmcs), "cpu-ms/BMC")
}

// ipmitoolRSSKiB measures the peak RSS of one ipmitool run with
// /usr/bin/time (wait4's figure for a child forked by Go includes the
// parent's own RSS, so it cannot be read from cmd.ProcessState); 0 if
// /usr/bin/time is missing.
func ipmitoolRSSKiB(tool string, m *sim.Machine) int64 {
	host, port, _ := strings.Cut(m.IPMIAddr(), ":")
	out, err := exec.Command("/usr/bin/time", "-f", "RSS=%M", tool, "-I", "lanplus", "-C", "3", "-H", host, "-p", port, "-U", m.Username(), "-P", "password", "power", "status").CombinedOutput()
	if err != nil {
		return 0
	}
	_, v, _ := strings.Cut(string(out), "RSS=")
	n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n
}

// cpuTime returns the CPU time (user+system) used so far by this process
// and by its waited-for children.
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

// rssKiB returns this process's resident set size.
func rssKiB() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}
