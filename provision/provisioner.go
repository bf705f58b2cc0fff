package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// DeployStep is one piece of work a deployment runs while the node waits
// for its call-back (in Ironic, what the deploy agent does): write an
// image, configure the boot loader... Drivers, the simulator and the image
// package implement it. Run must honour ctx.
type DeployStep interface {
	// Name names the step in logs and errors.
	Name() string
	// Run does the work on node, reachable through bmc.
	Run(ctx context.Context, node *Node, bmc *BMC) error
}

// Options tune a [Provisioner]. nil or zero fields mean the documented
// defaults.
type Options struct {
	// Logger receives a line per operation and state change; nil discards.
	Logger *slog.Logger
	// BMC tunes the BMC handles (command timeout, retries, power
	// timeout, polling, minimum interval between commands to one BMC).
	// Its Logger defaults to Logger.
	BMC BMCOptions
	// MaxConcurrent caps the operations running at once over all nodes
	// (further ones wait). Zero means 32.
	MaxConcurrent int
	// OperationTimeout bounds one whole operation (Enroll, Deploy, ...).
	// Zero means 30 minutes.
	OperationTimeout time.Duration
	// CorrectPowerOnSync makes SyncPower set a machine back to the power
	// state the inventory records (Ironic's force_power_state_during_sync).
	// When false, SyncPower reports the mismatch and records the state the
	// BMC reports.
	CorrectPowerOnSync bool
	// OnTransition, when set, is called after each stored state change.
	OnTransition func(node string, t Transition)
	// OpenBMC opens a node's BMC; nil means the package's OpenBMC (the
	// driver registry). Tests and embedders may substitute their own.
	OpenBMC func(ctx context.Context, address string, creds Credentials, opts *BMCOptions) (*BMC, error)
}

// Provisioner is the embedded, in-process provisioner: it keeps nodes in an
// [Inventory] and drives their BMCs through registered drivers, moving
// each node through the [Transitions] table. Operations on one node are
// serialised by a per-node lock (a second concurrent operation fails with
// ErrLocked); operations on different nodes run in parallel up to
// MaxConcurrent. A Provisioner is safe for concurrent use.
type Provisioner struct {
	inv  Inventory
	o    Options
	log  *slog.Logger
	sem  chan struct{}
	open func(ctx context.Context, address string, creds Credentials, opts *BMCOptions) (*BMC, error)

	locks sync.Map // node name → *sync.Mutex

	mu     sync.Mutex
	bmcs   map[string]*cachedBMC // node name → handle
	closed bool
	wg     sync.WaitGroup
}

type cachedBMC struct {
	address string
	creds   Credentials
	bmc     *BMC
}

// NewProvisioner returns a Provisioner over inv.
func NewProvisioner(inv Inventory, opts *Options) *Provisioner {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = discardLogger()
	}
	if o.BMC.Logger == nil {
		o.BMC.Logger = o.Logger
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 32
	}
	if o.OperationTimeout <= 0 {
		o.OperationTimeout = 30 * time.Minute
	}
	p := &Provisioner{inv: inv, o: o, log: o.Logger, sem: make(chan struct{}, o.MaxConcurrent), bmcs: map[string]*cachedBMC{}, open: o.OpenBMC}
	if p.open == nil {
		p.open = OpenBMC
	}
	return p
}

// Inventory returns the inventory the Provisioner uses.
func (p *Provisioner) Inventory() Inventory { return p.inv }

// Close closes every BMC handle once running operations end; later calls
// fail with ErrClosed.
func (p *Provisioner) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for name, c := range p.bmcs {
		errs = append(errs, c.bmc.Close())
		delete(p.bmcs, name)
	}
	return errors.Join(errs...)
}

