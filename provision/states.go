package provision

import "fmt"

// ProvisionState is a node's place in its lifecycle; the states and their
// names are Ironic's.
type ProvisionState int

// Provision states.
const (
	// StateEnroll: the node is known but its BMC access is not verified.
	StateEnroll ProvisionState = iota
	// StateVerifying: BMC access is being checked.
	StateVerifying
	// StateManageable: BMC access works; the node can be inspected.
	StateManageable
	// StateInspecting: hardware inventory is being read.
	StateInspecting
	// StateInspectFailed: inspection failed.
	StateInspectFailed
	// StateCleaning: the node is being cleaned (powered off, boot reset).
	StateCleaning
	// StateCleanFailed: cleaning failed.
	StateCleanFailed
	// StateAvailable: ready to be deployed.
	StateAvailable
	// StateDeploying: boot device and power are being set, deploy steps run.
	StateDeploying
	// StateWaitCallback: waiting for the deploy ramdisk or agent.
	StateWaitCallback
	// StateDeployFailed: deployment failed.
	StateDeployFailed
	// StateActive: deployed and running its image.
	StateActive
	// StateDeleting: tearing down a deployment.
	StateDeleting
	// StateError: tearing down failed; only delete or rebuild may follow.
	StateError
)

var stateNames = []string{
	"enroll", "verifying", "manageable", "inspecting", "inspect failed",
	"cleaning", "clean failed", "available", "deploying", "wait call-back",
	"deploy failed", "active", "deleting", "error",
}

// States lists every provision state.
func States() []ProvisionState {
	s := make([]ProvisionState, len(stateNames))
	for i := range s {
		s[i] = ProvisionState(i)
	}
	return s
}

// String returns Ironic's name for the state ("wait call-back", ...).
func (s ProvisionState) String() string { return enumString(stateNames, int(s), "ProvisionState") }

// MarshalText implements encoding.TextMarshaler.
func (s ProvisionState) MarshalText() ([]byte, error) {
	return enumMarshal(stateNames, int(s), "ProvisionState")
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *ProvisionState) UnmarshalText(b []byte) error {
	return enumUnmarshal(stateNames, (*int)(s), b, "provision state")
}

// Stable reports whether the state is one a node rests in between
// operations (not an in-progress state such as deploying).
func (s ProvisionState) Stable() bool {
	switch s {
	case StateVerifying, StateInspecting, StateCleaning, StateDeploying, StateWaitCallback, StateDeleting:
		return false
	}
	return true
}

// Event drives a transition of the provision state machine.
type Event int

// Events. User-requested events are Manage, Inspect, Provide, Deploy,
// Delete, Rebuild; Done, Fail, Wait and Resume come from the work itself.
const (
	EventManage Event = iota + 1
	EventInspect
	EventProvide
	EventDeploy
	EventDelete
	EventRebuild
	EventDone
	EventFail
	EventWait
	EventResume
)

var eventNames = []string{"", "manage", "inspect", "provide", "deploy", "delete", "rebuild", "done", "fail", "wait", "resume"}

// String returns the event's name.
func (e Event) String() string { return enumString(eventNames, int(e), "Event") }

// Transition is one row of the state machine table.
type Transition struct {
	From  ProvisionState
	Event Event
	To    ProvisionState
}

// transitions is Ironic's provision state machine (ironic/common/states.py),
// with automated cleaning on provide and after delete.
var transitions = []Transition{
	{StateEnroll, EventManage, StateVerifying},
	{StateVerifying, EventDone, StateManageable},
	{StateVerifying, EventFail, StateEnroll},

	{StateManageable, EventInspect, StateInspecting},
	{StateInspectFailed, EventInspect, StateInspecting},
	{StateInspecting, EventDone, StateManageable},
	{StateInspecting, EventFail, StateInspectFailed},
	{StateInspectFailed, EventManage, StateManageable},

	{StateManageable, EventProvide, StateCleaning},
	{StateCleaning, EventDone, StateAvailable},
	{StateCleaning, EventFail, StateCleanFailed},
	{StateCleanFailed, EventManage, StateManageable},
	{StateAvailable, EventManage, StateManageable},

	{StateAvailable, EventDeploy, StateDeploying},
	{StateDeploying, EventWait, StateWaitCallback},
	{StateWaitCallback, EventResume, StateDeploying},
	{StateWaitCallback, EventFail, StateDeployFailed},
	{StateDeploying, EventDone, StateActive},
	{StateDeploying, EventFail, StateDeployFailed},
	{StateDeployFailed, EventDeploy, StateDeploying},
	{StateDeployFailed, EventRebuild, StateDeploying},
	{StateDeployFailed, EventDelete, StateDeleting},
	{StateActive, EventRebuild, StateDeploying},
	{StateActive, EventDelete, StateDeleting},
	{StateWaitCallback, EventDelete, StateDeleting},

	{StateDeleting, EventDone, StateCleaning},
	{StateDeleting, EventFail, StateError},
	{StateError, EventDelete, StateDeleting},
	{StateError, EventRebuild, StateDeploying},
}

// Transitions returns a copy of the state machine table.
func Transitions() []Transition { return append([]Transition(nil), transitions...) }

// Next returns the state event leads to from from, or an error wrapping
// ErrInvalidTransition when the table has no such row.
func Next(from ProvisionState, event Event) (ProvisionState, error) {
	for _, t := range transitions {
		if t.From == from && t.Event == event {
			return t.To, nil
		}
	}
	return from, fmt.Errorf("%w: %s from state %q", ErrInvalidTransition, event, from)
}

// Allowed reports whether the table has a row from → to.
func Allowed(from, to ProvisionState) bool {
	for _, t := range transitions {
		if t.From == from && t.To == to {
			return true
		}
	}
	return false
}
