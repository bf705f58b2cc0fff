package orchestrate

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

var _ ResourceMarker = (*Embedded)(nil)

// defaultUnhealthyReason is Heat's reason for a mark without one.
const defaultUnhealthyReason = "state changed by resource_mark_unhealthy api"

// MarkUnhealthy marks resource (its path in the flattened stack, e.g.
// "group/0" or "group/0/server") CHECK_FAILED with reason ("" gives
// Heat's "state changed by resource_mark_unhealthy api"), as Heat's
// resource mark-unhealthy does: the mark is durable (journalled before
// MarkUnhealthy returns) and emits the resource's CHECK_FAILED event; the
// stack's state is left as it is, and the next update replaces the
// resource (a new physical resource, the old one deleted). A resource the
// engine runs itself and that holds others (a group, a template resource,
// a group member that is one) is marked with every resource under it, so
// the update replaces all of them, as Heat replaces the nested stack. A
// resource being deleted is left alone, as in Heat. An unknown resource
// is ErrNotFound; while an operation runs, ErrLocked.
func (e *Embedded) MarkUnhealthy(ctx context.Context, resource, reason string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := e.beginExisting(); err != nil {
		return err
	}
	defer e.opMu.Unlock()
	if reason == "" {
		reason = defaultUnhealthyReason
	}
	e.j.mu.Lock()
	r := e.j.st.Resources[resource]
	if r == nil || r.Retired {
		e.j.mu.Unlock()
		return fmt.Errorf("%w: resource %s not found in stack %s", ErrNotFound, resource, e.j.st.Name)
	}
	marks := []*resState{r.clone()}
	if engineRun(r.Type) {
		var under []string
		for id, x := range e.j.st.Resources {
			if !x.Retired && strings.HasPrefix(id, resource+"/") {
				under = append(under, id)
			}
		}
		sort.Strings(under)
		for _, id := range under {
			marks = append(marks, e.j.st.Resources[id].clone())
		}
	}
	name, sid := e.j.st.Name, e.j.st.ID
	e.j.mu.Unlock()
	for _, m := range marks {
		if m.Action == ActionDelete || m.Action == ActionCheck && m.Status == StatusFailed && m.Reason == reason {
			continue
		}
		m.Action, m.Status, m.Reason = ActionCheck, StatusFailed, reason
		if err := e.j.append(&record{T: "res", ID: m.Name, Res: m.clone()}); err != nil {
			return fmt.Errorf("mark %s unhealthy: %w", m.Name, err)
		}
		e.emit(Event{StackName: name, StackID: sid, ResourceName: m.Name, LogicalResourceID: m.Name,
			PhysicalResourceID: m.State.PhysicalID, ResourceType: m.Type, Action: ActionCheck, Status: StatusFailed,
			StatusReason: reason})
	}
	return nil
}
