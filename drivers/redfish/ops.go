package redfish

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/tripleo-go/tripleo/provision"
)

// resetCandidates lists, per power action, the Redfish ResetType values
// that perform it, preferred first.
var resetCandidates = map[provision.PowerAction][]string{
	provision.PowerActionOn:      {"On", "ForceOn"},
	provision.PowerActionOff:     {"ForceOff"},
	provision.PowerActionSoftOff: {"GracefulShutdown"},
	provision.PowerActionCycle:   {"PowerCycle", "ForceRestart"},
	provision.PowerActionReset:   {"ForceRestart", "PowerCycle"},
}

// resetType picks the ResetType for a among the advertised values; with
// none advertised, the preferred one is sent.
func resetType(a provision.PowerAction, allowed []string) (string, error) {
	cands := resetCandidates[a]
	if len(allowed) == 0 {
		return cands[0], nil
	}
	for _, c := range cands {
		if slices.Contains(allowed, c) {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w: power %s needs ResetType %s; the system allows %s", provision.ErrUnsupported, a, strings.Join(cands, " or "), strings.Join(allowed, ", "))
}

// PowerState reads the system's PowerState. PoweringOn reads as off and
// PoweringOff as on: the change has not happened yet.
func (d *Driver) PowerState(ctx context.Context) (provision.PowerState, error) {
	var s provision.PowerState
	err := d.do(ctx, "power status", func(ctx context.Context, c *gofish.APIClient) error {
		doc, _, err := d.system(c)
		if err == nil {
			s = doc.Power
		}
		return err
	})
	if err != nil {
		return provision.PowerUnknown, err
	}
	return s, nil
}

// SetPower sends the ComputerSystem.Reset action that performs a, chosen
// among the values the system advertises (ErrUnsupported when none fits).
// It is idempotent: on when on (or powering on) and off when off (or
// powering off) send nothing; cycle or reset of a machine that is off
// powers it on.
func (d *Driver) SetPower(ctx context.Context, a provision.PowerAction) error {
	if !a.Valid() {
		return fmt.Errorf("redfish %s: power action %d: %w", d.addr, int(a), provision.ErrUnsupported)
	}
	return d.do(ctx, "power "+a.String(), func(ctx context.Context, c *gofish.APIClient) error {
		doc, sys, err := d.system(c)
		if err != nil {
			return err
		}
		send := a
		switch a {
		case provision.PowerActionOn:
			if doc.PowerRaw == "On" || doc.PowerRaw == "PoweringOn" {
				return nil
			}
		case provision.PowerActionOff, provision.PowerActionSoftOff:
			if doc.PowerRaw == "Off" || doc.PowerRaw == "PoweringOff" {
				return nil
			}
		case provision.PowerActionCycle, provision.PowerActionReset:
			if doc.Power == provision.PowerOff {
				send = provision.PowerActionOn
			}
		}
		if doc.ResetTarget == "" {
			return fmt.Errorf("%w: the system advertises no #ComputerSystem.Reset action", provision.ErrUnsupported)
		}
		allowed := doc.ResetTypes
		if len(allowed) == 0 && doc.ResetInfo != "" {
			body, _, err := d.get(c, doc.ResetInfo)
			if err != nil {
				return err
			}
			if allowed, err = parseActionInfo(body, "ResetType"); err != nil {
				return err
			}
		}
		rt, err := resetType(send, allowed)
		if err != nil {
			return err
		}
		d.log.Debug("reset", "ResetType", rt)
		_, err = sys.Reset(schemas.ResetType(rt))
		return err
	})
}

// BootMode is the firmware boot mode of a boot override.
type BootMode int

// Boot modes.
const (
	// BootModeUnchanged leaves the system's mode as it is (when setting)
	// or means the system did not say (when read).
	BootModeUnchanged BootMode = iota
	// BootModeUEFI is Redfish BootSourceOverrideMode "UEFI".
	BootModeUEFI
	// BootModeLegacy is Redfish BootSourceOverrideMode "Legacy" (BIOS).
	BootModeLegacy
)

// String returns "unchanged", "UEFI" or "Legacy".
func (m BootMode) String() string {
	switch m {
	case BootModeUEFI:
		return "UEFI"
	case BootModeLegacy:
		return "Legacy"
	case BootModeUnchanged:
		return "unchanged"
	}
	return fmt.Sprintf("BootMode(%d)", int(m))
}

// BootOverride is a system's boot source override.
type BootOverride struct {
	// Device is the override target; BootNone means no override.
	Device provision.BootDevice
	// Persistent is true for every boot (Continuous), false for the next
	// one only (Once).
	Persistent bool
	// Mode is the firmware mode the override boots in.
	Mode BootMode
}

// SetBootDevice sets the boot override (Pxe, Hdd, Cd, BiosSetup; Once or
// Continuous), in the mode the address's boot_mode names (else unchanged).
func (d *Driver) SetBootDevice(ctx context.Context, dev provision.BootDevice, persistent bool) error {
	return d.SetBootOverride(ctx, BootOverride{Device: dev, Persistent: persistent, Mode: d.o.bootMode})
}

// BootDevice reads the boot override; BootNone when it is disabled.
func (d *Driver) BootDevice(ctx context.Context) (provision.BootDevice, bool, error) {
	b, err := d.BootOverride(ctx)
	return b.Device, b.Persistent, err
}

// BootOverride reads the boot override, with its mode.
func (d *Driver) BootOverride(ctx context.Context) (BootOverride, error) {
	var b BootOverride
	err := d.do(ctx, "get boot device", func(ctx context.Context, c *gofish.APIClient) error {
		doc, _, err := d.system(c)
		if err == nil {
			b = doc.Boot
		}
		return err
	})
	return b, err
}

// SetBootOverride PATCHes the system's Boot with If-Match (a stale ETag
// is refetched and the PATCH sent again once). A target the system does
// not list in its allowable values fails with ErrUnsupported.
func (d *Driver) SetBootOverride(ctx context.Context, b BootOverride) error {
	target, ok := targetOf[b.Device]
	if !ok {
		return fmt.Errorf("redfish %s: boot device %s: %w", d.addr, b.Device, provision.ErrUnsupported)
	}
	op := "set boot device " + b.Device.String()
	return d.do(ctx, op, func(ctx context.Context, c *gofish.APIClient) error {
		for try := 0; ; try++ {
			doc, sys, err := d.system(c)
			if err != nil {
				return err
			}
			if b.Device != provision.BootNone && len(doc.BootTargets) > 0 && !slices.Contains(doc.BootTargets, target) {
				return fmt.Errorf("%w: boot target %s is not among the system's allowable values %s", provision.ErrUnsupported, target, strings.Join(doc.BootTargets, ", "))
			}
			boot := &schemas.Boot{BootSourceOverrideTarget: schemas.BootSource(target), BootSourceOverrideEnabled: schemas.OnceBootSourceOverrideEnabled}
			switch {
			case b.Device == provision.BootNone:
				boot.BootSourceOverrideEnabled = schemas.DisabledBootSourceOverrideEnabled
			case b.Persistent:
				boot.BootSourceOverrideEnabled = schemas.ContinuousBootSourceOverrideEnabled
			}
			switch b.Mode {
			case BootModeUEFI:
				boot.BootSourceOverrideMode = schemas.UEFIBootSourceOverrideMode
			case BootModeLegacy:
				boot.BootSourceOverrideMode = schemas.LegacyBootSourceOverrideMode
			}
			err = sys.SetBoot(boot)
			if try == 0 && schemas.Is412PreconditionFailed(err) {
				d.log.Debug("boot override: stale ETag, refetching")
				continue
			}
			return err
		}
	})
}

// MediaStatus is the state of the system's virtual CD.
type MediaStatus struct {
	// Device is the VirtualMedia resource path.
	Device string
	// Image is the attached image URL, "" when none.
	Image string
	// Inserted reports whether an image is attached.
	Inserted bool
	// ConnectedVia is Redfish's ConnectedVia (URI, NotConnected...).
	ConnectedVia string
}

// findMedia returns the system's CD/DVD virtual media device: under the
// system (Redfish 1.x newer services) or under its managers (most BMCs).
func (d *Driver) findMedia(c *gofish.APIClient) (*mediaDoc, string, error) {
	if d.vmPath != "" {
		return d.media(c, d.vmPath)
	}
	doc, _, err := d.system(c)
	if err != nil {
		return nil, "", err
	}
	var cols []string
	if doc.VirtualMedia != "" {
		cols = append(cols, doc.VirtualMedia)
	}
	for _, mgr := range doc.ManagedBy {
		body, _, err := d.get(c, mgr)
		if err != nil {
			return nil, "", err
		}
		m, err := parseManager(body)
		if err != nil {
			return nil, "", err
		}
		if m.VirtualMedia != "" {
			cols = append(cols, m.VirtualMedia)
		}
	}
	for _, col := range cols {
		ms, err := d.members(c, col)
		if err != nil {
			return nil, "", err
		}
		for _, p := range ms {
			vm, etag, err := d.media(c, p)
			if err != nil {
				return nil, "", err
			}
			if vm.isCD() {
				d.vmPath = p
				return vm, etag, nil
			}
		}
	}
	return nil, "", fmt.Errorf("%w: the system has no CD or DVD virtual media device", provision.ErrUnsupported)
}

func (d *Driver) media(c *gofish.APIClient, path string) (*mediaDoc, string, error) {
	body, etag, err := d.get(c, path)
	if err != nil {
		return nil, "", err
	}
	vm, err := parseMedia(body)
	return vm, etag, err
}

// gofishMedia returns gofish's VirtualMedia for the device, bound to c.
func (d *Driver) gofishMedia(c *gofish.APIClient, path string) (*schemas.VirtualMedia, error) {
	vm, err := schemas.GetVirtualMedia(c, path)
	if err != nil {
		return nil, err
	}
	return vm, nil
}

// waitMedia reads the device back until done reports true, a few times
// with a growing pause (BMCs that answer 202 attach or detach after the
// answer); it returns the last state read.
func (d *Driver) waitMedia(ctx context.Context, c *gofish.APIClient, path string, done func(*mediaDoc) bool) (*mediaDoc, error) {
	wait := 50 * time.Millisecond
	for try := 0; ; try++ {
		m, _, err := d.media(c, path)
		if err != nil || done(m) || try == 6 {
			return m, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return m, nil
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
}

// MediaStatus reads the virtual CD's state.
func (d *Driver) MediaStatus(ctx context.Context) (MediaStatus, error) {
	var st MediaStatus
	err := d.do(ctx, "media status", func(ctx context.Context, c *gofish.APIClient) error {
		vm, _, err := d.findMedia(c)
		if err == nil {
			st = MediaStatus{Device: vm.Path, Image: vm.Image, Inserted: vm.Inserted, ConnectedVia: vm.ConnectedVia}
		}
		return err
	})
	return st, err
}

// InsertMedia attaches the image at url to the virtual CD (InsertMedia
// action, or gofish's PATCH fallback), ejecting another image first, and
// reads the device back. The same image already inserted sends nothing.
func (d *Driver) InsertMedia(ctx context.Context, url string) error {
	if url == "" {
		return fmt.Errorf("redfish %s: insert media: empty image URL", d.addr)
	}
	return d.do(ctx, "insert media", func(ctx context.Context, c *gofish.APIClient) error {
		vm, _, err := d.findMedia(c)
		if err != nil {
			return err
		}
		if vm.Inserted && vm.Image == url {
			return nil
		}
		g, err := d.gofishMedia(c, vm.Path)
		if err != nil {
			return err
		}
		if vm.Inserted {
			if _, err := g.EjectMedia(); err != nil {
				return err
			}
			if g, err = d.gofishMedia(c, vm.Path); err != nil {
				return err
			}
		}
		_, err = g.InsertMedia(&schemas.VirtualMediaInsertMediaParameters{
			Image: url, Inserted: gofish.ToRef(true), WriteProtected: gofish.ToRef(true),
		})
		if err != nil {
			return err
		}
		back, err := d.waitMedia(ctx, c, vm.Path, func(m *mediaDoc) bool { return m.Inserted && m.Image == url })
		if err != nil {
			return err
		}
		if !back.Inserted || back.Image != url {
			return fmt.Errorf("BMC accepted InsertMedia but reports image %q inserted=%v", back.Image, back.Inserted)
		}
		return nil
	})
}

// EjectMedia detaches the virtual CD's image and reads the device back.
// Nothing inserted sends nothing.
func (d *Driver) EjectMedia(ctx context.Context) error {
	return d.do(ctx, "eject media", func(ctx context.Context, c *gofish.APIClient) error {
		vm, _, err := d.findMedia(c)
		if err != nil || !vm.Inserted {
			return err
		}
		g, err := d.gofishMedia(c, vm.Path)
		if err != nil {
			return err
		}
		if _, err := g.EjectMedia(); err != nil {
			return err
		}
		back, err := d.waitMedia(ctx, c, vm.Path, func(m *mediaDoc) bool { return !m.Inserted })
		if err != nil {
			return err
		}
		if back.Inserted {
			return fmt.Errorf("BMC accepted EjectMedia but still reports image %q inserted", back.Image)
		}
		return nil
	})
}

// BootFromMedia inserts the image at url and sets a one-time boot from
// the virtual CD (in the address's boot mode), both read back. Power the
// machine on or cycle it (provision.BMC.Power) to boot it.
func (d *Driver) BootFromMedia(ctx context.Context, url string) error {
	if err := d.InsertMedia(ctx, url); err != nil {
		return err
	}
	if err := d.SetBootDevice(ctx, provision.BootCDROM, false); err != nil {
		return err
	}
	b, err := d.BootOverride(ctx)
	if err != nil {
		return err
	}
	if b.Device != provision.BootCDROM || b.Persistent {
		return fmt.Errorf("redfish %s: boot from media: BMC accepted the override but reports %s (persistent %v)", d.addr, b.Device, b.Persistent)
	}
	return nil
}

// HardwareInventory reads the system's UUID, vendor, model, serial,
// processors, memory, NIC MACs and disks (Storage drives, else
// SimpleStorage devices). CPUs counts
// logical processors; DiskGiB is the largest disk, rounded up; Extra
// holds vendor, model, serial, uuid and cpu_model.
func (d *Driver) HardwareInventory(ctx context.Context) (*provision.HardwareInventory, error) {
	var inv *provision.HardwareInventory
	err := d.do(ctx, "inventory", func(ctx context.Context, c *gofish.APIClient) error {
		doc, _, err := d.system(c)
		if err != nil {
			return err
		}
		hw := &provision.HardwareInventory{CPUs: doc.CPUs, MemoryMiB: doc.MemoryMiB, Extra: map[string]string{}}
		cpuModel := doc.CPUModel
		if doc.Processors != "" {
			ps, err := d.members(c, doc.Processors)
			if err != nil {
				return err
			}
			threads := 0
			for _, p := range ps {
				body, _, err := d.get(c, p)
				if err != nil {
					return err
				}
				pr, err := parseProcessor(body)
				if err != nil {
					return err
				}
				if !pr.IsCPU {
					continue
				}
				threads += pr.Threads
				if hw.CPUArch == "" {
					hw.CPUArch = pr.Arch
				}
				if cpuModel == "" {
					cpuModel = pr.Model
				}
			}
			if hw.CPUs == 0 {
				hw.CPUs = threads
			}
		}
		if doc.NICs != "" {
			ns, err := d.members(c, doc.NICs)
			if err != nil {
				return err
			}
			for _, n := range ns {
				body, _, err := d.get(c, n)
				if err != nil {
					return err
				}
				mac, err := parseNIC(body)
				if err != nil {
					return err
				}
				if mac != "" && !slices.Contains(hw.MACs, mac) {
					hw.MACs = append(hw.MACs, mac)
				}
			}
		}
		largest, err := d.largestDisk(c, doc)
		if err != nil {
			return err
		}
		hw.DiskGiB = int((largest + 1<<30 - 1) >> 30)
		for k, v := range map[string]string{"vendor": doc.Manufacturer, "model": doc.Model, "serial": doc.Serial, "uuid": strings.ToLower(doc.UUID), "cpu_model": cpuModel} {
			if v != "" {
				hw.Extra[k] = v
			}
		}
		inv = hw
		return nil
	})
	return inv, err
}

// largestDisk returns the capacity of the system's largest disk, from
// its Storage drives, else its SimpleStorage devices; 0 when neither
// reports one.
func (d *Driver) largestDisk(c *gofish.APIClient, doc *systemDoc) (int64, error) {
	var largest int64
	if doc.Storage != "" {
		ss, err := d.members(c, doc.Storage)
		if err != nil {
			return 0, err
		}
		for _, s := range ss {
			body, _, err := d.get(c, s)
			if err != nil {
				return 0, err
			}
			drives, err := parseStorage(body)
			if err != nil {
				return 0, err
			}
			for _, dr := range drives {
				body, _, err := d.get(c, dr)
				if err != nil {
					return 0, err
				}
				n, err := parseDrive(body)
				if err != nil {
					return 0, err
				}
				largest = max(largest, n)
			}
		}
	}
	if largest > 0 || doc.SimpleStorage == "" {
		return largest, nil
	}
	ss, err := d.members(c, doc.SimpleStorage)
	if err != nil {
		return 0, err
	}
	for _, s := range ss {
		body, _, err := d.get(c, s)
		if err != nil {
			return 0, err
		}
		sizes, err := parseSimpleStorage(body)
		if err != nil {
			return 0, err
		}
		for _, n := range sizes {
			largest = max(largest, n)
		}
	}
	return largest, nil
}

var (
	_ provision.PowerDriver        = (*Driver)(nil)
	_ provision.BootDeviceDriver   = (*Driver)(nil)
	_ provision.VirtualMediaDriver = (*Driver)(nil)
	_ provision.InventoryDriver    = (*Driver)(nil)
	_ provision.Aser               = (*Driver)(nil)
)
