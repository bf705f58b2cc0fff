package orchestrate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tripleo-go/tripleo/orchestrate/hot"
)

// Options configure an Engine. The zero value is usable.
type Options struct {
	// Types holds the resource plug-ins; nil means NewTypes().
	Types *Types
	// Parallelism bounds the plug-in calls in flight; 0 means 64.
	Parallelism int
	// Timeout bounds a whole stack operation; 0 means none.
	Timeout time.Duration
	// ResourceTimeout bounds each plug-in call; 0 means none.
	ResourceTimeout time.Duration
	// Events receives every event as it happens, one call at a time.
	Events func(Event)
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// Holder names this engine in the stack lease; "" means host:pid.
	Holder string
	// Loader reads files (get_file, template resources) that the input's
	// files map lacks; nil means none.
	Loader hot.Loader

	// Metadata receives each server's metadata document for software
	// deployments (refresh.MetadataServer fits); nil keeps it in the state
	// only (see Engine.ServerMetadata).
	Metadata MetadataPublisher
	// MetadataURL is the base URL at which Metadata is served, written in
	// each server's os-collect-config section as {MetadataURL}/{token}.
	MetadataURL string
	// SignalURL is the base URL at which SignalHandler is served, handed
	// out by wait condition handles as {SignalURL}/{token}; "" means none.
	SignalURL string
	// MaxEvents bounds the event history kept beside the state file
	// (Events): the oldest events go first; 0 means DefaultMaxEvents,
	// a negative value keeps every event.
	MaxEvents int
	// DisableRollback leaves a failed create or update FAILED instead of
	// rolling back to the last good template (Heat's disable_rollback).
	DisableRollback bool

	// afterRecord is a test hook called after each durable journal record.
	afterRecord func(seq uint64)
}

// Embedded is the embedded Engine: it runs stack operations on one stack whose
// state lives in one file.
// Its methods are safe for concurrent use; a second operation while one
// runs fails with ErrLocked.
type Embedded struct {
	path   string
	opts   Options
	types  *Types
	log    *slog.Logger
	j      *journal
	lock   *os.File
	holder string

	opMu       sync.Mutex
	srvMu      sync.Mutex // serialises server metadata changes
	evMu       sync.Mutex
	events     *eventLog  // guarded by evMu
	hookMu     sync.Mutex // serialises ClearHook
	runMu      sync.Mutex
	update     *running // the update CancelUpdate cancels; guarded by runMu
	resumed    bool
	resumeErr  error         // set before resumeDone is closed
	resumeDone chan struct{} // closed when the resumed operation ends
}

// Open opens (or creates) the stack state file at path and takes the
// stack's lease. If the file records an operation that was interrupted (the
// process died), Open resumes it in the background, under ctx: resources
// whose plug-in call may or may not have happened are looked up with Check
// and adopted, so each is created exactly once. Until it ends, other
// operations get ErrLocked while signals (Signal, SignalHandler) are
// accepted, so a resumed deployment can still be signalled. Resumed waits
// for it and reports the outcome.
func Open(ctx context.Context, path string, opts *Options) (*Embedded, error) {
	e := &Embedded{path: path}
	if opts != nil {
		e.opts = *opts
	}
	e.types = e.opts.Types
	if e.types == nil {
		e.types = NewTypes()
	}
	e.log = e.opts.Logger
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e.holder = e.opts.Holder
	if e.holder == "" {
		h, _ := os.Hostname()
		e.holder = fmt.Sprintf("%s:%d", h, os.Getpid())
	}
	if err := e.takeLease(); err != nil {
		return nil, err
	}
	j, err := openJournal(path)
	if err != nil {
		e.releaseLease()
		return nil, err
	}
	j.hook = e.opts.afterRecord
	e.j = j
	maxEvents := e.opts.MaxEvents
	if maxEvents == 0 {
		maxEvents = DefaultMaxEvents
	}
	if e.events, err = openEventLog(path+".events", maxEvents, e.log); err != nil {
		j.close()
		e.releaseLease()
		return nil, err
	}
	if err := e.publishAll(); err != nil {
		j.close()
		e.events.close()
		e.releaseLease()
		return nil, fmt.Errorf("publish metadata: %w", err)
	}
	e.resumeDone = make(chan struct{})
	op := j.st.Op
	if op == nil {
		close(e.resumeDone)
		return e, nil
	}
	e.resumed = true
	e.log.Info("resuming interrupted operation", "stack", j.st.Name, "action", op.Action, "holder", op.Holder)
	e.opMu.Lock() // held by the resumed operation
	go func() {
		defer close(e.resumeDone)
		defer e.opMu.Unlock()
		e.resumeErr = e.run(ctx, op.Action, op.Input, true)
	}()
	return e, nil
}

