package orchestrate

import (
	"context"
	"errors"
	"sync/atomic"
)

// task is a node of the walk. run may return children: new tasks that
// become part of the graph (a ResourceGroup's members); the task completes
// when run and all its children have, then join (if set) runs.
type task struct {
	id         string
	run        func(ctx context.Context) ([]*task, error)
	join       func(ctx context.Context) error
	deps       int // unfinished dependencies
	dependents []*task
	parent     *task
	children   int
	joining    bool
	rolling    bool // a member of a rolling-update batch
}

// dependOn makes t wait for d.
func (t *task) dependOn(d *task) {
	t.deps++
	d.dependents = append(d.dependents, t)
}

type result struct {
	t        *task
	children []*task
	err      error
}

// walk runs the tasks with at most limit in flight, starting each as soon
// as its dependencies are complete (no polling: completions arrive on a
// channel). After the first failure, or when ctx is done, it starts nothing
// new and waits for what is in flight. It returns every task error.
//
// halt, when not nil, is set by a task that is failing before it reports
// its failure anywhere (the resource's FAILED event), so that no task
// starts after that event even if another task's completion reaches the
// walk before the failing task's own result does.
func walk(ctx context.Context, tasks []*task, limit int, halt *atomic.Bool) []error {
	if limit < 1 {
		limit = 1
	}
	done := make(chan result, limit)
	var ready []*task
	for _, t := range tasks {
		if t.deps == 0 {
			ready = append(ready, t)
		}
	}
	inflight := 0
	stopped := false
	var errs []error
	var complete func(t *task)
	complete = func(t *task) {
		for _, d := range t.dependents {
			d.deps--
			if d.deps == 0 {
				ready = append(ready, d)
			}
		}
		if p := t.parent; p != nil {
			p.children--
			if p.children == 0 {
				finishRun(p, &ready, complete)
			}
		}
	}
	start := func(t *task) {
		inflight++
		go func() {
			if t.joining {
				done <- result{t: t, err: t.join(ctx)}
				return
			}
			ch, err := t.run(ctx)
			done <- result{t: t, children: ch, err: err}
		}()
	}
	for {
		for !stopped && inflight < limit && len(ready) > 0 {
			if halt != nil && halt.Load() {
				stopped = true // the failing task's error arrives below
				break
			}
			if ctx.Err() != nil {
				stopped = true
				errs = append(errs, ctx.Err())
				break
			}
			t := ready[0]
			ready = ready[1:]
			start(t)
		}
		if inflight == 0 {
			break
		}
		r := <-done
		inflight--
		if r.err != nil {
			// Once an error is recorded, the cancellations it causes in
			// flight are noise. A walk stopped by halt has none recorded
			// yet: the failing task's error is the one arriving, even when
			// it is a cancellation (CancelUpdate cancelled it).
			if len(errs) == 0 || !errors.Is(r.err, context.Canceled) {
				errs = append(errs, r.err)
			}
			stopped = true
			continue
		}
		t := r.t
		if t.joining {
			t.joining = false
			t.join = nil
			complete(t)
			continue
		}
		if len(r.children) > 0 {
			t.children = len(r.children)
			for _, c := range r.children {
				c.parent = t
				if c.deps == 0 {
					ready = append(ready, c)
				}
			}
			continue
		}
		finishRun(t, &ready, complete)
	}
	return errs
}

// finishRun completes t, or schedules its join first.
func finishRun(t *task, ready *[]*task, complete func(*task)) {
	if t.join != nil {
		t.joining = true
		*ready = append(*ready, t)
		return
	}
	complete(t)
}
