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
	// FaultServerError: the Redfish endpoint answers 500 Internal Server
	// Error without acting (the IPMI endpoint ignores it).
	FaultServerError
	// FaultTruncatedJSON: the Redfish endpoint cuts its JSON bodies short
	// (the IPMI endpoint ignores it).
	FaultTruncatedJSON
)

var faultNames = []string{"none", "unreachable", "slow", "wrong-password", "server-error", "truncated-json"}

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
	pendingOff bool      // a power-off is in progress (see offDelay)
	offAt      time.Time // when it completes
	offDelay   time.Duration
	bootMode   string // "UEFI" or "Legacy" (Redfish BootSourceOverrideMode)
	media      MediaStatus
	bootImage  string // virtual media image of the last power-on from cdrom
	flaky      flakySchedule
	boot       provision.BootDevice
	persistent bool
	bootedFrom provision.BootDevice // device of the last power-on
	fault      Fault
	slow       time.Duration
	calls      []string
	changed    chan struct{} // closed and replaced on every change (for waiters)

	ipmi    *ipmiEndpoint
	redfish *RedfishService
	dir     string // where fetched virtual media images are kept
	home    string // the machine's own directory (Dir)

	boots      *bootMgr     // the Datacenter's; nil for a bare Machine
	bootGen    int          // power-ons so far (each is a new boot)
	startedGen int          // the generation the last boot started for
	curBoot    *machineBoot // the running boot, nil when none
	lastBoot   *machineBoot // the latest boot started (the next one waits for it)
	bootStatus BootStatus
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

// IPMIAddr returns the host:port of the machine's IPMI endpoint, "" when
// the machine has none (see Options.Endpoints).
func (m *Machine) IPMIAddr() string {
	if m.ipmi == nil {
		return ""
	}
	return m.ipmi.addr()
}

// IPMIURL returns ipmi://host:port, the address drivers/ipmi uses, or ""
// when the machine has no IPMI endpoint.
func (m *Machine) IPMIURL() string {
	if m.ipmi == nil {
		return ""
	}
	return "ipmi://" + m.ipmi.addr()
}

// SimURL returns sim://host:port, the address of the in-process driver,
// or "" when the machine has no IPMI endpoint (the sim:// driver names
// machines by their IPMI port).
func (m *Machine) SimURL() string {
	if m.ipmi == nil {
		return ""
	}
	return "sim://" + m.ipmi.addr()
}

// settleLocked completes a pending power change whose delay has passed.
func (m *Machine) settleLocked() {
	now := time.Now()
	if m.pendingOn && !now.Before(m.onAt) {
		m.pendingOn = false
		m.on = true
		m.notifyLocked()
	}
	if m.pendingOff && !now.Before(m.offAt) {
		m.pendingOff = false
		m.on = false
		m.notifyLocked()
		m.syncBootLocked()
	}
}

// powerTransition returns "PoweringOn" or "PoweringOff" while a delayed
// power change is pending, "" otherwise (Redfish's transitional states).
func (m *Machine) powerTransition() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settleLocked()
	switch {
	case m.pendingOn:
		return "PoweringOn"
	case m.pendingOff:
		return "PoweringOff"
	}
	return ""
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

// SetPowerOffDelay makes later power-offs (hard or soft) complete only
// after d; the machine stays on meanwhile. Zero (the default) means at once.
func (m *Machine) SetPowerOffDelay(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.offDelay = d
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
// through the power-off delay (immediate by default). It never fails;
// faults belong to the BMC endpoints.
func (m *Machine) Power(a provision.PowerAction) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settleLocked()
	m.calls = append(m.calls, "power "+a.String())
	switch a {
	case provision.PowerActionOff, provision.PowerActionSoftOff:
		m.pendingOn = false
		if m.on && m.offDelay > 0 {
			if !m.pendingOff {
				m.pendingOff, m.offAt = true, time.Now().Add(m.offDelay)
			}
		} else {
			m.on, m.pendingOff = false, false
		}
	case provision.PowerActionOn:
		m.pendingOff = false
		if !m.on && !m.pendingOn {
			m.startOnLocked()
		}
	case provision.PowerActionCycle, provision.PowerActionReset:
		m.on, m.pendingOff = false, false
		m.startOnLocked()
	}
	m.syncBootLocked()
	m.notifyLocked()
}

func (m *Machine) startOnLocked() {
	m.bootGen++
	m.bootedFrom = m.boot
	if m.bootedFrom == provision.BootNone {
		m.bootedFrom = provision.BootDisk
	}
	m.bootImage = ""
	if m.bootedFrom == provision.BootCDROM && m.media.Inserted {
		m.bootImage = m.media.Image
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
		CPUs: simCPUs, CPUArch: "x86_64", MemoryMiB: simMemoryMiB, DiskGiB: 1,
		MACs: []string{m.mac},
		Extra: map[string]string{
			"vendor": simVendor, "uuid": m.uuid, "model": simModel,
			"serial": m.serial(), "cpu_model": simCPUModel,
		},
	}
}

// BootedFrom returns the device the machine booted from at its last
// power-on (disk when no override was set), BootNone if it never booted.
func (m *Machine) BootedFrom() provision.BootDevice {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bootedFrom
}

// The simulated hardware, as both HardwareInventory and the Redfish
// endpoint describe it.
const (
	simVendor    = "tripleo-sim"
	simModel     = "Simulated Server 1"
	simCPUModel  = "Simulated CPU @ 2.0GHz"
	simCPUs      = 2
	simMemoryMiB = 4096
)

// serial returns the machine's serial number, derived from its UUID.
func (m *Machine) serial() string { return "SIM" + m.uuid[:8] }

// BootMode returns the firmware boot mode, "UEFI" (the default) or
// "Legacy", as set through Redfish.
func (m *Machine) BootMode() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bootMode == "" {
		return "UEFI"
	}
	return m.bootMode
}

// SetBootMode sets the firmware boot mode, "UEFI" or "Legacy".
func (m *Machine) SetBootMode(mode string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "boot mode "+mode)
	m.bootMode = mode
}

// BootedImage returns the virtual media image URL the machine booted from
// at its last power-on, "" when it did not boot from virtual media.
func (m *Machine) BootedImage() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bootImage
}

// flakySchedule fails every every-th Redfish request to the machine with
// the next fault of faults, in turn.
type flakySchedule struct {
	every  int
	faults []Fault
	count  int
	next   int
}

// SetFlaky makes every every-th Redfish request touching the machine fail
// once with the next of faults, in turn (FaultUnreachable holds the
// request unanswered until the client gives up, FaultSlow delays it by
// one second, FaultWrongPassword drops the caller's session and answers
// 401, FaultServerError answers 500, FaultTruncatedJSON cuts the body).
// Requests in between behave, so a client that retries a failed request
// at once succeeds. every < 2 or no faults turns it off.
func (m *Machine) SetFlaky(every int, faults ...Fault) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if every < 2 || len(faults) == 0 {
		m.flaky = flakySchedule{}
		return
	}
	m.flaky = flakySchedule{every: every, faults: append([]Fault(nil), faults...)}
}

// requestFault counts one Redfish request and returns the fault it must
// show: the persistent one (SetFault) or the scheduled one (SetFlaky).
func (m *Machine) requestFault() (Fault, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fault != FaultNone {
		return m.fault, m.slow
	}
	f := &m.flaky
	if f.every < 2 {
		return FaultNone, 0
	}
	f.count++
	if f.count%f.every != 0 {
		return FaultNone, 0
	}
	fault := f.faults[f.next%len(f.faults)]
	f.next++
	return fault, time.Second
}
