package sim

import (
	"fmt"
	"sync"
	"time"

	"github.com/tripleo-go/tripleo/provision"
)

// Fault is a failure a machine's BMC can be made to show.
type Fault int

// Faults.
const (
	// FaultNone: the BMC behaves.
	FaultNone Fault = iota
	// FaultUnreachable: the BMC drops every packet (as if unplugged).
	FaultUnreachable
	// FaultSlow: the BMC answers after the machine's slow delay.
	FaultSlow
	// FaultWrongPassword: the BMC refuses every password.
	FaultWrongPassword
)

var faultNames = []string{"none", "unreachable", "slow", "wrong-password"}

// String returns the fault's name.
func (f Fault) String() string {
	if f >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Machine is one simulated server. Its methods are safe for concurrent use.
type Machine struct {
	name     string
	uuid     string
	mac      string
	diskPath string
	username string
	password string

	mu         sync.Mutex
	on         bool
	pendingOn  bool      // a power-on is in progress
	onAt       time.Time // when it completes
	delay      time.Duration
	boot       provision.BootDevice
	persistent bool
	bootedFrom provision.BootDevice // device of the last power-on
	fault      Fault
	slow       time.Duration
	calls      []string
	changed    chan struct{} // closed and replaced on every change (for waiters)

	ipmi *ipmiEndpoint
}

// Name returns the machine's name (m0, m1, ...).
func (m *Machine) Name() string { return m.name }

// UUID returns the machine's system UUID.
func (m *Machine) UUID() string { return m.uuid }

// MAC returns the hardware address of its (simulated) network interface.
func (m *Machine) MAC() string { return m.mac }

// DiskPath returns the path of the file that is the machine's disk.
func (m *Machine) DiskPath() string { return m.diskPath }

// Username returns the BMC user name.
func (m *Machine) Username() string { return m.username }

// Credentials returns the BMC credentials that work.
func (m *Machine) Credentials() provision.Credentials {
	return provision.NewCredentials(m.username, m.password)
}

// IPMIAddr returns the host:port of the machine's IPMI endpoint.
func (m *Machine) IPMIAddr() string { return m.ipmi.addr() }

// IPMIURL returns ipmi://host:port, the address drivers/ipmi uses.
func (m *Machine) IPMIURL() string { return "ipmi://" + m.ipmi.addr() }

// SimURL returns sim://host:port, the address of the in-process driver.
func (m *Machine) SimURL() string { return "sim://" + m.ipmi.addr() }

// settleLocked completes a pending power-on whose delay has passed.
func (m *Machine) settleLocked() {
	if m.pendingOn && !time.Now().Before(m.onAt) {
		m.pendingOn = false
		m.on = true
		m.notifyLocked()
	}
}

func (m *Machine) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// PowerState returns the machine's power state.
func (m *Machine) PowerState() provision.PowerState {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settleLocked()
	if m.on {
		return provision.PowerOn
	}
	return provision.PowerOff
}

// SetPowerOnDelay makes later power-ons complete only after d.
func (m *Machine) SetPowerOnDelay(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delay = d
}

// SetFault makes the BMC show f. slow is the answer delay for FaultSlow.
func (m *Machine) SetFault(f Fault, slow time.Duration) {
	m.mu.Lock()
	m.fault, m.slow = f, slow
	m.mu.Unlock()
	if m.ipmi != nil {
		m.ipmi.applyFault(f)
	}
}

// fault returns the current fault and slow delay.
func (m *Machine) currentFault() (Fault, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fault, m.slow
}

// Calls returns the log of chassis actions the machine received, such as
// "power on", "power cycle", "boot pxe once".
func (m *Machine) Calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.calls...)
}

// Power applies a power action as the machine's chassis would: on and
// cycle/reset (from on) go through the power-on delay, off and soft-off
// are immediate. It never fails; faults belong to the BMC endpoints.
func (m *Machine) Power(a provision.PowerAction) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settleLocked()
	m.calls = append(m.calls, "power "+a.String())
	switch a {
	case provision.PowerActionOff, provision.PowerActionSoftOff:
		m.on, m.pendingOn = false, false
	case provision.PowerActionOn:
		if !m.on && !m.pendingOn {
			m.startOnLocked()
		}
	case provision.PowerActionCycle, provision.PowerActionReset:
		m.on = false
		m.startOnLocked()
	}
	m.notifyLocked()
}

func (m *Machine) startOnLocked() {
	m.bootedFrom = m.boot
	if m.bootedFrom == provision.BootNone {
		m.bootedFrom = provision.BootDisk
	}
	if !m.persistent {
		m.boot = provision.BootNone // a one-time override is consumed by the boot
	}
	if m.delay <= 0 {
		m.on, m.pendingOn = true, false
		return
	}
	m.pendingOn, m.onAt = true, time.Now().Add(m.delay)
}

// SetBoot sets the boot device override.
func (m *Machine) SetBoot(dev provision.BootDevice, persistent bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	once := "once"
	if persistent {
		once = "persistent"
	}
	m.calls = append(m.calls, "boot "+dev.String()+" "+once)
	m.boot, m.persistent = dev, persistent
	m.notifyLocked()
}

// Boot returns the boot device override.
func (m *Machine) Boot() (provision.BootDevice, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.boot, m.persistent
}

// HardwareInventory describes the simulated hardware.
func (m *Machine) HardwareInventory() *provision.HardwareInventory {
	return &provision.HardwareInventory{
		CPUs: 2, CPUArch: "x86_64", MemoryMiB: 4096, DiskGiB: 1,
		MACs:  []string{m.mac},
		Extra: map[string]string{"vendor": "tripleo-sim", "uuid": m.uuid},
	}
}

// BootedFrom returns the device the machine booted from at its last
// power-on (disk when no override was set), BootNone if it never booted.
func (m *Machine) BootedFrom() provision.BootDevice {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bootedFrom
}
