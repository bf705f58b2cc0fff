package refresh_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/internal/peertest"
	"github.com/tripleo-go/tripleo/refresh"
)

// pipeline is one metadata source → node agent → phase script chain; its
// first (only) phase script appends its start time (ns) to log.
type pipeline struct {
	name string
	path string // metadata path on the server
	log  string
	seen int
}

func newPipeline(b *testing.B, name string) (*pipeline, string) {
	root := filepath.Join(b.TempDir(), name)
	p := &pipeline{name: name, path: "/" + name, log: filepath.Join(root, "starts")}
	script := filepath.Join(root, "phases", "configure.d", "10-first")
	if err := os.MkdirAll(filepath.Dir(script), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(script, []byte("#!/bin/sh\ndate +%s%N >> "+p.log+"\n"), 0o755); err != nil {
		b.Fatal(err)
	}
	return p, root
}

// waitStart waits for the script's next start and returns its time.
func (p *pipeline) waitStart(b *testing.B) time.Time {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(p.log)
		lines := strings.Fields(string(data))
		if len(lines) > p.seen {
			p.seen = len(lines)
			ns, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return time.Unix(0, ns)
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.Fatalf("%s: the phase script did not start within 2 minutes of a change", p.name)
	return time.Time{}
}

func startAgent(b *testing.B, ctx context.Context, c refresh.Collector, root string) {
	a, err := refresh.NewAgent([]refresh.Collector{c}, refresh.NewCache(filepath.Join(root, "cache"), &refresh.CacheOptions{NoSync: true}), &refresh.AgentOptions{
		Applier:     &refresh.ConfigApplier{TemplatesDir: filepath.Join(root, "templates"), OutputDir: filepath.Join(root, "out"), NoSync: true},
		Phases:      refresh.NewPhaseRunner(filepath.Join(root, "phases"), &refresh.PhaseOptions{LockFile: filepath.Join(root, "lock")}),
		MinInterval: time.Second,
		MaxInterval: time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = a.Run(ctx) }()
}

// BenchmarkChangeToFirstScript measures, side by side and alternately in
// one run, the latency from a metadata change at the source to the first
// phase script starting:
//
//   - watch: our Agent with the Watch (long-poll) collector;
//   - poll-1s: our Agent polling with the Request collector every second;
//   - occ-poll-1s: Debian's os-collect-config (request collector,
//     --min-polling-interval 1 --polling-interval 1) running the real
//     os-refresh-config and dib-run-parts.
//
// Each iteration changes the three sources in turn; the metrics are the
// median latencies in milliseconds. Run with -benchtime=Nx (each
// iteration takes a few seconds because of the 1 s polls).
func BenchmarkChangeToFirstScript(b *testing.B) {
	occ := peertest.Look(b, "os-collect-config", "os-refresh-config", "dib-run-parts")[0]
	ms := refresh.NewMetadataServer(nil)
	srv := httptest.NewServer(ms)
	b.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()

	watch, wroot := newPipeline(b, "watch")
	poll, proot := newPipeline(b, "poll")
	real, rroot := newPipeline(b, "occ")
	pipes := []*pipeline{watch, poll, real}
	for i, p := range pipes {
		ms.Set(p.path, mustJSON(b, `{"v": 0}`))
		_ = i
	}
	startAgent(b, ctx, refresh.NewWatch(srv.URL+watch.path, nil), wroot)
	startAgent(b, ctx, refresh.NewRequest(srv.URL+poll.path, nil), proot)
	cmd := exec.CommandContext(ctx, occ, "--config-file", "/dev/null",
		"--cachedir", filepath.Join(rroot, "cache"), "--backup-cachedir", filepath.Join(rroot, "backup"),
		"--min-polling-interval", "1", "--polling-interval", "1",
		"--request-metadata-url", srv.URL+real.path,
		"--command", "os-refresh-config --lockfile "+filepath.Join(rroot, "lock"), "request")
	cmd.Env = append(os.Environ(), "OS_REFRESH_CONFIG_BASE_DIR="+filepath.Join(rroot, "phases"), "no_proxy=127.0.0.1,localhost")
	var occErr bytes.Buffer
	cmd.Stderr = &occErr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	for _, p := range pipes { // the initial metadata runs the phases once
		p.waitStart(b)
	}

	lat := map[string][]time.Duration{}
	i := 0
	for b.Loop() {
		for _, p := range pipes {
			i++
			t0 := time.Now()
			ms.Set(p.path, mustJSON(b, fmt.Sprintf(`{"v": %d}`, i)))
			lat[p.name] = append(lat[p.name], p.waitStart(b).Sub(t0))
		}
	}
	for _, p := range pipes {
		d := lat[p.name]
		slices.Sort(d)
		label := map[string]string{"watch": "watch", "poll": "poll-1s", "occ": "occ-poll-1s"}[p.name]
		b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, label+"-p50-ms")
		b.ReportMetric(float64(d[len(d)-1].Microseconds())/1000, label+"-max-ms")
	}
}

// BenchmarkPhaseTree runs a phase tree of 20 trivial scripts (with an
// environment.d file) with our PhaseRunner and with Debian's
// os-refresh-config + dib-run-parts, alternately in one run.
func BenchmarkPhaseTree(b *testing.B) {
	orc := peertest.Look(b, "os-refresh-config", "dib-run-parts")[0]
	base := b.TempDir()
	for i := range 20 {
		phase := refresh.Phases[i%len(refresh.Phases)]
		p := filepath.Join(base, phase+".d", fmt.Sprintf("%02d-step", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n: \"$STEP_ENV\"\n"), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(base, "environment.d"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "environment.d", "10-env"), []byte("export STEP_ENV=1\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	lock := filepath.Join(b.TempDir(), "lock")
	r := refresh.NewPhaseRunner(base, &refresh.PhaseOptions{LockFile: lock})
	var ours, real []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := r.Run(b.Context()); err != nil {
			b.Fatal(err)
		}
		ours = append(ours, time.Since(t0))
		t0 = time.Now()
		cmd := exec.CommandContext(b.Context(), orc, "--lockfile", lock)
		cmd.Env = append(os.Environ(), "OS_REFRESH_CONFIG_BASE_DIR="+base)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("os-refresh-config: %v\n%s", err, out)
		}
		real = append(real, time.Since(t0))
	}
	slices.Sort(ours)
	slices.Sort(real)
	b.ReportMetric(float64(ours[len(ours)/2].Microseconds())/1000, "ours-p50-ms")
	b.ReportMetric(float64(real[len(real)/2].Microseconds())/1000, "orc-p50-ms")
}
