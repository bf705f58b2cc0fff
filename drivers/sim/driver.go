package sim

import (
	"context"
	"crypto/subtle"
	"fmt"
	"sync"
	"time"

	"github.com/tripleo-go/tripleo/provision"
)

func init() {
	provision.Register("sim", openDriver)
}

var (
	liveMu sync.RWMutex
	live   = map[string]*Machine{} // IPMI host:port → machine
)

func register(m *Machine) {
	liveMu.Lock()
	defer liveMu.Unlock()
	live[m.IPMIAddr()] = m
}

func unregister(m *Machine) {
	liveMu.Lock()
	defer liveMu.Unlock()
	if live[m.IPMIAddr()] == m {
		delete(live, m.IPMIAddr())
	}
}

func openDriver(ctx context.Context, addr provision.BMCAddress, creds provision.Credentials, opts provision.DriverOptions) (provision.PowerDriver, error) {
	if addr.Port == 0 {
		return nil, fmt.Errorf("sim: %s: %w: port required (the machine's IPMI port)", addr, provision.ErrInvalidAddress)
	}
	return &driver{hostport: addr.HostPort(0), creds: creds}, nil
}

// driver drives a machine of this process directly (scheme sim://).
type driver struct {
	hostport string
	creds    provision.Credentials

	mu     sync.Mutex
	closed bool
}

// machine finds the machine and applies its faults as a BMC would.
func (d *driver) machine(ctx context.Context) (*Machine, error) {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("sim %s: %w", d.hostport, provision.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	liveMu.RLock()
	m := live[d.hostport]
	liveMu.RUnlock()
	if m == nil {
		return nil, fmt.Errorf("sim %s: no simulated machine there: %w", d.hostport, provision.ErrUnreachable)
	}
	f, slow := m.currentFault()
	switch f {
	case FaultUnreachable:
		<-ctx.Done()
		return nil, fmt.Errorf("sim %s: %w (%w)", d.hostport, provision.ErrUnreachable, ctx.Err())
	case FaultSlow:
		t := time.NewTimer(slow)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("sim %s: %w (%w)", d.hostport, provision.ErrUnreachable, ctx.Err())
		case <-t.C:
		}
	case FaultWrongPassword:
		return nil, fmt.Errorf("sim %s: user %q: %w", d.hostport, d.creds.Username(), provision.ErrAuth)
	}
	userOK := subtle.ConstantTimeCompare([]byte(d.creds.Username()), []byte(m.username)) == 1
	passOK := subtle.ConstantTimeCompare([]byte(d.creds.Password()), []byte(m.password)) == 1
	if !userOK || !passOK {
		return nil, fmt.Errorf("sim %s: user %q: %w", d.hostport, d.creds.Username(), provision.ErrAuth)
	}
	return m, nil
}

func (d *driver) PowerState(ctx context.Context) (provision.PowerState, error) {
	m, err := d.machine(ctx)
	if err != nil {
		return provision.PowerUnknown, err
	}
	return m.PowerState(), nil
}

func (d *driver) SetPower(ctx context.Context, a provision.PowerAction) error {
	if !a.Valid() {
		return fmt.Errorf("sim %s: power action %d: %w", d.hostport, int(a), provision.ErrUnsupported)
	}
	m, err := d.machine(ctx)
	if err != nil {
		return err
	}
	m.Power(a)
	return nil
}

func (d *driver) SetBootDevice(ctx context.Context, dev provision.BootDevice, persistent bool) error {
	m, err := d.machine(ctx)
	if err != nil {
		return err
	}
	if _, ok := deviceToSelector[dev]; !ok {
		return fmt.Errorf("sim %s: boot device %s: %w", d.hostport, dev, provision.ErrUnsupported)
	}
	m.SetBoot(dev, persistent)
	return nil
}

func (d *driver) BootDevice(ctx context.Context) (provision.BootDevice, bool, error) {
	m, err := d.machine(ctx)
	if err != nil {
		return provision.BootNone, false, err
	}
	dev, p := m.Boot()
	return dev, p, nil
}

func (d *driver) HardwareInventory(ctx context.Context) (*provision.HardwareInventory, error) {
	m, err := d.machine(ctx)
	if err != nil {
		return nil, err
	}
	return m.HardwareInventory(), nil
}

// As sets a **Machine target to the machine driven.
func (d *driver) As(target any) bool {
	p, ok := target.(**Machine)
	if !ok {
		return false
	}
	liveMu.RLock()
	defer liveMu.RUnlock()
	m := live[d.hostport]
	if m == nil {
		return false
	}
	*p = m
	return true
}

func (d *driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// ensure the optional interfaces stay implemented.
var (
	_ provision.BootDeviceDriver = (*driver)(nil)
	_ provision.InventoryDriver  = (*driver)(nil)
	_ provision.Aser             = (*driver)(nil)
)
