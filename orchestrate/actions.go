package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/tripleo-go/tripleo/orchestrate/hot"
)

var _ StackActioner = (*Embedded)(nil)

// ErrNoUpdate: CancelUpdate found no update in progress (Heat answers
// "Cancelling update when stack is ...").
var ErrNoUpdate = errors.New("no update in progress")

// errCancelled is the cause with which CancelUpdate cancels an update.
//
//lint:ignore ST1005 Heat's exact text (str(ForcedCancel)), which users grep for
var errCancelled = errors.New("Operation cancelled")

// running is the update that CancelUpdate may cancel.
type running struct {
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when the update (and its rollback) ended
}

// CheckStack runs Heat's CHECK action: each resource, dependencies first,
// goes CHECK_IN_PROGRESS, then CHECK_COMPLETE when its plug-in's Check
// finds it or CHECK_FAILED with the plug-in's error; every resource is
// checked even after a failure. The stack ends CHECK_COMPLETE, or
// CHECK_FAILED and an error wrapping ErrFailed. Resources the engine runs
// itself (groups, chains, template resources, software deployments, wait
// conditions and their handles) live in the state alone and check
// COMPLETE. A resource's recorded state is kept, except that one left
// IN_PROGRESS takes what Check found. A check changes neither the
// template nor the last good one;
// an interrupted check resumes on Open like any operation.
func (e *Embedded) CheckStack(ctx context.Context) error {
	if err := e.beginExisting(); err != nil {
		return err
	}
	defer e.opMu.Unlock()
	e.j.mu.Lock()
	in := e.j.st.Input
	e.j.mu.Unlock()
	rec := &record{T: "begin", Op: &opInfo{Action: ActionCheck, Input: in, Holder: e.holder, Started: time.Now().UTC()}}
	if err := e.j.rewrite(rec); err != nil {
		return err
	}
	return e.run(ctx, ActionCheck, in, false)
}

// engineRun reports whether the engine runs resources of type t itself
// (no plug-in call checks them).
func engineRun(t string) bool {
	return hot.IsTemplatePath(t) || t == TypeResourceGroup || t == TypeResourceChain || isDeploymentGroup(t) ||
		isDeployment(t) || t == TypeWaitCondition || t == TypeWaitConditionHandle
}

// checkAll checks every live resource, each after what it requires and a
// parent after its members.
func (o *op) checkAll(ctx context.Context) []error {
	o.e.j.mu.Lock()
	tasks := map[string]*task{}
	var list []*task
	var ids []string
	for id, r := range o.e.j.st.Resources {
		if !r.Retired {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var mu sync.Mutex
	var errs []error
	for _, id := range ids {
		id := id
		t := &task{id: id}
		t.run = func(ctx context.Context) ([]*task, error) {
			if r := o.current(id); r != nil {
				if err := o.checkRes(ctx, r); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
			return nil, ctx.Err()
		}
		tasks[id] = t
		list = append(list, t)
	}
	for _, id := range ids {
		r := o.e.j.st.Resources[id]
		for _, x := range r.Requires {
			if d := tasks[x]; d != nil && x != id {
				tasks[id].dependOn(d)
			}
		}
		if p := tasks[r.Parent]; p != nil {
			p.dependOn(tasks[id])
		}
	}
	o.e.j.mu.Unlock()
	werrs := walk(ctx, list, o.e.parallelism(), nil) // a failed check stops nothing
	return append(errs, werrs...)
}

func (o *op) checkRes(ctx context.Context, r *resState) error {
	// A resource left IN_PROGRESS by an operation that ended (a failure)
	// has no state to trust: what Check finds becomes its state.
	adopt := r.Status == StatusInProgress && r.Action != ActionCheck
	r.Action, r.Status, r.Reason = ActionCheck, StatusInProgress, ""
	if err := o.record(r); err != nil {
		return err
	}
	o.resEvent(r, ActionCheck, StatusInProgress, "state changed")
	var err error
	var found *State
	if !engineRun(r.Type) {
		var rt ResourceType
		if rt, err = o.e.types.Lookup(r.Type); err == nil {
			cctx, cancel := o.callCtx(ctx)
			found, err = rt.Check(cctx, o.request(r))
			cancel()
		}
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			err = fmt.Errorf("the resource no longer exists: %w", err)
		}
		if jerr := o.outcome(r, ActionCheck, nil, err); jerr != err {
			return jerr
		}
		return fmt.Errorf("resources.%s: %w", r.Name, err)
	}
	if !adopt {
		found = nil
	}
	return o.outcome(r, ActionCheck, found, nil)
}

// CancelUpdate cancels the update in progress in this engine (started by
// another goroutine, or resumed by Open) and rolls the stack back to its
// last good template, as Heat's cancel_update does, even with
// Options.DisableRollback: plug-in calls in flight see their context
// cancelled, nothing new starts, the stack goes UPDATE_FAILED with
// "Operation cancelled", then ROLLBACK_COMPLETE. It waits until the
// rollback has ended (or ctx ends). With no update in progress it returns
// an error wrapping ErrNoUpdate.
func (e *Embedded) CancelUpdate(ctx context.Context) error {
	e.runMu.Lock()
	r := e.update
	e.runMu.Unlock()
	if r == nil {
		e.j.mu.Lock()
		state := string(e.j.st.Action) + "_" + string(e.j.st.Status)
		e.j.mu.Unlock()
		return fmt.Errorf("%w: cancelling update when stack is %s", ErrNoUpdate, state)
	}
	r.cancel(errCancelled)
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cancellable registers the update that run is starting; the returned
// function unregisters it.
func (e *Embedded) cancellable(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	r := &running{cancel: cancel, done: make(chan struct{})}
	e.runMu.Lock()
	e.update = r
	e.runMu.Unlock()
	return ctx, func() {
		e.runMu.Lock()
		e.update = nil
		e.runMu.Unlock()
		cancel(nil)
		close(r.done)
	}
}