func (e *Embedded) takeLease() error {
	f, err := os.OpenFile(e.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("stack lease: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := io.ReadAll(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("%w: held by %s", ErrLocked, strings.TrimSpace(string(holder)))
		}
		return fmt.Errorf("stack lease: %w", err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(e.holder+"\n"), 0)
	e.lock = f
	return nil
}

func (e *Embedded) releaseLease() {
	if e.lock != nil {
		e.lock.Truncate(0)
		e.lock.Close() // closing drops the flock
		e.lock = nil
	}
}

// Close releases the state file and the lease.
func (e *Embedded) Close() error {
	if !e.opMu.TryLock() {
		return fmt.Errorf("%w: an operation is running", ErrLocked)
	}
	defer e.opMu.Unlock()
	err := e.j.close()
	e.evMu.Lock()
	err = errors.Join(err, e.events.close())
	e.evMu.Unlock()
	e.releaseLease()
	return err
}

// Resumed waits until the operation Open resumed (if any) has ended, and
// reports whether there was one and the error with which it ended (nil if
// it completed), or ctx's error if ctx ends first.
func (e *Embedded) Resumed(ctx context.Context) (bool, error) {
	select {
	case <-e.resumeDone:
		return e.resumed, e.resumeErr
	case <-ctx.Done():
		return e.resumed, ctx.Err()
	}
}

func (e *Embedded) begin() error {
	if !e.opMu.TryLock() {
		e.j.mu.Lock()
		h := e.holder
		if e.j.st.Op != nil {
			h = e.j.st.Op.Holder
		}
		e.j.mu.Unlock()
		return fmt.Errorf("%w: held by %s", ErrLocked, h)
	}
	return nil
}

// Create creates a new stack named name from in.
func (e *Embedded) Create(ctx context.Context, name string, in *Input) error {
	if err := e.begin(); err != nil {
		return err
	}
	defer e.opMu.Unlock()
	e.j.mu.Lock()
	exists := e.j.st.ID != "" && !(e.j.st.Action == ActionDelete && e.j.st.Status == StatusComplete)
	e.j.mu.Unlock()
	if exists {
		return fmt.Errorf("%w: %s", ErrExists, e.j.st.Name)
	}
	if name == "" {
		return fmt.Errorf("%w: the stack needs a name", ErrInvalid)
	}
	if err := in.clearOnlyPatch(); err != nil {
		return err
	}
	return e.runNew(ctx, ActionCreate, name, in)
}

// Update updates the stack to in. An Input whose Template and
// TemplateFile are both empty (or a nil Input) is Heat's PATCH update
// (`openstack stack update --existing`): see Patched.
func (e *Embedded) Update(ctx context.Context, in *Input) error {
	if err := e.beginExisting(); err != nil {
		return err
	}
	defer e.opMu.Unlock()
	in, err := e.patched(in)
	if err != nil {
		return err
	}
	return e.runNew(ctx, ActionUpdate, "", in)
}

// IsPatch reports whether in asks for Heat's PATCH update: no template
// (Template and TemplateFile both empty), or no Input at all.
func (in *Input) IsPatch() bool { return in == nil || in.Template == "" && in.TemplateFile == "" }

// clearOnlyPatch refuses ClearParams on an Input that is not a PATCH
// update.
func (in *Input) clearOnlyPatch() error {
	if in != nil && len(in.ClearParams) > 0 && !in.IsPatch() {
		return fmt.Errorf("%w: ClearParams %v: only a PATCH update (no template) clears parameters", ErrInvalid, in.ClearParams)
	}
	return nil
}

// Patched returns the Input a PATCH update applies on top of deployed (the
// stack's current Input): the deployed template, environments and files
// are kept; patch's Environments are merged after the deployed ones, its
// Files are added (replacing files of the same name), the deployed
// parameters named in its ClearParams are dropped (they take their
// defaults again; a value an environment file sets stays, as it is part
// of that file) and its Params are merged into the deployed parameters.
// An Input that is not a patch is returned as it is.
func Patched(deployed, patch *Input) *Input {
	if !patch.IsPatch() || deployed == nil {
		return patch
	}
	out := &Input{TemplateFile: deployed.TemplateFile, Template: deployed.Template,
		Environments: append([]File{}, deployed.Environments...)}
	if len(deployed.Files) > 0 || patch != nil && len(patch.Files) > 0 {
		out.Files = map[string]string{}
	}
	for k, v := range deployed.Files {
		out.Files[k] = v
	}
	if len(deployed.Params) > 0 || patch != nil && len(patch.Params) > 0 {
		out.Params = map[string]string{}
	}
	for k, v := range deployed.Params {
		if patch == nil || !slices.Contains(patch.ClearParams, k) {
			out.Params[k] = v
		}
	}
	if patch != nil {
		out.Environments = append(out.Environments, patch.Environments...)
		for k, v := range patch.Files {
			out.Files[k] = v
		}
		for k, v := range patch.Params {
			out.Params[k] = v
		}
	}
	return out
}

// patched resolves a PATCH update against the deployed input.
func (e *Embedded) patched(in *Input) (*Input, error) {
	if err := in.clearOnlyPatch(); err != nil {
		return nil, err
	}
	if !in.IsPatch() {
		return in, nil
	}
	e.j.mu.Lock()
	deployed := e.j.st.Input
	e.j.mu.Unlock()
	if deployed == nil {
		return nil, fmt.Errorf("%w: a PATCH update (no template) needs a deployed template", ErrInvalid)
	}
	return Patched(deployed, in), nil
}

// Delete deletes every resource of the stack.
func (e *Embedded) Delete(ctx context.Context) error {
	if err := e.beginExisting(); err != nil {
		return err
	}
	defer e.opMu.Unlock()
	return e.runNew(ctx, ActionDelete, "", nil)
}

// beginExisting starts an operation on the existing stack: ErrLocked
// while another runs, ErrNotFound when there is no stack.
func (e *Embedded) beginExisting() error {
	if err := e.begin(); err != nil {
		return err
	}
	if !e.exists() {
		e.opMu.Unlock()
		return fmt.Errorf("%w: no stack in %s", ErrNotFound, e.path)
	}
	return nil
}

func (e *Embedded) exists() bool {
	e.j.mu.Lock()
	defer e.j.mu.Unlock()
	return e.j.st.ID != "" && !(e.j.st.Action == ActionDelete && e.j.st.Status == StatusComplete)
}

func (e *Embedded) runNew(ctx context.Context, action Action, name string, in *Input) error {
	rec := &record{T: "begin", Op: &opInfo{Action: action, Input: in, Holder: e.holder, Started: time.Now().UTC()}}
	if action == ActionCreate {
		rec.Name, rec.ID = name, newID()
		// A create after a delete starts from an empty state.
		e.j.mu.Lock()
		e.j.st.Resources = map[string]*resState{}
		e.j.mu.Unlock()
	}
	if action != ActionDelete && !(action == ActionRollback && in == nil) {
		// Validate before anything is recorded.
		e.j.mu.Lock()
		sn, sid := e.j.st.Name, e.j.st.ID
		e.j.mu.Unlock()
		if rec.Name != "" {
			sn, sid = rec.Name, rec.ID
		}
		st, err := e.build(in, sn, sid)
		if err != nil {
			return err
		}
		if err := st.CheckCustom(ctx, e.types.lookupConstraint); err != nil {
			return err
		}
		if err := e.checkImmutable(st, sn, sid); err != nil {
			return err
		}
		if err := e.checkPolicies(st); err != nil {
			return err
		}
	}
	if err := e.j.rewrite(rec); err != nil {
		return err
	}
	return e.run(ctx, action, in, false)
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// build parses and instantiates the input.
func (e *Embedded) build(in *Input, stackName, stackID string) (*hot.Stack, error) {
	if in == nil {
		return nil, fmt.Errorf("%w: no template", ErrInvalid)
	}
	tmpl, err := hot.Parse(in.TemplateFile, []byte(in.Template))
	if err != nil {
		return nil, err
	}
	var envs []*hot.Environment
	for _, f := range in.Environments {
		env, err := hot.ParseEnvironment(f.Name, []byte(f.Data))
		if err != nil {
			return nil, err
		}
		envs = append(envs, env)
	}
	env := hot.Merge(envs...)
	for k, v := range in.Params {
		env.Parameters[k] = v
	}
	return hot.Instantiate(tmpl, hot.Options{StackName: stackName, StackID: stackID,
		Env: env, Files: in.Files, Loader: e.opts.Loader})
}

// op is one running stack operation.
type op struct {
	e      *Embedded
	action Action
	stack  *hot.Stack
	hidden []string
	reg    *hot.Registry // hooks; nil: none
	// desired collects the resource ids the template wants.
	mu        sync.Mutex
	desired   map[string]bool
	templates templateCache
	// halt is set by a resource that fails, before its FAILED event: the
	// walk starts nothing after it (see walk).
	halt atomic.Bool
}

func (e *Embedded) run(ctx context.Context, action Action, in *Input, resume bool) (err error) {
	// A rollback after the stack timeout gets a new timeout; only the
	// caller's cancellation stops it.
	callerCtx := ctx
	if e.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.opts.Timeout)
		defer cancel()
	}
	e.j.mu.Lock()
	name, id := e.j.st.Name, e.j.st.ID
	e.j.mu.Unlock()
	cancelled := func() bool { return false }
	if action == ActionUpdate {
		var done func()
		ctx, done = e.cancellable(ctx)
		defer done()
		uctx := ctx
		cancelled = func() bool { return errors.Is(context.Cause(uctx), errCancelled) }
	}
	o := &op{e: e, action: action, desired: map[string]bool{}}
	e.j.mu.Lock()
	o.reg = registryOf(e.j.st.Input) // the deployed environments (delete, check)
	e.j.mu.Unlock()
	e.stackEvent(action, StatusInProgress, fmt.Sprintf("Stack %s started", action))
	var errs []error
	if action == ActionCheck {
		errs = o.checkAll(ctx)
	} else if action == ActionDelete || action == ActionRollback && in == nil {
		errs = o.deleteAll(ctx, nil, true)
	} else {
		st, berr := e.build(in, name, id)
		if berr != nil {
			errs = []error{berr}
		} else {
			o.stack, o.hidden, o.reg = st, st.Hidden(), &st.Env.Registry
			errs = o.converge(ctx)
			if len(errs) == 0 {
				errs = o.deleteAll(ctx, o.undesired(), false)
			}
		}
	}
	status, reason := StatusComplete, fmt.Sprintf("Stack %s completed successfully", action)
	if len(errs) > 0 {
		status = StatusFailed
		msgs := make([]string, len(errs))
		for i, er := range errs {
			msgs[i] = er.Error()
		}
		sort.Strings(msgs)
		reason = o.mask(strings.Join(msgs, "; "))
		if cancelled() {
			reason = errCancelled.Error()
		}
	}
	e.j.mu.Lock()
	good := e.j.st.Good
	e.j.mu.Unlock()
	// A failed create or update rolls back to the last good template (none
	// after a failed create: everything is deleted), unless disabled. The
	// rollback begins in the same record that ends the failed operation,
	// so that a crash between the two cannot skip it.
	rollback := status == StatusFailed && !(e.opts.DisableRollback && !cancelled()) && callerCtx.Err() == nil &&
		(action == ActionCreate || action == ActionUpdate)
	end := &record{T: "end", Status: status, Reason: reason}
	if rollback {
		end.Op = &opInfo{Action: ActionRollback, Input: good, Holder: e.holder, Started: time.Now().UTC()}
	}
	if jerr := e.j.append(end); jerr != nil {
		return jerr
	}
	e.stackEvent(action, status, reason)
	if status == StatusComplete {
		return nil
	}
	failed := fmt.Errorf("%w: %s %s: %s", ErrFailed, name, action, reason)
	if !rollback {
		return failed
	}
	if rerr := e.run(callerCtx, ActionRollback, good, false); rerr != nil {
		return errors.Join(failed, rerr)
	}
	return fmt.Errorf("%w (rolled back)", failed)
}

