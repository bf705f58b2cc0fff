package provision

import (
	"fmt"
	"strings"
)

// PowerState is the power state a BMC reports for its machine.
type PowerState int

// Power states.
const (
	// PowerUnknown is the zero value: the state has not been read.
	PowerUnknown PowerState = iota
	// PowerOn means the machine is powered on.
	PowerOn
	// PowerOff means the machine is powered off.
	PowerOff
)

var powerStateNames = []string{"unknown", "on", "off"}

// String returns "unknown", "on" or "off".
func (s PowerState) String() string { return enumString(powerStateNames, int(s), "PowerState") }

// MarshalText implements encoding.TextMarshaler.
func (s PowerState) MarshalText() ([]byte, error) {
	return enumMarshal(powerStateNames, int(s), "PowerState")
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *PowerState) UnmarshalText(b []byte) error {
	return enumUnmarshal(powerStateNames, (*int)(s), b, "power state")
}

// PowerAction is a power command sent to a BMC.
type PowerAction int

// Power actions. The zero value is not a valid action.
const (
	// PowerActionOn powers the machine on.
	PowerActionOn PowerAction = iota + 1
	// PowerActionOff powers the machine off at once (hard off).
	PowerActionOff
	// PowerActionSoftOff asks the operating system to shut down (ACPI).
	PowerActionSoftOff
	// PowerActionCycle powers the machine off then on again.
	PowerActionCycle
	// PowerActionReset resets the machine (hard reset, power stays on).
	PowerActionReset
)

var powerActionNames = []string{"", "on", "off", "soft-off", "cycle", "reset"}

// String returns "on", "off", "soft-off", "cycle" or "reset".
func (a PowerAction) String() string { return enumString(powerActionNames, int(a), "PowerAction") }

// Target is the power state a successful action leaves the machine in.
func (a PowerAction) Target() PowerState {
	switch a {
	case PowerActionOff, PowerActionSoftOff:
		return PowerOff
	case PowerActionOn, PowerActionCycle, PowerActionReset:
		return PowerOn
	}
	return PowerUnknown
}

// Valid reports whether a is one of the defined actions.
func (a PowerAction) Valid() bool { return a >= PowerActionOn && a <= PowerActionReset }

// ParsePowerAction parses the String form of an action.
func ParsePowerAction(s string) (PowerAction, error) {
	var v int
	if err := enumUnmarshal(powerActionNames, &v, []byte(s), "power action"); err != nil || v == 0 {
		return 0, fmt.Errorf("provision: unknown power action %q (want one of %s)", s, strings.Join(powerActionNames[1:], ", "))
	}
	return PowerAction(v), nil
}

// BootDevice is the device a machine boots from next.
type BootDevice int

// Boot devices.
const (
	// BootNone is the zero value: no override, the firmware's own order.
	BootNone BootDevice = iota
	// BootPXE boots from the network.
	BootPXE
	// BootDisk boots from the first disk.
	BootDisk
	// BootCDROM boots from an optical drive or virtual media.
	BootCDROM
	// BootBIOS stops in the firmware setup.
	BootBIOS
)

var bootDeviceNames = []string{"none", "pxe", "disk", "cdrom", "bios"}

// String returns "none", "pxe", "disk", "cdrom" or "bios".
func (d BootDevice) String() string { return enumString(bootDeviceNames, int(d), "BootDevice") }

// MarshalText implements encoding.TextMarshaler.
func (d BootDevice) MarshalText() ([]byte, error) {
	return enumMarshal(bootDeviceNames, int(d), "BootDevice")
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *BootDevice) UnmarshalText(b []byte) error {
	return enumUnmarshal(bootDeviceNames, (*int)(d), b, "boot device")
}

// ParseBootDevice parses the String form of a boot device.
func ParseBootDevice(s string) (BootDevice, error) {
	var d BootDevice
	err := d.UnmarshalText([]byte(s))
	return d, err
}

func enumString(names []string, v int, typ string) string {
	if v >= 0 && v < len(names) && names[v] != "" {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", typ, v)
}

func enumMarshal(names []string, v int, typ string) ([]byte, error) {
	if v >= 0 && v < len(names) && names[v] != "" {
		return []byte(names[v]), nil
	}
	return nil, fmt.Errorf("provision: invalid %s %d", typ, v)
}

func enumUnmarshal(names []string, dst *int, b []byte, what string) error {
	s := strings.ToLower(string(b))
	for i, n := range names {
		if n != "" && n == s {
			*dst = i
			return nil
		}
	}
	return fmt.Errorf("provision: unknown %s %q", what, string(b))
}
