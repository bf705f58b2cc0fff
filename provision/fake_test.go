package provision_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tripleo-go/tripleo/provision"
)

// fakeDriver is an in-memory driver for unit tests of this package's own
// logic (the real drivers have their own tests against real peers).
type fakeDriver struct {
	mu       sync.Mutex
	state    provision.PowerState
	pending  provision.PowerState // state reached after delay
	at       time.Time
	delay    time.Duration
	boot     provision.BootDevice
	persist  bool
	commands []string
	failNext []error // errors returned by the next calls, in order
	ignore   bool    // accept commands but never change state
	closed   bool
	inv      *provision.HardwareInventory
}

func newFake() *fakeDriver { return &fakeDriver{state: provision.PowerOff} }

func (f *fakeDriver) settle() {
	if f.pending != provision.PowerUnknown && !time.Now().Before(f.at) {
		f.state, f.pending = f.pending, provision.PowerUnknown
	}
}

func (f *fakeDriver) popErr() error {
	if f.closed {
		return provision.ErrClosed
	}
	if len(f.failNext) > 0 {
		err := f.failNext[0]
		f.failNext = f.failNext[1:]
		return err
	}
	return nil
}

func (f *fakeDriver) PowerState(ctx context.Context) (provision.PowerState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.popErr(); err != nil {
		return provision.PowerUnknown, err
	}
	f.settle()
	return f.state, nil
}

func (f *fakeDriver) SetPower(ctx context.Context, a provision.PowerAction) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.popErr(); err != nil {
		return err
	}
	f.commands = append(f.commands, a.String())
	if f.ignore {
		return nil
	}
	f.settle()
	switch a {
	case provision.PowerActionCycle, provision.PowerActionReset:
		f.state = provision.PowerOff
	}
	f.pending, f.at = a.Target(), time.Now().Add(f.delay)
	f.settle()
	return nil
}

func (f *fakeDriver) SetBootDevice(ctx context.Context, d provision.BootDevice, persistent bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.popErr(); err != nil {
		return err
	}
	f.commands = append(f.commands, fmt.Sprintf("boot %s persistent=%v", d, persistent))
	f.boot, f.persist = d, persistent
	return nil
}

func (f *fakeDriver) BootDevice(ctx context.Context) (provision.BootDevice, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.boot, f.persist, f.popErr()
}

func (f *fakeDriver) HardwareInventory(ctx context.Context) (*provision.HardwareInventory, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.popErr(); err != nil {
		return nil, err
	}
	if f.inv == nil {
		return nil, provision.ErrUnsupported
	}
	c := *f.inv
	return &c, nil
}

func (f *fakeDriver) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeDriver) cmds() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.commands...)
}

// fakeFleet opens fake drivers by address for a Provisioner.
type fakeFleet struct {
	mu      sync.Mutex
	drivers map[string]*fakeDriver
}

func newFleet() *fakeFleet { return &fakeFleet{drivers: map[string]*fakeDriver{}} }

func (ff *fakeFleet) get(addr string) *fakeDriver {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	d := ff.drivers[addr]
	if d == nil || d.closed {
		old := d
		d = newFake()
		if old != nil {
			d.state, d.boot, d.persist, d.commands, d.inv = old.state, old.boot, old.persist, old.commands, old.inv
		}
		ff.drivers[addr] = d
	}
	return d
}

func (ff *fakeFleet) open(ctx context.Context, address string, creds provision.Credentials, o *provision.BMCOptions) (*provision.BMC, error) {
	if creds.Password() == "wrong" {
		return nil, fmt.Errorf("open: %w", provision.ErrAuth)
	}
	return provision.NewBMC(ff.get(address), address, o), nil
}
