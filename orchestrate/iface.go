package orchestrate

import "context"

// Engine is a stack orchestration service bound to one stack, as a Heat
// client is bound to one stack name: the embedded engine (Embedded, from
// Open) or a driver for a remote service (drivers/heat). Code written
// against Engine moves from the embedded default to a real Heat by changing
// how the value is made.
//
// Update with an Input whose Template and TemplateFile are both empty is
// Heat's PATCH update (`openstack stack update --existing`): the deployed
// template, environments and files are kept and Params are merged into the
// deployed parameters.
type Engine interface {
	// Plan computes what creating (no stack yet; name names it) or
	// updating the stack to in would change (Heat's preview).
	Plan(ctx context.Context, name string, in *Input) (*Plan, error)
	// Apply runs a plan made by the same engine.
	Apply(ctx context.Context, p *Plan) error
	// Create creates the stack and waits until it is COMPLETE or FAILED.
	Create(ctx context.Context, name string, in *Input) error
	// Update updates the stack to in and waits for the outcome.
	Update(ctx context.Context, in *Input) error
	// Delete deletes the stack and waits for the outcome.
	Delete(ctx context.Context) error
	// Rollback returns the stack to its last good template.
	Rollback(ctx context.Context) error
	// Show describes the stack and its resources; ErrNotFound when none.
	Show(ctx context.Context) (*StackInfo, error)
	// Outputs evaluates the stack outputs: name → value.
	Outputs(ctx context.Context) (map[string]any, error)
	// Events lists the stack's past events, oldest first.
	Events(ctx context.Context, q *EventQuery) ([]Event, error)
	// Signal sends a signal to a resource (a deployment, a wait condition
	// handle), as Heat's resource-signal call.
	Signal(ctx context.Context, resource string, body map[string]any) error
	// Close releases the engine (the embedded engine's lease and file).
	Close() error
}

// EventQuery filters Engine.Events. A nil query lists every event.
type EventQuery struct {
	// Resource keeps only the events of this resource ("" keeps all; the
	// stack's own events carry the stack's name).
	Resource string
	// After keeps only the events after the event with this ID (Heat's
	// marker); "" starts at the first.
	After string
	// Limit caps the number of events returned; 0 means no limit.
	Limit int
}

// StackActioner is implemented by engines that run Heat's stack actions
// beyond create, update and delete.
type StackActioner interface {
	// CheckStack runs Heat's CHECK action: every resource's Check, the stack
	// ends CHECK_COMPLETE or CHECK_FAILED.
	CheckStack(ctx context.Context) error
	// CancelUpdate cancels the update in progress and rolls it back (Heat's
	// cancel_update).
	CancelUpdate(ctx context.Context) error
}

// ResourceMarker is implemented by engines that take Heat's resource
// health mark (`openstack stack resource mark unhealthy`).
type ResourceMarker interface {
	// MarkUnhealthy marks resource (its flattened path, as Show names it:
	// "server", "group/0", "group/0/server") CHECK_FAILED with reason, so
	// that the next update replaces it. The stack's own state is not
	// changed. An unknown resource is ErrNotFound; a stack busy with an
	// operation is ErrLocked (Heat's ActionInProgress).
	MarkUnhealthy(ctx context.Context, resource, reason string) error
}

var _ Engine = (*Embedded)(nil)
