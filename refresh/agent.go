package refresh

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tripleo-go/tripleo/config"
)

// Applier renders configuration from the collected metadata files (in
// order, later files winning), as os-apply-config does, and returns the
// paths it changed.
type Applier interface {
	Apply(ctx context.Context, metadataFiles []string) (changed []string, err error)
}

// ConfigApplier is the Applier over config.Apply: the metadata files are
// loaded and deep-merged with config.LoadMetadata (os-apply-config's
// legacy heat-cfntools fallback files are not read), then the templates
// tree is rendered into the output tree.
type ConfigApplier struct {
	// TemplatesDir is the templates root (os-apply-config's -t).
	TemplatesDir string
	// OutputDir is the output root ("" means "/").
	OutputDir string
	// Renderer renders templates (nil: os-apply-config's mustache).
	Renderer config.Renderer
	// NoSync skips fsync (tests, benchmarks).
	NoSync bool
	// Logger receives os-apply-config's messages. Nil discards.
	Logger *slog.Logger
}

// Apply loads the metadata and renders the templates.
func (a *ConfigApplier) Apply(ctx context.Context, files []string) ([]string, error) {
	md, err := config.LoadMetadata(files)
	if err != nil {
		return nil, err
	}
	res, err := config.Apply(ctx, md, &config.ApplyOptions{
		TemplatesDir: a.TemplatesDir,
		OutputDir:    a.OutputDir,
		Renderer:     a.Renderer,
		NoSync:       a.NoSync,
		Logger:       a.Logger,
	})
	if err != nil {
		return nil, err
	}
	changed := make([]string, 0, len(res.Changes))
	for _, c := range res.Changes {
		changed = append(changed, c.Path)
	}
	return changed, nil
}

// AgentEventKind says what an AgentEvent reports.
type AgentEventKind int

const (
	// AgentChanged: a round collected new metadata; the run starts.
	AgentChanged AgentEventKind = iota
	// AgentApplied: the configuration was rendered (Changed lists files).
	AgentApplied
	// AgentRunSucceeded: apply and phases succeeded.
	AgentRunSucceeded
	// AgentRunFailed: apply or a phase failed (Err).
	AgentRunFailed
	// AgentSignaled: a deployment's result was delivered.
	AgentSignaled
	// AgentSignalFailed: a signal could not be delivered; it is retried
	// every round.
	AgentSignalFailed
)

// String returns the kind's name ("changed", "applied"...).
func (k AgentEventKind) String() string {
	switch k {
	case AgentChanged:
		return "changed"
	case AgentApplied:
		return "applied"
	case AgentRunSucceeded:
		return "run-succeeded"
	case AgentRunFailed:
		return "run-failed"
	case AgentSignaled:
		return "signaled"
	case AgentSignalFailed:
		return "signal-failed"
	}
	return fmt.Sprintf("AgentEventKind(%d)", int(k))
}

// AgentEvent is a progress report of an Agent.
type AgentEvent struct {
	Kind       AgentEventKind
	Time       time.Time
	Changed    []string // AgentChanged: cache names; AgentApplied: files
	Deployment string   // AgentSignaled, AgentSignalFailed
	StatusCode int      // AgentSignaled: the status sent
	Err        error
}

// AgentOptions configure an Agent. The zero value runs no apply, no
// phases and no signal: only the collection and the cache.
type AgentOptions struct {
	// Applier renders the configuration (nil: nothing is rendered).
	Applier Applier
	// Phases runs the phase scripts, with OS_CONFIG_FILES set (nil: none).
	Phases *PhaseRunner
	// Signaler reports each deployment's result (nil: none).
	Signaler Signaler
	// SignalState is the file recording which deployments were signaled
	// (zero: agent-signals.json in the cache directory), so a restart does
	// not signal them again.
	SignalState string
	// DeploymentKeys name the deployments lists (nil: DefaultDeploymentKeys).
	DeploymentKeys []string
	// OutputLimit is how much of the scripts' stdout and stderr (the tail)
	// goes into a signal (zero: 64 KiB each).
	OutputLimit int
	// Poll settings, as in PollOptions.
	MinInterval, MaxInterval, Splay time.Duration
	// OneTime runs one round and returns its result.
	OneTime bool
	// Logger receives progress. Nil discards.
	Logger *slog.Logger
	// OnEvent, when set, is called synchronously for each event.
	OnEvent func(AgentEvent)
	// Stop, when closed, ends Run after the current run (see PollOptions).
	Stop <-chan struct{}
}