// Rollback returns the stack to the last template and environment that
// completed (deleting everything if none did).
func (e *Embedded) Rollback(ctx context.Context) error {
	if err := e.beginExisting(); err != nil {
		return err
	}
	defer e.opMu.Unlock()
	e.j.mu.Lock()
	good := e.j.st.Good
	e.j.mu.Unlock()
	return e.runNew(ctx, ActionRollback, "", good)
}

func (o *op) mask(s string) string {
	o.mu.Lock()
	hidden := o.hidden
	o.mu.Unlock()
	for _, h := range hidden {
		if h != "" {
			s = strings.ReplaceAll(s, h, "******")
		}
	}
	return s
}

func (e *Embedded) stackEvent(a Action, s Status, reason string) {
	e.j.mu.Lock()
	name, id := e.j.st.Name, e.j.st.ID
	e.j.mu.Unlock()
	e.emit(Event{StackName: name, StackID: id, ResourceName: name, LogicalResourceID: name,
		PhysicalResourceID: id, ResourceType: "OS::Heat::Stack", Action: a, Status: s, StatusReason: reason})
}

// emit numbers ev, records it in the history and hands it to
// Options.Events.
func (e *Embedded) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	e.evMu.Lock()
	defer e.evMu.Unlock()
	e.events.append(&ev)
	if e.opts.Events != nil {
		e.opts.Events(ev)
	}
}

