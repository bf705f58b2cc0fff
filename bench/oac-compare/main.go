package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tripleo-go/tripleo/internal/oacbench"
)

type scenario struct {
	name  string
	args  func(out string) []string
	floor func(out string) []string // this program's -floor arguments, for the scenarios that write an output tree
}

type sample struct{ wall, cpu time.Duration }

func main() {
	ours := flag.String("ours", "", "our os-apply-config binary (required)")
	real := flag.String("real", "/usr/bin/os-apply-config", "the Python os-apply-config")
	n := flag.Int("n", 9, "timed runs per tool and scenario")
	work := flag.String("dir", "", "work directory for inputs and outputs (default: a new temp dir, removed at the end)")
	only := flag.String("only", "", "comma-separated scenario names to run (default: all)")
	floor := flag.Bool("floor", false, "copy a templates tree unrendered (arguments: TEMPLATES OUT METADATA); the comparison runs itself this way to time the floor")
	flag.Parse()
	if *floor {
		if flag.NArg() != 3 {
			fmt.Fprintln(os.Stderr, "oac-compare: -floor takes TEMPLATES OUT METADATA")
			os.Exit(2)
		}
		if err := runFloor(flag.Arg(0), flag.Arg(1), flag.Arg(2)); err != nil {
			fmt.Fprintln(os.Stderr, "oac-compare:", err)
			os.Exit(1)
		}
		return
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "oac-compare:", err)
		os.Exit(1)
	}
	if *ours == "" {
		fmt.Fprintln(os.Stderr, "oac-compare: -ours is required (see bench/oac-compare.sh)")
		os.Exit(2)
	}
	if err := run(*ours, *real, self, *n, *work, *only, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "oac-compare:", err)
		os.Exit(1)
	}
}

// run compares real and ours; self is this program, run with -floor to
// time the floor of the scenarios that write an output tree (floor.go).
func run(ours, real, self string, n int, work, only string, w io.Writer) error {
	if work == "" {
		d, err := os.MkdirTemp("", "oac-compare-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		work = d
	}
	inputs := map[oacbench.Scenario]*oacbench.Input{}
	for _, s := range oacbench.Scenarios {
		in, err := oacbench.Generate(filepath.Join(work, string(s)), s)
		if err != nil {
			return err
		}
		inputs[s] = in
	}
	big, small := inputs[oacbench.BigMeta], inputs[oacbench.Small]
	render := func(in *oacbench.Input) func(string) []string {
		return func(out string) []string {
			return []string{"--fallback-metadata", "-t", in.Templates, "-o", out, "-m", in.Metadata}
		}
	}
	floor := func(in *oacbench.Input) func(string) []string {
		return func(out string) []string { return []string{"-floor", in.Templates, out, in.Metadata} }
	}
	scenarios := []scenario{
		{name: string(oacbench.BigMeta), args: render(big), floor: floor(big)},
		{name: string(oacbench.Small), args: render(small), floor: floor(small)},
		{name: "key-lookup-1mb", args: func(string) []string {
			return []string{"--fallback-metadata", "-m", big.Metadata, "--key", oacbench.KeyLookup, "--type", oacbench.KeyLookupType}
		}},
		{name: "startup", args: func(string) []string { return []string{"--version"} }},
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(w, "os-apply-config: Python %s vs Go %s; %d runs each, alternating; load average %s\n",
		real, ours, n, strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	fmt.Fprintf(w, "%-16s %21s %21s %17s %11s %11s\n", "scenario", "python wall / cpu", "go wall / cpu", "speed-up wall/cpu", "floor wall", "python/floor")
	runs := 0
	for _, sc := range scenarios {
		if only != "" && !slices.Contains(strings.Split(only, ","), sc.name) {
			continue
		}
		tools := []string{real, ours}
		if sc.floor != nil {
			tools = append(tools, self)
		}
		times := make([][]sample, len(tools))
		for i := -1; i < n; i++ { // i == -1 is the warm-up
			for t, tool := range tools {
				runs++
				out := filepath.Join(work, fmt.Sprintf("out-%d", runs))
				args := sc.args(out)
				if t == 2 {
					args = sc.floor(out)
				}
				// Every run starts on a quiet filesystem: the last run's
				// unsynced data (the original never syncs) is written
				// back first, not charged to the next tool. And no output
				// tree is deleted until the end: on ext4 without a
				// journal (as this VM's disk) a new inode skips those
				// deleted in the last 30 s (recently_deleted), which made
				// any run after a deletion pay 0.4-0.7 s for 1,000 files,
				// more than either tool's own work.
				syscall.Sync()
				s, err := timeRun(tool, args)
				if err != nil {
					return fmt.Errorf("%s with %s: %w", sc.name, tool, err)
				}
				if i >= 0 {
					times[t] = append(times[t], s)
				}
			}
		}
		pw, pc := median(times[0])
		gw, gc := median(times[1])
		fmt.Fprintf(w, "%-16s %9.3fs / %7.3fs %9.4fs / %7.4fs %6.1f× / %5.1f×", sc.name,
			pw.Seconds(), pc.Seconds(), gw.Seconds(), gc.Seconds(), ratio(pw, gw), ratio(pc, gc))
		if sc.floor != nil {
			fw, _ := median(times[2])
			fmt.Fprintf(w, " %10.4fs %10.1f×", fw.Seconds(), ratio(pw, fw))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "floor: the least any tool must do (read the metadata and the templates, write the templates unrendered, new directories built under temporary names and renamed into place, in parallel, no stat, no sync; floor.go); python/floor is the largest speed-up any tool can show here")
	return nil
}

func timeRun(bin string, args []string) (sample, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("%w: %s", err, stderr.String())
	}
	return sample{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}, nil
}

// median returns the median wall and CPU times (each sorted on its own).
func median(s []sample) (wall, cpu time.Duration) {
	if len(s) == 0 {
		return 0, 0
	}
	ws := make([]time.Duration, len(s))
	cs := make([]time.Duration, len(s))
	for i, x := range s {
		ws[i], cs[i] = x.wall, x.cpu
	}
	slices.Sort(ws)
	slices.Sort(cs)
	return ws[len(ws)/2], cs[len(cs)/2]
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		b = time.Microsecond
	}
	return float64(a) / float64(b)
}