// run executes one operation on a node under the node's lock and a
// concurrency slot, and wraps its error.
func (p *Provisioner) run(ctx context.Context, op, name string, f func(ctx context.Context, n *Node) error) (*Node, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, &OpError{Op: op, Node: name, Err: ErrClosed}
	}
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()

	l, _ := p.locks.LoadOrStore(name, new(sync.Mutex))
	mu := l.(*sync.Mutex)
	if !mu.TryLock() {
		return nil, &OpError{Op: op, Node: name, Err: ErrLocked}
	}
	defer mu.Unlock()

	select {
	case p.sem <- struct{}{}:
		defer func() { <-p.sem }()
	case <-ctx.Done():
		return nil, &OpError{Op: op, Node: name, Err: ctx.Err()}
	}
	ctx, cancel := context.WithTimeout(ctx, p.o.OperationTimeout)
	defer cancel()

	n, err := p.inv.Get(ctx, name)
	if err != nil {
		return nil, &OpError{Op: op, Node: name, Err: err}
	}
	p.log.Info("operation start", "op", op, "node", name, "state", n.ProvisionState.String())
	if err := f(ctx, n); err != nil {
		p.log.Warn("operation failed", "op", op, "node", name, "state", n.ProvisionState.String(), "err", err)
		var oe *OpError
		if errors.As(err, &oe) {
			if oe.Node == name && oe.Op == op {
				return n, err
			}
			// The inner error already names the BMC address.
			return n, &OpError{Op: op, Node: name, Err: err}
		}
		return n, &OpError{Op: op, Node: name, Address: n.BMCAddress, Err: err}
	}
	p.log.Info("operation done", "op", op, "node", name, "state", n.ProvisionState.String())
	return n, nil
}

// fire moves n along event and stores it. The store uses a context that is
// not cancelled with ctx, so that a cancelled operation still records its
// failure rather than staying in a transient state.
func (p *Provisioner) fire(ctx context.Context, n *Node, event Event) error {
	from := n.ProvisionState
	to, err := Next(from, event)
	if err != nil {
		return err
	}
	n.ProvisionState = to
	if err := p.inv.Update(context.WithoutCancel(ctx), n); err != nil {
		n.ProvisionState = from
		return err
	}
	p.log.Debug("state change", "node", n.Name, "from", from.String(), "event", event.String(), "to", to.String())
	if p.o.OnTransition != nil {
		p.o.OnTransition(n.Name, Transition{From: from, Event: event, To: to})
	}
	return nil
}

