package provision

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on with errors.Is. Drivers wrap their
// protocol errors with the matching sentinel so that every driver's errors
// classify the same way (the conformance suite checks it).
var (
	// ErrAuth means the BMC refused the credentials.
	ErrAuth = errors.New("BMC authentication failed")
	// ErrUnreachable means the BMC did not answer (down, wrong address,
	// network); the operation may succeed later.
	ErrUnreachable = errors.New("BMC unreachable")
	// ErrUnsupported means the driver or the BMC cannot do what was asked.
	ErrUnsupported = errors.New("not supported")
	// ErrClosed means the BMC or Provisioner was used after Close.
	ErrClosed = errors.New("closed")
	// ErrNotFound means no node has the given name.
	ErrNotFound = errors.New("node not found")
	// ErrExists means a node with the given name is already enrolled.
	ErrExists = errors.New("node already exists")
	// ErrLocked means another operation holds the node's lock.
	ErrLocked = errors.New("node locked by another operation")
	// ErrInvalidTransition means the node's provision state does not allow
	// the operation (see Transitions).
	ErrInvalidTransition = errors.New("invalid provision state transition")
	// ErrUnknownScheme means no driver registered the address's scheme.
	ErrUnknownScheme = errors.New("unknown BMC address scheme")
	// ErrInvalidAddress means a BMC address does not parse.
	ErrInvalidAddress = errors.New("invalid BMC address")
	// ErrPowerNotReached means a power action was accepted but the BMC did
	// not report the target state before the deadline.
	ErrPowerNotReached = errors.New("power state not reached")
	// ErrInvalidNode means a node's fields are invalid.
	ErrInvalidNode = errors.New("invalid node")
)

// OpError is the error a BMC or Provisioner operation returns: which
// operation, on which node or BMC, through which driver, and why.
type OpError struct {
	// Op is the operation, e.g. "power on", "enroll".
	Op string
	// Node is the node name, if known.
	Node string
	// Address is the BMC address (never holds credentials).
	Address string
	// Err is the cause; errors.Is sees through it.
	Err error
}

// Error implements error.
func (e *OpError) Error() string {
	s := "provision: " + e.Op
	if e.Node != "" {
		s += " node " + e.Node
	}
	if e.Address != "" {
		s += " (" + e.Address + ")"
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// PowerNotReachedError reports a power action whose target state the BMC
// did not report before the deadline.
type PowerNotReachedError struct {
	Action PowerAction // the action sent
	Want   PowerState  // the state waited for
	Last   PowerState  // the last state read
	Polls  int         // how many reads were made
}

// Error implements error.
func (e *PowerNotReachedError) Error() string {
	return fmt.Sprintf("power %s accepted but BMC still reports %s after %d reads (want %s)", e.Action, e.Last, e.Polls, e.Want)
}

// Unwrap returns ErrPowerNotReached.
func (e *PowerNotReachedError) Unwrap() error { return ErrPowerNotReached }

// UnknownSchemeError reports a BMC address whose scheme no driver
// registered, with the schemes that are.
type UnknownSchemeError struct {
	Scheme     string
	Registered []string
}

// Error implements error.
func (e *UnknownSchemeError) Error() string {
	if len(e.Registered) == 0 {
		return fmt.Sprintf("unknown BMC address scheme %q: no driver registered (import one, e.g. _ \"github.com/tripleo-go/tripleo/drivers/ipmi\")", e.Scheme)
	}
	return fmt.Sprintf("unknown BMC address scheme %q (registered: %v; import the driver that provides it)", e.Scheme, e.Registered)
}

// Unwrap returns ErrUnknownScheme.
func (e *UnknownSchemeError) Unwrap() error { return ErrUnknownScheme }
