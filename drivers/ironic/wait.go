package ironic

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/baremetal/v1/nodes"

	"github.com/tripleo-go/tripleo/provision"
)

// ErrTimeout means a node did not reach the awaited state within
// Options.OperationTimeout.
var ErrTimeout = errors.New("ironic: timed out waiting for node state")

// StateError reports an Ironic operation that ended in another state than
// the one awaited: a "* failed" state, "error", or a stable state with
// last_error set (a failed verification goes back to enroll).
type StateError struct {
	// State is the state the node ended in.
	State provision.ProvisionState
	// IronicState is Ironic's name for it.
	IronicState string
	// Want lists the awaited states.
	Want []provision.ProvisionState
	// LastError is Ironic's last_error, passwords scrubbed.
	LastError string
}

// Error implements error.
func (e *StateError) Error() string {
	s := fmt.Sprintf("node ended in %q (want %v)", e.IronicState, e.Want)
	if e.LastError != "" {
		s += ": " + e.LastError
	}
	return s
}

// Unwrap returns provision.ErrInvalidTransition when the node ended in a
// stable state without error, and nil otherwise.
func (e *StateError) Unwrap() error {
	if e.LastError == "" && !failedState(e.IronicState) {
		return provision.ErrInvalidTransition
	}
	return nil
}

// WaitProvisionState polls the node until it rests in one of want and
// returns it. Unlike gophercloud's nodes.WaitForProvisionState it stops at
// once, with a *StateError, when the node reaches a "* failed" state or
// "error", or rests in another stable state with last_error set (Ironic
// records why an operation failed there). Reads back off from
// Options.PollInterval to MaxPollInterval; OperationTimeout bounds the
// wait (ErrTimeout).
func (p *Provisioner) WaitProvisionState(ctx context.Context, name string, want ...provision.ProvisionState) (*provision.Node, error) {
	in, err := p.wait(ctx, "wait", name, want...)
	if in == nil {
		return nil, err
	}
	n, cerr := p.toNode(ctx, in)
	if err == nil {
		err = cerr
	}
	return n, err
}

func (p *Provisioner) wait(ctx context.Context, op, name string, want ...provision.ProvisionState) (*nodes.Node, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, p.o.OperationTimeout, ErrTimeout)
	defer cancel()
	interval := p.o.PollInterval
	prev := ""
	for {
		in, err := p.poll(ctx, op, name)
		if err != nil {
			return nil, err
		}
		st, serr := StateFromIronic(in.ProvisionState)
		if in.ProvisionState != prev {
			p.log.Debug("provision state", "node", name, "state", in.ProvisionState, "target", in.TargetProvisionState)
			if prev != "" && p.o.OnTransition != nil && serr == nil {
				if from, ferr := StateFromIronic(prev); ferr == nil {
					p.o.OnTransition(name, from, st)
				}
			}
			prev = in.ProvisionState
		}
		if serr != nil {
			return in, &provision.OpError{Op: op, Node: name, Err: serr}
		}
		settled := in.TargetProvisionState == ""
		if settled && slices.Contains(want, st) {
			return in, nil
		}
		if failedState(in.ProvisionState) && !slices.Contains(want, st) ||
			settled && st.Stable() && !slices.Contains(want, st) {
			err := &StateError{State: st, IronicState: in.ProvisionState, Want: want, LastError: p.scrub(in.LastError)}
			p.log.Warn(op+" failed", "node", name, "state", in.ProvisionState, "last_error", err.LastError)
			return in, &provision.OpError{Op: op, Node: name, Err: err}
		}
		select {
		case <-ctx.Done():
			return in, p.wrap(op, name, fmt.Errorf("last state %q: %w", in.ProvisionState, context.Cause(ctx)))
		case <-time.After(interval):
		}
		interval = min(interval*2, p.o.MaxPollInterval)
	}
}

// poll reads the node once, reporting the wait's own deadline as
// ErrTimeout.
func (p *Provisioner) poll(ctx context.Context, op, name string) (*nodes.Node, error) {
	in, err := nodes.Get(ctx, p.c, name).Extract()
	if err != nil {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return nil, p.wrap(op, name, err)
	}
	return in, nil
}

// waitPower polls until Ironic has no power change in progress, then
// checks the power state against want.
func (p *Provisioner) waitPower(ctx context.Context, op, name string, want provision.PowerState) (*nodes.Node, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, p.o.OperationTimeout, ErrTimeout)
	defer cancel()
	interval := p.o.PollInterval
	for {
		in, err := p.poll(ctx, op, name)
		if err != nil {
			return nil, err
		}
		if in.TargetPowerState == "" {
			got := powerFromIronic(in.PowerState)
			if got == want {
				return in, nil
			}
			return in, &provision.OpError{Op: op, Node: name, Err: fmt.Errorf("%w: Ironic reports %q: %s", provision.ErrPowerNotReached, in.PowerState, p.scrub(in.LastError))}
		}
		select {
		case <-ctx.Done():
			return in, p.wrap(op, name, fmt.Errorf("power still changing to %q: %w", in.TargetPowerState, context.Cause(ctx)))
		case <-time.After(interval):
		}
		interval = min(interval*2, p.o.MaxPollInterval)
	}
}
