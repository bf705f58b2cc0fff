package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// BMCOptions tune a [BMC]. The zero value (or nil) gives the documented
// defaults.
type BMCOptions struct {
	// Logger receives one line per command and result; nil discards.
	// Credentials never reach it.
	Logger *slog.Logger
	// CommandTimeout bounds each single driver call. Zero means 10s.
	CommandTimeout time.Duration
	// Retries is how many more times a call that failed with ErrUnreachable
	// is tried (authentication and unsupported errors are never retried).
	// Zero means 2; a negative value means no retry.
	Retries int
	// PowerTimeout is how long a power action may take to show in the
	// state the BMC reports. Zero means 60s (Ironic's
	// power_state_change_timeout).
	PowerTimeout time.Duration
	// PollInterval is the first wait between state reads after an action,
	// and between retries; it doubles up to MaxPollInterval. Zero means
	// 200ms.
	PollInterval time.Duration
	// MaxPollInterval caps the backoff. Zero means 2s.
	MaxPollInterval time.Duration
	// MinInterval is the minimum time between two commands sent to this
	// BMC (some BMCs fail under back-to-back commands). Zero means none.
	MinInterval time.Duration
}

func (o *BMCOptions) withDefaults() BMCOptions {
	var r BMCOptions
	if o != nil {
		r = *o
	}
	if r.Logger == nil {
		r.Logger = discardLogger()
	}
	if r.CommandTimeout <= 0 {
		r.CommandTimeout = 10 * time.Second
	}
	if r.Retries == 0 {
		r.Retries = 2
	} else if r.Retries < 0 {
		r.Retries = 0
	}
	if r.PowerTimeout <= 0 {
		r.PowerTimeout = 60 * time.Second
	}
	if r.PollInterval <= 0 {
		r.PollInterval = 200 * time.Millisecond
	}
	if r.MaxPollInterval <= 0 {
		r.MaxPollInterval = 2 * time.Second
	}
	if r.MaxPollInterval < r.PollInterval {
		r.MaxPollInterval = r.PollInterval
	}
	return r
}

// BMC is the portable handle on one machine's BMC. It wraps a
// [PowerDriver] and does the work every driver shares: power actions are
// idempotent and verified (Power returns only once the BMC reports the
// target state), transient failures are retried with backoff, commands are
// paced, errors are wrapped with the operation and address, and log lines
// never hold a secret. A BMC is safe for concurrent use.
type BMC struct {
	d       PowerDriver
	address string
	o       BMCOptions
	log     *slog.Logger

	paceMu sync.Mutex // serialises pacing; held while waiting for the slot
	last   time.Time

	closeMu sync.RWMutex
	closed  bool
}

// NewBMC wraps an open driver. address is used in errors and logs only.
func NewBMC(d PowerDriver, address string, opts *BMCOptions) *BMC {
	o := opts.withDefaults()
	return &BMC{d: d, address: address, o: o, log: o.Logger.With("bmc", address)}
}

// OpenBMC opens the driver registered for address's scheme and wraps it.
// It does not contact the BMC unless the driver's OpenFunc does; call
// PowerState to check access.
func OpenBMC(ctx context.Context, address string, creds Credentials, opts *BMCOptions) (*BMC, error) {
	o := opts.withDefaults()
	d, addr, err := OpenDriver(ctx, address, creds, o.Logger)
	if err != nil {
		return nil, &OpError{Op: "open", Address: address, Err: err}
	}
	return NewBMC(d, addr.String(), &o), nil
}

// Address returns the BMC address the handle was opened with.
func (b *BMC) Address() string { return b.address }

// Driver returns the wrapped driver, for type assertions to optional
// interfaces.
func (b *BMC) Driver() PowerDriver { return b.d }

// As reaches the driver's underlying client when the driver implements
// [Aser]; see each driver's documentation for the types it supports.
func (b *BMC) As(target any) bool {
	if a, ok := b.d.(Aser); ok {
		return a.As(target)
	}
	return false
}