// Agent is the node agent: collect → apply → phases → signal, in one loop
// (Poll's, so the backoff, splay and watcher rules hold). A change is
// committed (.last) only after apply and every phase succeeded, so a
// failed run, or a crash before the commit, is run again at the next
// round or restart; a change arriving while the phases run is applied
// right after; phases never run concurrently; a failed run is signalled
// as a failure (its status code and the tail of the scripts' stderr),
// never as a success.
//
// After every successful run the older wait-condition completion of
// TripleO's 99-refresh-completed is sent too, when the metadata asks for it
// and the Signaler implements CompletionSignaler (see Completion).
//
// Deployments signalled are those of group os-apply-config or
// Heat::Ungrouped (the ones os-collect-config explodes and os-apply-config
// renders), once per content of the deployment: other groups are signalled
// by their heat-config hooks, as in TripleO.
type Agent struct {
	collectors []Collector
	cache      *Cache
	opts       AgentOptions
	log        *slog.Logger
	mu         sync.Mutex
	done       map[string]bool // signal keys delivered
	retry      []pendingSignal // signals to deliver again
}

type pendingSignal struct {
	key string
	dep Deployment
	sig Signal
}

// NewAgent returns an agent over the collectors (run in order every
// round) and the cache. It fails when either is missing.
func NewAgent(collectors []Collector, cache *Cache, opts *AgentOptions) (*Agent, error) {
	if cache == nil || len(collectors) == 0 {
		return nil, errors.New("refresh.NewAgent: collectors and a cache are required")
	}
	a := &Agent{collectors: slices.Clone(collectors), cache: cache, done: map[string]bool{}}
	if opts != nil {
		a.opts = *opts
	}
	a.log = a.opts.Logger
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.opts.OutputLimit <= 0 {
		a.opts.OutputLimit = 64 << 10
	}
	if a.opts.SignalState == "" {
		a.opts.SignalState = filepath.Join(a.cache.Dir(), "agent-signals.json")
	}
	if b, err := os.ReadFile(a.opts.SignalState); err == nil {
		if v, err := config.DecodeJSON(b); err == nil {
			list, _ := v.([]any)
			for _, k := range list {
				if s, ok := k.(string); ok {
					a.done[s] = true
				}
			}
		} else {
			a.log.Warn(fmt.Sprintf("%s: %v; every deployment will be signalled again", a.opts.SignalState, err))
		}
	}
	return a, nil
}

func (a *Agent) event(e AgentEvent) {
	e.Time = time.Now()
	if a.opts.OnEvent != nil {
		a.opts.OnEvent(e)
	}
}

// Run runs the loop until ctx ends (it then returns ctx's cause) or, with
// OneTime, after one round (it returns the run's error).
func (a *Agent) Run(ctx context.Context) error {
	return Poll(ctx, &PollOptions{
		Collectors:  a.collectors,
		Cache:       a.cache,
		Run:         a.step,
		OneTime:     a.opts.OneTime,
		MinInterval: a.opts.MinInterval,
		MaxInterval: a.opts.MaxInterval,
		Splay:       a.opts.Splay,
		Logger:      a.log,
		Stop:        a.opts.Stop,
		OnRound: func(*Round, error) {
			a.retrySignals(ctx)
		},
	})
}

// step is one run for a changed round.
func (a *Agent) step(ctx context.Context, r *Round) error {
	a.event(AgentEvent{Kind: AgentChanged, Changed: slices.Clone(r.Changed)})
	stdout := &tailBuffer{max: a.opts.OutputLimit}
	stderr := &tailBuffer{max: a.opts.OutputLimit}
	var runErr error
	if a.opts.Applier != nil {
		changed, err := a.opts.Applier.Apply(ctx, r.Paths)
		if err != nil {
			runErr = fmt.Errorf("apply configuration: %w", err)
		} else {
			a.log.Info(fmt.Sprintf("configuration applied: %d files changed", len(changed)))
			a.event(AgentEvent{Kind: AgentApplied, Changed: changed})
		}
	}
	if runErr == nil && a.opts.Phases != nil {
		_, runErr = a.opts.Phases.RunWith(ctx, &RunOptions{
			Env:    []string{"OS_CONFIG_FILES=" + strings.Join(r.Paths, ":")},
			Stdout: stdout,
			Stderr: stderr,
		})
	}
	if ctx.Err() != nil {
		// Stopping (or the process is going away): nothing is committed or
		// signalled; the next start runs this change again.
		return context.Cause(ctx)
	}
	if runErr != nil {
		a.event(AgentEvent{Kind: AgentRunFailed, Err: runErr})
	} else {
		a.event(AgentEvent{Kind: AgentRunSucceeded})
		a.complete(ctx, r)
	}
	a.signal(ctx, r, runErr, stdout.String(), stderr.String())
	return runErr
}