func (o *op) resEvent(r *resState, a Action, s Status, reason string) {
	e := o.e
	e.j.mu.Lock()
	name, id := e.j.st.Name, e.j.st.ID
	e.j.mu.Unlock()
	e.emit(Event{StackName: name, StackID: id, ResourceName: r.Name, LogicalResourceID: r.Name,
		PhysicalResourceID: r.State.PhysicalID, ResourceType: r.Type, Action: a, Status: s,
		StatusReason: o.mask(reason)})
}

// current returns a copy of the recorded state of resource id, or nil.
func (o *op) current(id string) *resState {
	o.e.j.mu.Lock()
	defer o.e.j.mu.Unlock()
	if r := o.e.j.st.Resources[id]; r != nil {
		return r.clone()
	}
	return nil
}

// record journals r's state. The journal keeps its own copy: callers go on
// changing r (outside the journal's lock) while others read the state.
func (o *op) record(r *resState) error {
	return o.e.j.append(&record{T: "res", ID: r.Name, Res: r.clone()})
}

func (o *op) key(id string, gen int) string {
	o.e.j.mu.Lock()
	sid := o.e.j.st.ID
	o.e.j.mu.Unlock()
	return fmt.Sprintf("%s/%s/%d", sid, id, gen)
}

func (o *op) request(r *resState) *Request {
	o.e.j.mu.Lock()
	name, sid := o.e.j.st.Name, o.e.j.st.ID
	o.e.j.mu.Unlock()
	st := r.State
	return &Request{Key: r.Key, Stack: name, StackID: sid, Name: r.Name, Type: r.Type,
		Properties: r.Properties, Metadata: r.Metadata, Prior: &st, SignalURL: o.e.opts.SignalURL}
}

