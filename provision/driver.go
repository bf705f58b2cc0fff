package provision

import (
	"context"
	"log/slog"
)

// PowerDriver is the one interface every BMC driver implements. Methods are
// safe for concurrent use, honour ctx, and classify their errors with
// ErrAuth, ErrUnreachable and ErrUnsupported (wrapped with %w). Errors and
// log lines never contain the password.
//
// Drivers send commands; [BMC] adds verification, idempotence, retries and
// pacing on top, so a driver stays small. A driver's SetPower must
// nonetheless be safe to repeat ("on when already on" must not fail).
type PowerDriver interface {
	// PowerState reads the machine's power state from the BMC.
	PowerState(ctx context.Context) (PowerState, error)
	// SetPower sends a power action. It returns when the BMC accepted the
	// command, which may be before the machine reaches the target state.
	SetPower(ctx context.Context, action PowerAction) error
	// Close releases sessions and sockets. Calls after Close return an
	// error wrapping ErrClosed. Close is idempotent.
	Close() error
}

// BootDeviceDriver is the optional interface of drivers that can select the
// next boot device.
type BootDeviceDriver interface {
	// SetBootDevice selects dev for the next boot only, or for every boot
	// when persistent is true.
	SetBootDevice(ctx context.Context, dev BootDevice, persistent bool) error
	// BootDevice reads the boot device override and whether it persists.
	BootDevice(ctx context.Context) (dev BootDevice, persistent bool, err error)
}

// VirtualMediaDriver is the optional interface of drivers that can attach
// an image (ISO) as a virtual CD to the machine.
type VirtualMediaDriver interface {
	// InsertMedia attaches the image at url.
	InsertMedia(ctx context.Context, url string) error
	// EjectMedia detaches any attached image.
	EjectMedia(ctx context.Context) error
}

// InventoryDriver is the optional interface of drivers that can read the
// machine's hardware inventory out of band (used by Inspect).
type InventoryDriver interface {
	// HardwareInventory reads the machine's hardware description.
	HardwareInventory(ctx context.Context) (*HardwareInventory, error)
}

// Aser is the optional interface of drivers that expose their underlying
// client (the gocloud.dev As escape hatch). As sets *target and reports true
// when target is a pointer to a type the driver can provide.
type Aser interface {
	As(target any) bool
}

// HardwareInventory describes a machine's hardware, as inspection finds it.
type HardwareInventory struct {
	CPUs      int      `json:"cpus,omitempty"`
	CPUArch   string   `json:"cpu_arch,omitempty"`
	MemoryMiB int      `json:"memory_mib,omitempty"`
	DiskGiB   int      `json:"disk_gib,omitempty"`
	MACs      []string `json:"macs,omitempty"`
	// Extra holds driver-specific facts (vendor, model, serial...).
	Extra map[string]string `json:"extra,omitempty"`
}

// DriverOptions are passed to a driver's OpenFunc.
type DriverOptions struct {
	// Logger receives the driver's debug logs. Never nil when a driver is
	// opened through Open (a discarding logger stands in).
	Logger *slog.Logger
}
