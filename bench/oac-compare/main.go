package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"io/fs"
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
	name    string
	args    func(out string) []string
	floor   func(out string) []string // this program's -floor arguments, for the scenarios that write an output tree
	prepare func(out string) error    // makes the output tree a run starts from (nil: none)
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
	// The reruns start from the output tree of an earlier run, rendered
	// by the original: of the same metadata (every file already right),
	// or of metadata with another node address (every file changes).
	refSame, refChanged := filepath.Join(work, "ref-same"), filepath.Join(work, "ref-changed")
	changed, err := changedMetadata(small.Metadata)
	if err != nil {
		return err
	}
	for ref, md := range map[string]string{refSame: small.Metadata, refChanged: changed} {
		if _, err := timeRun(real, []string{"--fallback-metadata", "-t", small.Templates, "-o", ref, "-m", md}); err != nil {
			return fmt.Errorf("rendering %s: %w", ref, err)
		}
	}
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
		{name: "small-1000-same", args: render(small), prepare: func(out string) error { return copyTree(refSame, out) }},
		{name: "small-1000-chg", args: render(small), prepare: func(out string) error { return copyTree(refChanged, out) }},
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
				if sc.prepare != nil {
					if err := sc.prepare(out); err != nil {
						return err
					}
				}
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
		} else if sc.prepare != nil {
			fmt.Fprintf(w, " %11s %11s", "-", "-")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "floor: the least any tool must do (read the metadata and the templates, write the templates unrendered, new directories built under temporary names and renamed into place, in parallel, no stat, no sync; floor.go); python/floor is the largest speed-up any tool can show here")
	return nil
}

// changedMetadata writes, beside the small scenario's metadata file, a
// copy with another node address, and returns its path.
func changedMetadata(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	c := bytes.ReplaceAll(b, []byte(`"ip": "192.0.2.21"`), []byte(`"ip": "192.0.2.99"`))
	if bytes.Equal(b, c) {
		return "", fmt.Errorf("%s: no node address to change", path)
	}
	out := strings.TrimSuffix(path, ".json") + "-changed.json"
	return out, os.WriteFile(out, c, 0o644)
}

// copyTree copies the directory tree src (directories, and regular files
// with their modes) to dst, which must not exist; a missing src makes an
// empty dst.
func copyTree(src, dst string) error {
	if _, err := os.Stat(src); os.IsNotExist(err) {
		return os.MkdirAll(dst, 0o755)
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
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