// complete sends the older wait-condition completion (see Completion)
// after a successful run, when the Signaler can.
func (a *Agent) complete(ctx context.Context, r *Round) {
	cs, ok := a.opts.Signaler.(CompletionSignaler)
	if !ok {
		return
	}
	sent := map[Completion]bool{}
	for _, o := range r.Outputs {
		md, ok := o.Content.(*config.Object)
		if !ok {
			continue
		}
		c, ok := CompletionFrom(md)
		if !ok || sent[c] {
			continue
		}
		sent[c] = true
		if err := cs.SignalCompletion(ctx, c); err != nil {
			a.log.Warn("completion signal failed", "err", err)
			a.event(AgentEvent{Kind: AgentSignalFailed, Deployment: c.InstanceID, Err: err})
			continue
		}
		a.event(AgentEvent{Kind: AgentSignaled, Deployment: c.InstanceID})
	}
}

// signal reports the run's result for every deployment not yet signalled
// with this content.
func (a *Agent) signal(ctx context.Context, r *Round, runErr error, stdout, stderr string) {
	if a.opts.Signaler == nil {
		return
	}
	sig := Signal{StatusCode: 0, Stdout: stdout, Stderr: stderr}
	if runErr != nil {
		sig.StatusCode = 1
		var pe *PhaseError
		if errors.As(runErr, &pe) && pe.ExitCode > 0 {
			sig.StatusCode = pe.ExitCode
		}
		if sig.Stderr != "" && !strings.HasSuffix(sig.Stderr, "\n") {
			sig.Stderr += "\n"
		}
		sig.Stderr += runErr.Error()
	}
	seen := map[string]bool{}
	for _, o := range r.Outputs {
		md, ok := o.Content.(*config.Object)
		if !ok {
			continue
		}
		for _, d := range Deployments(md, a.opts.DeploymentKeys) {
			if d.Group != "os-apply-config" && d.Group != "Heat::Ungrouped" {
				continue
			}
			key := signalKey(d)
			if seen[key] {
				continue
			}
			seen[key] = true
			a.mu.Lock()
			done := a.done[key]
			a.mu.Unlock()
			if done {
				continue
			}
			a.deliver(ctx, pendingSignal{key: key, dep: d, sig: sig})
		}
	}
}

func (a *Agent) deliver(ctx context.Context, p pendingSignal) {
	who := p.dep.ID
	if who == "" {
		who = p.dep.Name
	}
	err := a.opts.Signaler.Signal(ctx, p.dep, p.sig)
	if errors.Is(err, ErrNoTransport) {
		return
	}
	if err != nil {
		a.log.Warn(fmt.Sprintf("signal for deployment %s failed; will retry", who), "err", err)
		a.event(AgentEvent{Kind: AgentSignalFailed, Deployment: who, Err: err})
		a.mu.Lock()
		a.retry = append(slices.DeleteFunc(a.retry, func(q pendingSignal) bool { return q.key == p.key }), p)
		a.mu.Unlock()
		return
	}
	a.mu.Lock()
	a.done[p.key] = true
	a.retry = slices.DeleteFunc(a.retry, func(q pendingSignal) bool { return q.key == p.key })
	err = a.saveState()
	a.mu.Unlock()
	if err != nil {
		a.log.Warn("cannot record signalled deployments", "err", err)
	}
	a.event(AgentEvent{Kind: AgentSignaled, Deployment: who, StatusCode: p.sig.StatusCode})
}

func (a *Agent) retrySignals(ctx context.Context) {
	a.mu.Lock()
	pending := slices.Clone(a.retry)
	a.mu.Unlock()
	for _, p := range pending {
		if ctx.Err() != nil {
			return
		}
		a.deliver(ctx, p)
	}
}

// saveState writes the delivered signal keys (a.mu held).
func (a *Agent) saveState() error {
	keys := make([]string, 0, len(a.done))
	for k := range a.done {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	list := make([]any, len(keys))
	for i, k := range keys {
		list[i] = k
	}
	if err := os.MkdirAll(filepath.Dir(a.opts.SignalState), 0o755); err != nil {
		return err
	}
	return writeAtomic(a.opts.SignalState, config.AppendJSON(nil, list), "tmp", a.cache.opts.NoSync)
}

// signalKey identifies a deployment and its content: a changed deployment
// (a new config, action or input) is signalled again.
func signalKey(d Deployment) string {
	sum := sha256.Sum256(config.AppendJSON(nil, d.Raw))
	id := d.ID
	if id == "" {
		id = d.Name
	}
	return id + ":" + hex.EncodeToString(sum[:12])
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
	cut bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
		t.cut = true
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cut {
		return "[...]\n" + string(t.buf)
	}
	return string(t.buf)
}