// Close closes the driver. It is idempotent.
func (b *BMC) Close() error {
	b.closeMu.Lock()
	defer b.closeMu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	return b.d.Close()
}

// call runs one driver call with pacing, a per-call timeout and retries of
// ErrUnreachable.
func (b *BMC) call(ctx context.Context, op string, f func(ctx context.Context) error) error {
	b.closeMu.RLock()
	defer b.closeMu.RUnlock()
	if b.closed {
		return &OpError{Op: op, Address: b.address, Err: ErrClosed}
	}
	wait := b.o.PollInterval
	var err error
	for attempt := 0; ; attempt++ {
		if err = b.pace(ctx); err != nil {
			break
		}
		cctx, cancel := context.WithTimeout(ctx, b.o.CommandTimeout)
		err = f(cctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		if ctx.Err() != nil || !errors.Is(err, ErrUnreachable) || attempt >= b.o.Retries {
			break
		}
		b.log.Debug("retrying", "op", op, "attempt", attempt+1, "err", err)
		if err2 := sleep(ctx, wait); err2 != nil {
			err = fmt.Errorf("%w (after %w)", err2, err)
			break
		}
		wait = min(wait*2, b.o.MaxPollInterval)
	}
	return &OpError{Op: op, Address: b.address, Err: err}
}

// pace waits until MinInterval has passed since the previous command.
func (b *BMC) pace(ctx context.Context) error {
	if b.o.MinInterval <= 0 {
		return nil
	}
	b.paceMu.Lock()
	defer b.paceMu.Unlock()
	if !b.last.IsZero() {
		if d := time.Until(b.last.Add(b.o.MinInterval)); d > 0 {
			if err := sleep(ctx, d); err != nil {
				return err
			}
		}
	}
	b.last = time.Now()
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// PowerState reads the power state.
func (b *BMC) PowerState(ctx context.Context) (PowerState, error) {
	var s PowerState
	err := b.call(ctx, "power status", func(ctx context.Context) error {
		var err error
		s, err = b.d.PowerState(ctx)
		return err
	})
	return s, err
}

// Power performs action and returns once the BMC reports the action's
// target state (on for on, cycle and reset; off for off and soft-off),
// polling with backoff for up to PowerTimeout. It is idempotent: on when
// already on, or off when already off, sends nothing. Cycle or reset of a
// machine that is off powers it on. If the target is not reached in time
// the error wraps ErrPowerNotReached (*PowerNotReachedError).
//
// A cycle or reset is verified by the machine being on afterwards; a BMC
// that accepts one and ignores it cannot be told apart through the power
// state alone.
func (b *BMC) Power(ctx context.Context, action PowerAction) (PowerState, error) {
	op := "power " + action.String()
	if !action.Valid() {
		return PowerUnknown, &OpError{Op: op, Address: b.address, Err: fmt.Errorf("%w: invalid power action %d", ErrUnsupported, int(action))}
	}
	cur, err := b.PowerState(ctx)
	if err != nil {
		return PowerUnknown, err
	}
	want := action.Target()
	send := action
	switch action {
	case PowerActionOn, PowerActionOff, PowerActionSoftOff:
		if cur == want {
			b.log.Debug("power already in target state", "action", action.String(), "state", cur.String())
			return cur, nil
		}
	case PowerActionCycle, PowerActionReset:
		if cur == PowerOff {
			send = PowerActionOn
		}
	}
	b.log.Debug("power command", "action", send.String(), "from", cur.String())
	if err := b.call(ctx, op, func(ctx context.Context) error { return b.d.SetPower(ctx, send) }); err != nil {
		return cur, err
	}
	got, err := b.waitPower(ctx, action, want)
	if err != nil {
		return got, err
	}
	b.log.Info("power action verified", "action", action.String(), "state", got.String())
	return got, nil
}

// waitPower polls until the BMC reports want, or PowerTimeout passes.
func (b *BMC) waitPower(ctx context.Context, action PowerAction, want PowerState) (PowerState, error) {
	op := "power " + action.String()
	deadline := time.Now().Add(b.o.PowerTimeout)
	wait := b.o.PollInterval
	last := PowerUnknown
	polls := 0
	for {
		// Read at once: many BMCs switch before answering the command.
		s, err := b.PowerState(ctx)
		polls++
		if err == nil {
			last = s
			if s == want {
				return s, nil
			}
		} else if ctx.Err() != nil {
			return last, err
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			perr := error(&PowerNotReachedError{Action: action, Want: want, Last: last, Polls: polls})
			if err != nil {
				perr = fmt.Errorf("%w; last read: %w", perr, err)
			}
			return last, &OpError{Op: op, Address: b.address, Err: perr}
		}
		if err := sleep(ctx, min(wait, remaining)); err != nil {
			return last, &OpError{Op: op, Address: b.address, Err: err}
		}
		wait = min(wait*2, b.o.MaxPollInterval)
	}
}

// SetBootDevice selects the next boot device (persistent: every boot) and
// reads it back. It fails with ErrUnsupported when the driver has no
// [BootDeviceDriver].
func (b *BMC) SetBootDevice(ctx context.Context, dev BootDevice, persistent bool) error {
	op := "set boot device " + dev.String()
	bd, ok := b.d.(BootDeviceDriver)
	if !ok {
		return &OpError{Op: op, Address: b.address, Err: ErrUnsupported}
	}
	if err := b.call(ctx, op, func(ctx context.Context) error { return bd.SetBootDevice(ctx, dev, persistent) }); err != nil {
		return err
	}
	got, _, err := b.BootDevice(ctx)
	if err != nil {
		return err
	}
	if got != dev {
		return &OpError{Op: op, Address: b.address, Err: fmt.Errorf("BMC accepted the command but reports boot device %s", got)}
	}
	b.log.Info("boot device set", "device", dev.String(), "persistent", persistent)
	return nil
}

// BootDevice reads the boot device override. It fails with ErrUnsupported
// when the driver has no [BootDeviceDriver].
func (b *BMC) BootDevice(ctx context.Context) (BootDevice, bool, error) {
	bd, ok := b.d.(BootDeviceDriver)
	if !ok {
		return BootNone, false, &OpError{Op: "get boot device", Address: b.address, Err: ErrUnsupported}
	}
	var dev BootDevice
	var persistent bool
	err := b.call(ctx, "get boot device", func(ctx context.Context) error {
		var err error
		dev, persistent, err = bd.BootDevice(ctx)
		return err
	})
	return dev, persistent, err
}

// HardwareInventory reads the hardware inventory out of band. It fails with
// ErrUnsupported when the driver has no [InventoryDriver].
func (b *BMC) HardwareInventory(ctx context.Context) (*HardwareInventory, error) {
	id, ok := b.d.(InventoryDriver)
	if !ok {
		return nil, &OpError{Op: "inventory", Address: b.address, Err: ErrUnsupported}
	}
	var inv *HardwareInventory
	err := b.call(ctx, "inventory", func(ctx context.Context) error {
		var err error
		inv, err = id.HardwareInventory(ctx)
		return err
	})
	return inv, err
}

// InsertMedia attaches an image as virtual media. It fails with
// ErrUnsupported when the driver has no [VirtualMediaDriver].
func (b *BMC) InsertMedia(ctx context.Context, url string) error {
	vm, ok := b.d.(VirtualMediaDriver)
	if !ok {
		return &OpError{Op: "insert media", Address: b.address, Err: ErrUnsupported}
	}
	return b.call(ctx, "insert media", func(ctx context.Context) error { return vm.InsertMedia(ctx, url) })
}

// EjectMedia detaches virtual media. It fails with ErrUnsupported when the
// driver has no [VirtualMediaDriver].
func (b *BMC) EjectMedia(ctx context.Context) error {
	vm, ok := b.d.(VirtualMediaDriver)
	if !ok {
		return &OpError{Op: "eject media", Address: b.address, Err: ErrUnsupported}
	}
	return b.call(ctx, "eject media", vm.EjectMedia)
}