// fail records cause as the node's last error and fires EventFail; it
// returns cause (joined with any error storing the failure).
func (p *Provisioner) fail(ctx context.Context, n *Node, cause error) error {
	n.LastError = cause.Error()
	if err := p.fire(ctx, n, EventFail); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// bmcFor returns the cached BMC handle of n, opening one if needed.
func (p *Provisioner) bmcFor(ctx context.Context, n *Node) (*BMC, error) {
	p.mu.Lock()
	c := p.bmcs[n.Name]
	p.mu.Unlock()
	if c != nil && c.address == n.BMCAddress && c.creds == n.Credentials {
		return c.bmc, nil
	}
	o := p.o.BMC
	b, err := p.open(ctx, n.BMCAddress, n.Credentials, &o)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	old := p.bmcs[n.Name]
	p.bmcs[n.Name] = &cachedBMC{address: n.BMCAddress, creds: n.Credentials, bmc: b}
	p.mu.Unlock()
	if old != nil {
		_ = old.bmc.Close()
	}
	return b, nil
}

// dropBMC closes and forgets n's handle (after an error that may have left
// its session broken).
func (p *Provisioner) dropBMC(name string) {
	p.mu.Lock()
	c := p.bmcs[name]
	delete(p.bmcs, name)
	p.mu.Unlock()
	if c != nil {
		_ = c.bmc.Close()
	}
}

// power performs a verified power action and records the state.
func (p *Provisioner) power(ctx context.Context, n *Node, action PowerAction) error {
	b, err := p.bmcFor(ctx, n)
	if err != nil {
		return err
	}
	s, err := b.Power(ctx, action)
	if s != PowerUnknown {
		n.PowerState = s
	}
	if err != nil && !errors.Is(err, ErrPowerNotReached) {
		p.dropBMC(n.Name)
	}
	return err
}

// setBoot sets the boot device when the driver can; a driver without the
// BootDeviceDriver interface is skipped (logged), as Ironic does for
// hardware that boots from the network by default.
func (p *Provisioner) setBoot(ctx context.Context, n *Node, dev BootDevice, persistent bool) error {
	b, err := p.bmcFor(ctx, n)
	if err != nil {
		return err
	}
	if _, ok := b.Driver().(BootDeviceDriver); !ok {
		p.log.Info("driver cannot set boot device; skipped", "node", n.Name, "device", dev.String())
		return nil
	}
	return b.SetBootDevice(ctx, dev, persistent)
}

// Enroll stores a new node in state enroll and verifies BMC access by
// reading its power state (moving it to manageable). When verification
// fails the node stays enrolled, with LastError set, and the error is
// returned: fix the address or credentials and call Manage.
func (p *Provisioner) Enroll(ctx context.Context, n *Node) (*Node, error) {
	c := n.Clone()
	c.ProvisionState = StateEnroll
	c.PowerState = PowerUnknown
	c.LastError = ""
	if err := c.Validate(); err != nil {
		return nil, &OpError{Op: "enroll", Node: n.Name, Err: err}
	}
	addr, _ := ParseBMCAddress(c.BMCAddress)
	if !slices.Contains(Schemes(), addr.Scheme()) && p.o.OpenBMC == nil {
		return nil, &OpError{Op: "enroll", Node: n.Name, Err: &UnknownSchemeError{Scheme: addr.Scheme(), Registered: Schemes()}}
	}
	if err := p.inv.Create(ctx, c); err != nil {
		return nil, &OpError{Op: "enroll", Node: n.Name, Err: err}
	}
	return p.Manage(ctx, c.Name)
}

// Manage moves a node to manageable: from enroll by verifying BMC access
// (enroll → verifying → manageable, or back to enroll on failure), from
// available, inspect failed or clean failed directly.
func (p *Provisioner) Manage(ctx context.Context, name string) (*Node, error) {
	return p.run(ctx, "manage", name, func(ctx context.Context, n *Node) error {
		if n.ProvisionState != StateEnroll {
			n.LastError = ""
			return p.fire(ctx, n, EventManage)
		}
		if err := p.fire(ctx, n, EventManage); err != nil {
			return err
		}
		b, err := p.bmcFor(ctx, n)
		if err == nil {
			n.PowerState, err = b.PowerState(ctx)
		}
		if err != nil {
			p.dropBMC(n.Name)
			return p.fail(ctx, n, err)
		}
		n.LastError = ""
		return p.fire(ctx, n, EventDone)
	})
}

// Inspect reads the hardware inventory through the driver's
// InventoryDriver (manageable or inspect failed → inspecting →
// manageable). A driver without one fails with ErrUnsupported and the node
// goes to inspect failed.
func (p *Provisioner) Inspect(ctx context.Context, name string) (*Node, error) {
	return p.run(ctx, "inspect", name, func(ctx context.Context, n *Node) error {
		if err := p.fire(ctx, n, EventInspect); err != nil {
			return err
		}
		b, err := p.bmcFor(ctx, n)
		var hw *HardwareInventory
		if err == nil {
			hw, err = b.HardwareInventory(ctx)
		}
		if err != nil {
			return p.fail(ctx, n, err)
		}
		n.Inventory = hw
		if len(n.MACs) == 0 && hw != nil {
			n.MACs = append([]string(nil), hw.MACs...)
		}
		n.LastError = ""
		return p.fire(ctx, n, EventDone)
	})
}

// clean powers the node off (verified) and clears the boot override.
func (p *Provisioner) clean(ctx context.Context, n *Node) error {
	if err := p.power(ctx, n, PowerActionOff); err != nil {
		return err
	}
	return nil
}

// Provide makes a manageable node available: manageable → cleaning
// (powered off, verified) → available, or clean failed.
func (p *Provisioner) Provide(ctx context.Context, name string) (*Node, error) {
	return p.run(ctx, "provide", name, func(ctx context.Context, n *Node) error {
		if err := p.fire(ctx, n, EventProvide); err != nil {
			return err
		}
		if err := p.clean(ctx, n); err != nil {
			return p.fail(ctx, n, err)
		}
		n.LastError = ""
		return p.fire(ctx, n, EventDone)
	})
}

// Deploy deploys an available node (or rebuilds an active, deploy failed
// or error one): deploying (boot from the network once, power on or
// reboot) → wait call-back (steps run in order) → deploying (boot from disk
// persistently, reboot) → active. Any failure moves the node to deploy
// failed with LastError set.
func (p *Provisioner) Deploy(ctx context.Context, name string, steps ...DeployStep) (*Node, error) {
	return p.run(ctx, "deploy", name, func(ctx context.Context, n *Node) error {
		ev := EventDeploy
		if n.ProvisionState == StateActive || n.ProvisionState == StateError {
			ev = EventRebuild
		}
		if err := p.fire(ctx, n, ev); err != nil {
			return err
		}
		if err := p.setBoot(ctx, n, BootPXE, false); err != nil {
			return p.fail(ctx, n, err)
		}
		if err := p.power(ctx, n, PowerActionCycle); err != nil {
			return p.fail(ctx, n, err)
		}
		if err := p.fire(ctx, n, EventWait); err != nil {
			return err
		}
		b, err := p.bmcFor(ctx, n)
		if err != nil {
			return p.fail(ctx, n, err)
		}
		for _, s := range steps {
			p.log.Info("deploy step", "node", n.Name, "step", s.Name())
			if err := s.Run(ctx, n, b); err != nil {
				return p.fail(ctx, n, fmt.Errorf("deploy step %s: %w", s.Name(), err))
			}
		}
		if err := p.fire(ctx, n, EventResume); err != nil {
			return err
		}
		if err := p.setBoot(ctx, n, BootDisk, true); err != nil {
			return p.fail(ctx, n, err)
		}
		if err := p.power(ctx, n, PowerActionCycle); err != nil {
			return p.fail(ctx, n, err)
		}
		n.LastError = ""
		return p.fire(ctx, n, EventDone)
	})
}

// Undeploy tears a deployment down: deleting (power off) → cleaning →
// available; a failure while deleting leads to error, while cleaning to
// clean failed.
func (p *Provisioner) Undeploy(ctx context.Context, name string) (*Node, error) {
	return p.run(ctx, "undeploy", name, func(ctx context.Context, n *Node) error {
		if err := p.fire(ctx, n, EventDelete); err != nil {
			return err
		}
		if err := p.power(ctx, n, PowerActionOff); err != nil {
			return p.fail(ctx, n, err)
		}
		if err := p.fire(ctx, n, EventDone); err != nil {
			return err
		}
		if err := p.clean(ctx, n); err != nil {
			return p.fail(ctx, n, err)
		}
		n.LastError = ""
		return p.fire(ctx, n, EventDone)
	})
}

// Power performs a verified power action on a node in a stable state and
// records the resulting power state.
func (p *Provisioner) Power(ctx context.Context, name string, action PowerAction) (*Node, error) {
	return p.run(ctx, "power "+action.String(), name, func(ctx context.Context, n *Node) error {
		if !n.ProvisionState.Stable() || n.ProvisionState == StateEnroll {
			return fmt.Errorf("%w: power action in state %q", ErrInvalidTransition, n.ProvisionState)
		}
		err := p.power(ctx, n, action)
		if uerr := p.inv.Update(context.WithoutCancel(ctx), n); uerr != nil {
			return errors.Join(err, uerr)
		}
		return err
	})
}

// PowerMismatch is a node whose BMC reported another power state than the
// inventory recorded.
type PowerMismatch struct {
	Node     string
	Recorded PowerState // what the inventory said
	Actual   PowerState // what the BMC reported
	// Corrected is true when SyncPower set the machine back to Recorded
	// (Options.CorrectPowerOnSync).
	Corrected bool
}

// SyncPower reads the power state of every node past enroll that no
// operation holds, in parallel up to MaxConcurrent. Mismatches with the
// recorded state are returned; they are corrected on the machine when
// Options.CorrectPowerOnSync is set, and otherwise recorded as the new
// state. Errors reading single nodes are joined in the returned error; the
// other nodes are still synced.
func (p *Provisioner) SyncPower(ctx context.Context) ([]PowerMismatch, error) {
	nodes, err := p.inv.List(ctx)
	if err != nil {
		return nil, err
	}
	var (
		mu         sync.Mutex
		mismatches []PowerMismatch
		errs       []error
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.o.MaxConcurrent)
	for _, n := range nodes {
		if n.ProvisionState == StateEnroll || !n.ProvisionState.Stable() {
			continue
		}
		g.Go(func() error {
			_, err := p.run(gctx, "sync power", n.Name, func(ctx context.Context, n *Node) error {
				b, err := p.bmcFor(ctx, n)
				if err != nil {
					return err
				}
				actual, err := b.PowerState(ctx)
				if err != nil {
					p.dropBMC(n.Name)
					return err
				}
				recorded := n.PowerState
				if recorded == actual {
					return nil
				}
				m := PowerMismatch{Node: n.Name, Recorded: recorded, Actual: actual}
				p.log.Warn("power state mismatch", "node", n.Name, "recorded", recorded.String(), "actual", actual.String())
				if p.o.CorrectPowerOnSync && recorded != PowerUnknown {
					action := PowerActionOn
					if recorded == PowerOff {
						action = PowerActionOff
					}
					if err := p.power(ctx, n, action); err != nil {
						return err
					}
					m.Corrected = true
				} else {
					n.PowerState = actual
				}
				mu.Lock()
				mismatches = append(mismatches, m)
				mu.Unlock()
				return p.inv.Update(context.WithoutCancel(ctx), n)
			})
			if err != nil && !errors.Is(err, ErrLocked) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	return mismatches, errors.Join(errs...)
}