func (o *op) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if t := o.e.opts.ResourceTimeout; t > 0 {
		return context.WithTimeout(ctx, t)
	}
	return ctx, func() {}
}

// checkPolicies refuses, before anything is recorded, a Snapshot deletion
// policy on a top-level resource whose type cannot snapshot (the walk
// checks nested ones).
func (e *Embedded) checkPolicies(st *hot.Stack) error {
	for _, d := range st.Resources {
		if d.DeletionPolicy != "Snapshot" {
			continue
		}
		typName, err := st.Env.Registry.Resolve(d.Name, d.Type)
		if err != nil {
			return err
		}
		var rt ResourceType
		if !hot.IsTemplatePath(typName) {
			rt, _ = e.types.Lookup(typName)
		}
		if err := checkDeletionPolicy(typName, rt, d.DeletionPolicy); err != nil {
			return &hot.Error{File: st.Template.File, Line: d.Line, Path: "resources." + d.Name + ".deletion_policy", Err: err}
		}
	}
	return nil
}

// checkImmutable refuses an update that changes an immutable parameter.
func (e *Embedded) checkImmutable(next *hot.Stack, name, id string) error {
	e.j.mu.Lock()
	prev := e.j.st.Input
	e.j.mu.Unlock()
	if prev == nil {
		return nil
	}
	old, err := e.build(prev, name, id)
	if err != nil {
		return nil // the old template no longer builds: nothing to compare
	}
	for _, p := range next.Template.Parameters {
		if !p.Immutable {
			continue
		}
		ov, had := old.Params[p.Name]
		if had && old.Template.Parameter(p.Name) != nil && !hot.Equal(ov, next.Params[p.Name]) {
			return &hot.Error{File: next.Template.File, Line: p.Line, Path: "parameters." + p.Name,
				Err: fmt.Errorf("%w: the parameter %s is immutable and cannot change on update", hot.ErrInvalid, p.Name)}
		}
	}
	return nil
}
