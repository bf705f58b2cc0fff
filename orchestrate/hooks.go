package orchestrate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tripleo-go/tripleo/orchestrate/hot"
)

// registryOf returns the merged resource_registry of in's environments,
// or nil when there is none (or one no longer parses).
func registryOf(in *Input) *hot.Registry {
	if in == nil {
		return nil
	}
	var envs []*hot.Environment
	for _, f := range in.Environments {
		env, err := hot.ParseEnvironment(f.Name, []byte(f.Data))
		if err != nil {
			return nil
		}
		envs = append(envs, env)
	}
	r := hot.Merge(envs...).Registry
	return &r
}

// pause stops resource id (of type typ; cur is its recorded state, nil
// before its creation) at hook when the environment's resource_registry
// sets it, until ClearHook or a signal {"unset_hook": hook} clears it, as
// Heat's breakpoints do: the event "ACTION paused until Hook HOOK is
// cleared" carries the resource's current state (INIT_COMPLETE before its
// creation). A hook cleared earlier in the operation (before a restart) is
// not set again.
func (o *op) pause(ctx context.Context, id, typ string, cur *resState, hook string) error {
	if o.reg == nil || !o.reg.Hooked(id, hook) {
		return nil
	}
	j := o.e.j
	j.mu.Lock()
	h := j.st.Hooks[id]
	pending := h != nil && h.Pending == hook
	cleared := h != nil && slices.Contains(h.Cleared, hook)
	j.mu.Unlock()
	if cleared {
		return nil
	}
	if !pending {
		if err := j.append(&record{T: "hook", ID: id, Hook: hook, Type: typ}); err != nil {
			return err
		}
		verb := strings.ToUpper(hook[strings.IndexByte(hook, '-')+1:])
		o.e.hookEvent(id, typ, cur, fmt.Sprintf("%s paused until Hook %s is cleared", verb, hook))
	}
	for {
		changed := j.signalled()
		j.mu.Lock()
		h := j.st.Hooks[id]
		still := h != nil && h.Pending == hook
		j.mu.Unlock()
		if !still {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for hook %s to be cleared: %w", hook, ctx.Err())
		}
	}
}

// hookEvent emits a hook event for resource id with its current state.
func (e *Embedded) hookEvent(id, typ string, cur *resState, reason string) {
	e.j.mu.Lock()
	name, sid := e.j.st.Name, e.j.st.ID
	e.j.mu.Unlock()
	ev := Event{StackName: name, StackID: sid, ResourceName: id, LogicalResourceID: id, ResourceType: typ,
		Action: ActionInit, Status: StatusComplete, StatusReason: reason}
	if cur != nil {
		ev.Action, ev.Status, ev.PhysicalResourceID = cur.Action, cur.Status, cur.State.PhysicalID
	}
	e.emit(ev)
}

// ClearHook clears the hook (pre-create, pre-update, pre-delete,
// post-create, post-update or post-delete) at which resource (its path in
// the flattened stack, e.g. "group/0/server") is paused, so the operation
// goes on; the event "Hook HOOK is cleared" follows. Signal with the body
// {"unset_hook": HOOK} does the same, as Heat's hook clearing does. A hook
// name Heat does not know is ErrInvalid; a resource not paused at hook is
// ErrNotFound.
func (e *Embedded) ClearHook(ctx context.Context, resource, hook string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !hot.ValidHook(hook) {
		return fmt.Errorf("%w: invalid hook type %q for %s (one of %s)", ErrInvalid, hook, resource, strings.Join(hot.HookTypes, ", "))
	}
	e.hookMu.Lock()
	defer e.hookMu.Unlock()
	e.j.mu.Lock()
	h := e.j.st.Hooks[resource]
	var cur *resState
	if r := e.j.st.Resources[resource]; r != nil {
		cur = r.clone()
	}
	e.j.mu.Unlock()
	if h == nil || h.Pending != hook {
		return fmt.Errorf("%w: the %q hook is not defined on %s", ErrNotFound, hook, resource)
	}
	// The event goes first: the paused resource's next event follows it.
	e.hookEvent(resource, h.Type, cur, fmt.Sprintf("Hook %s is cleared", hook))
	return e.j.append(&record{T: "unhook", ID: resource, Hook: hook})
}

// PausedAt lists the resources paused at a registry hook, resource path →
// hook (what `openstack stack hook poll` shows).
func (e *Embedded) PausedAt() map[string]string {
	e.j.mu.Lock()
	defer e.j.mu.Unlock()
	out := map[string]string{}
	for id, h := range e.j.st.Hooks {
		if h.Pending != "" {
			out[id] = h.Pending
		}
	}
	return out
}
