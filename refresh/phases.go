package refresh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/tripleo-go/tripleo/internal/runparts"
)

// Phases are the phase directories os-refresh-config runs, in its order
// (migration runs after post-configure, as it has since 2014). Each phase
// P is the directory "P.d" under the base directory.
var Phases = []string{"pre-configure", "configure", "post-configure", "migration"}

// ErrorPhase is the phase ("error.d") run after a phase fails.
const ErrorPhase = "error"

// DefaultBaseDir is os-refresh-config's base directory, and LegacyBaseDir
// the deprecated one it still honours (see BaseDir).
const (
	DefaultBaseDir = "/usr/libexec/os-refresh-config"
	LegacyBaseDir  = "/opt/stack/os-config-refresh"
)

// BaseDir returns the base directory as os-refresh-config chooses it:
// $OS_REFRESH_CONFIG_BASE_DIR when set (even empty), else LegacyBaseDir if
// it is a directory and DefaultBaseDir is not (deprecated is then true),
// else DefaultBaseDir.
func BaseDir(lookupEnv func(string) (string, bool)) (dir string, deprecated bool) {
	if d, ok := lookupEnv("OS_REFRESH_CONFIG_BASE_DIR"); ok {
		return d, false
	}
	if isDir(LegacyBaseDir) && !isDir(DefaultBaseDir) {
		return LegacyBaseDir, true
	}
	return DefaultBaseDir, false
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// Sentinel errors callers branch on.
var (
	// ErrLocked: another run holds the lock file.
	ErrLocked = errors.New("refresh: lock is held by another run")
	// ErrTimeout: the run's Timeout was reached and the running script was
	// killed with its process group.
	ErrTimeout = errors.New("refresh: timeout reached")
)

// PhaseError is a failed phase: the script that failed (or the
// environment.d file that could not be sourced, or "" when the phase path
// is not a directory) and its exit status (128+N when killed by signal N,
// as a shell reports it).
type PhaseError struct {
	Phase    string // "configure"
	Script   string // "20-foo", "../environment.d/10-env", or ""
	ExitCode int
	Err      error // the underlying error (ErrTimeout, *exec.ExitError...)
}

// Error names the phase, the script and the exit status.
func (e *PhaseError) Error() string {
	if e.Script == "" {
		return fmt.Sprintf("phase %s failed with exit status %d: %v", e.Phase, e.ExitCode, e.Err)
	}
	return fmt.Sprintf("phase %s: script %s failed with exit status %d: %v", e.Phase, e.Script, e.ExitCode, e.Err)
}

// Unwrap returns the underlying error.
func (e *PhaseError) Unwrap() error { return e.Err }

// ScriptRun is one script's run, as dib-run-parts' profile reports it.
type ScriptRun struct {
	Phase    string
	Script   string
	Start    time.Time
	Duration time.Duration
	ExitCode int
}

// Report is what a run did: every script started, in order, with its
// duration (the last one is the failing one after a failure), and the
// error.d scripts run after a failure.
type Report struct {
	Scripts []ScriptRun
	// ErrorHandlers are the error.d scripts run after a failure.
	ErrorHandlers []ScriptRun
}

// EventKind says what an Event reports.
type EventKind int

const (
	// PhaseStarted: a phase directory is about to be run.
	PhaseStarted EventKind = iota
	// ScriptStarted: a script has been started.
	ScriptStarted
	// ScriptFinished: a script has ended; Run holds its result.
	ScriptFinished
	// PhaseFinished: a phase completed successfully.
	PhaseFinished
)

// String returns the kind's name ("phase-started"...).
func (k EventKind) String() string {
	switch k {
	case PhaseStarted:
		return "phase-started"
	case ScriptStarted:
		return "script-started"
	case ScriptFinished:
		return "script-finished"
	case PhaseFinished:
		return "phase-finished"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a progress report of a run.
type Event struct {
	Kind EventKind
	Run  ScriptRun // Phase always; Script, Start, Duration, ExitCode as known
}

// PhaseOptions configure a PhaseRunner. The zero value is usable.
type PhaseOptions struct {
	// Logger receives progress and the scripts' output, one record per
	// line with the script's name. Nil discards.
	Logger *slog.Logger
	// OutputLevel is the level of the scripts' output lines in Logger
	// (zero: Info).
	OutputLevel slog.Level
	// LockFile, when set, is flock()ed for the whole run, so two runs (in
	// this process or others, os-refresh-config included) never overlap.
	// A held lock fails the run at once with ErrLocked.
	LockFile string
	// Timeout bounds the whole run (0: none). When it is reached the
	// running script's process group is killed and the run fails with a
	// *PhaseError wrapping ErrTimeout; error.d then runs without a timeout.
	Timeout time.Duration
	// Env is the scripts' base environment (nil: os.Environ()).
	Env []string
	// Dir is the scripts' working directory ("": this process's), e.g.
	// the root of a machine whose scripts use relative paths.
	Dir string
	// Stdin is given to every script (nil: /dev/null).
	Stdin io.Reader
	// Stdout and Stderr, when set, also receive the scripts' raw output,
	// as os-refresh-config's own stdout and stderr would.
	Stdout, Stderr io.Writer
	// OnEvent, when set, is called synchronously for each Event.
	OnEvent func(Event)
	// Phases overrides the phase list (nil: Phases).
	Phases []string
	// WaitDelay bounds how long output is still read after a script exits
	// while a process it left behind holds its output open (zero: 1s).
	WaitDelay time.Duration
}

// PhaseRunner runs the phase directories under a base directory as
// os-refresh-config does with dib-run-parts. It is safe for concurrent use;
// concurrent runs of one PhaseRunner are serialised.
type PhaseRunner struct {
	mu  sync.Mutex // serialises runs
	cfg phaseRun
}

// phaseRun is the configuration of one run.
type phaseRun struct {
	base string
	opts PhaseOptions
	log  *slog.Logger
}

// NewPhaseRunner returns a runner for the phases under baseDir.
func NewPhaseRunner(baseDir string, opts *PhaseOptions) *PhaseRunner {
	r := &PhaseRunner{cfg: phaseRun{base: baseDir}}
	c := &r.cfg
	if opts != nil {
		c.opts = *opts
	}
	c.log = c.opts.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.opts.Phases == nil {
		c.opts.Phases = Phases
	}
	if c.opts.WaitDelay == 0 {
		c.opts.WaitDelay = time.Second
	}
	return r
}

// BaseDir returns the runner's base directory.
func (r *PhaseRunner) BaseDir() string { return r.cfg.base }

// Run runs every phase whose path exists, in order. The first failing
// script stops the run: error.d runs (its result is ignored) and Run
// returns a *PhaseError. The Report is returned in every case.
//
// When ctx is cancelled the running script's process group is killed, the
// run stops with ctx's error and error.d does not run.
func (r *PhaseRunner) Run(ctx context.Context) (*Report, error) {
	return r.RunWith(ctx, nil)
}

// RunOptions adjust one run of a PhaseRunner.
type RunOptions struct {
	// Env is added to the runner's environment (later entries win), e.g.
	// OS_CONFIG_FILES for this run.
	Env []string
	// Stdout and Stderr, when set, also receive the scripts' raw output of
	// this run (besides the runner's own writers).
	Stdout, Stderr io.Writer
}

// RunWith is Run with per-run options (nil: none).
func (r *PhaseRunner) RunWith(ctx context.Context, ro *RunOptions) (*Report, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	run := r.cfg
	if ro != nil {
		if ro.Env != nil {
			base := run.opts.Env
			if base == nil {
				base = os.Environ()
			}
			run.opts.Env = append(base[:len(base):len(base)], ro.Env...)
		}
		run.opts.Stdout = joinWriters(run.opts.Stdout, ro.Stdout)
		run.opts.Stderr = joinWriters(run.opts.Stderr, ro.Stderr)
	}
	return run.run(ctx)
}

func joinWriters(a, b io.Writer) io.Writer {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return io.MultiWriter(a, b)
}

func (r *phaseRun) run(ctx context.Context) (*Report, error) {
	rep := &Report{}
	if r.opts.LockFile != "" {
		unlock, err := Lock(r.opts.LockFile)
		if err != nil {
			return rep, err
		}
		defer unlock()
	}
	runCtx := ctx
	if r.opts.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeoutCause(ctx, r.opts.Timeout, ErrTimeout)
		defer cancel()
	}
	for _, phase := range r.opts.Phases {
		dir := r.base + "/" + phase + ".d"
		if _, err := os.Stat(dir); err != nil {
			r.log.Debug("No dir for phase "+phase, "phase", phase)
			continue
		}
		r.log.Info("Starting phase "+phase, "phase", phase)
		r.event(Event{Kind: PhaseStarted, Run: ScriptRun{Phase: phase}})
		runs, err := r.runParts(runCtx, phase, dir)
		rep.Scripts = append(rep.Scripts, runs...)
		if err == nil {
			r.log.Info("Completed phase "+phase, "phase", phase)
			r.event(Event{Kind: PhaseFinished, Run: ScriptRun{Phase: phase}})
			continue
		}
		if ctx.Err() != nil {
			return rep, err
		}
		r.log.Error("during "+phase+" phase. ["+err.Error()+"]", "phase", phase, "err", err)
		errDir := r.base + "/" + ErrorPhase + ".d"
		if _, serr := os.Stat(errDir); serr == nil {
			r.log.Info("Calling error handlers.")
			ectx := runCtx
			if runCtx.Err() != nil { // the timeout fired: error.d runs without one
				ectx = context.WithoutCancel(ctx)
			}
			erun, _ := r.runParts(ectx, ErrorPhase, errDir)
			rep.ErrorHandlers = erun
		}
		r.log.Error("Aborting...")
		return rep, err
	}
	return rep, nil
}

// RunPhase runs one phase directory (dir is "<base>/<phase>.d") as
// dib-run-parts does, without locking, timeout or error.d.
func (r *PhaseRunner) RunPhase(ctx context.Context, phase string) ([]ScriptRun, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg.runParts(ctx, phase, r.cfg.base+"/"+phase+".d")
}

func (r *phaseRun) event(e Event) {
	if r.opts.OnEvent != nil {
		r.opts.OnEvent(e)
	}
}

// runParts is dib-run-parts DIR.
func (r *phaseRun) runParts(ctx context.Context, phase, dir string) ([]ScriptRun, error) {
	re, err := runparts.Regex(func(k string) string { return lookup(r.opts.Env, k) })
	if err != nil {
		return nil, &PhaseError{Phase: phase, ExitCode: 1, Err: err}
	}
	names, err := runparts.List(dir, re)
	if err != nil {
		return nil, &PhaseError{Phase: phase, ExitCode: 1, Err: err}
	}
	files, err := runparts.EnvironmentFiles(dir)
	if err != nil {
		return nil, &PhaseError{Phase: phase, ExitCode: 1, Err: err}
	}
	if len(names) == 0 && len(files) == 0 {
		return nil, nil
	}
	envOut := r.lineWriter(phase, "environment.d", "stdout", r.opts.Stdout)
	envErr := r.lineWriter(phase, "environment.d", "stderr", r.opts.Stderr)
	env, err := runparts.Environment(ctx, files, r.opts.Env, envOut, envErr)
	envOut.flush()
	envErr.flush()
	if err != nil {
		var ee *runparts.EnvError
		pe := &PhaseError{Phase: phase, ExitCode: 1, Err: err}
		if errors.As(err, &ee) {
			pe.Script, pe.ExitCode = "../environment.d/"+baseName(ee.File), ee.ExitCode
		}
		if c := context.Cause(ctx); c != nil {
			pe.Err = fmt.Errorf("%w: %w", c, err)
		}
		return nil, pe
	}
	var runs []ScriptRun
	for _, name := range names {
		if err := context.Cause(ctx); err != nil {
			return runs, &PhaseError{Phase: phase, Script: name, ExitCode: -1, Err: fmt.Errorf("not started: %w", err)}
		}
		run, err := r.runScript(ctx, phase, dir, name, env)
		runs = append(runs, run)
		if err != nil {
			return runs, err
		}
	}
	return runs, nil
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// lookup finds key in env (os.Getenv when env is nil).
func lookup(env []string, key string) string {
	if env == nil {
		return os.Getenv(key)
	}
	v := ""
	for _, kv := range env {
		if len(kv) > len(key) && kv[len(key)] == '=' && kv[:len(key)] == key {
			v = kv[len(key)+1:]
		}
	}
	return v
}

func (r *phaseRun) runScript(ctx context.Context, phase, dir, name string, env []string) (ScriptRun, error) {
	path := runparts.Join(dir, name)
	run := ScriptRun{Phase: phase, Script: name}
	stdout := r.lineWriter(phase, name, "stdout", r.opts.Stdout)
	stderr := r.lineWriter(phase, name, "stderr", r.opts.Stderr)
	defer stdout.flush()
	defer stderr.flush()
	scriptEnv := append(env[:len(env):len(env)], "_="+path)
	start := func(argv ...string) (*exec.Cmd, error) {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = scriptEnv
		cmd.Dir = r.opts.Dir
		cmd.Stdin = r.opts.Stdin
		cmd.Stdout = stdout
		cmd.Stderr = stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = r.opts.WaitDelay
		return cmd, cmd.Start()
	}
	r.log.Info("Running "+path, "phase", phase, "script", name)
	run.Start = time.Now()
	cmd, err := start(path)
	if errors.Is(err, syscall.ENOEXEC) {
		// No "#!": bash, which dib-run-parts is, runs it as a shell script.
		cmd, err = start("bash", path)
	}
	if err != nil {
		run.ExitCode = 126
		if errors.Is(err, syscall.ENOENT) {
			run.ExitCode = 127
		}
		r.event(Event{Kind: ScriptStarted, Run: run})
		run.Duration = time.Since(run.Start)
		r.event(Event{Kind: ScriptFinished, Run: run})
		return run, &PhaseError{Phase: phase, Script: name, ExitCode: run.ExitCode, Err: err}
	}
	r.event(Event{Kind: ScriptStarted, Run: run})
	err = cmd.Wait()
	run.Duration = time.Since(run.Start)
	if err != nil && errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState.Success() {
		r.log.Warn("script left a process holding its output open", "phase", phase, "script", name)
		err = nil
	}
	if err != nil {
		run.ExitCode = exitCode(cmd.ProcessState)
	}
	r.event(Event{Kind: ScriptFinished, Run: run})
	if err != nil {
		if c := context.Cause(ctx); c != nil {
			err = fmt.Errorf("%w: %w", c, err)
		}
		return run, &PhaseError{Phase: phase, Script: name, ExitCode: run.ExitCode, Err: err}
	}
	r.log.Info(name+" completed", "phase", phase, "script", name, "seconds", run.Duration.Seconds())
	return run, nil
}

// exitCode is the status a shell reports: the exit code, or 128+N when
// the process was killed by signal N.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// lineLogger is an io.Writer that logs each complete line and copies the
// raw bytes to an optional writer.
type lineLogger struct {
	r           *phaseRun
	phase, name string
	stream      string
	raw         io.Writer
	mu          sync.Mutex
	buf         []byte
}

func (r *phaseRun) lineWriter(phase, name, stream string, raw io.Writer) *lineLogger {
	return &lineLogger{r: r, phase: phase, name: name, stream: stream, raw: raw}
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.raw != nil {
		_, _ = l.raw.Write(p)
	}
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 64<<10 { // a very long line is logged in pieces
		l.emit(l.buf)
		l.buf = nil
	}
	return len(p), nil
}

func (l *lineLogger) emit(line []byte) {
	l.r.log.Log(context.Background(), l.r.opts.OutputLevel, string(line),
		"phase", l.phase, "script", l.name, "stream", l.stream)
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = nil
	}
}
