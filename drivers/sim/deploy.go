package sim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tripleo-go/tripleo/image"
	"github.com/tripleo-go/tripleo/provision"
)

// MachineFor returns the machine a BMC address (ipmi://, ipmi+lan:// or
// sim:// with the machine's IPMI host:port, or a Redfish address naming
// the machine's system) names, or nil.
func (d *Datacenter) MachineFor(address string) *Machine {
	a, err := provision.ParseBMCAddress(address)
	if err != nil {
		return nil
	}
	for _, m := range d.machines {
		if m.ipmi != nil && a.Driver != "redfish" && m.IPMIAddr() == a.HostPort(623) {
			return m
		}
		if m.redfish != nil && a.Driver == "redfish" && a.HostPort(0) == m.redfish.Addr() &&
			strings.TrimSuffix(a.Path, "/") == m.RedfishSystemPath() {
			return m
		}
	}
	return nil
}

// DeployStep returns a [provision.DeployStep] that writes the image file
// at imagePath onto the disk of the machine the node's BMC address names,
// as a deploy ramdisk would. It fails unless the machine is powered on and
// booted from the network, which is what the Provisioner must have
// arranged before running deploy steps.
//
// The step also has a WithConfigDrive method (found by type assertion,
// as tripleo's server type does): the step it returns writes a config
// drive too. A deploy without one removes the machine's old config drive,
// as rewriting the disk would.
func (d *Datacenter) DeployStep(imagePath string) provision.DeployStep {
	return &writeImageStep{d: d, image: imagePath}
}

type writeImageStep struct {
	d     *Datacenter
	image string
	drive map[string][]byte
}

func (s *writeImageStep) Name() string { return "sim write image " + s.image }

// WithConfigDrive returns a step that also writes files (paths relative
// to the drive's root, such as "openstack/latest/meta_data.json") as the
// machine's config drive: the directory Machine.Dir()/config-2 stands for
// the config-2 partition Ironic writes at the end of the disk.
func (s *writeImageStep) WithConfigDrive(files map[string][]byte) provision.DeployStep {
	c := *s
	c.drive = maps.Clone(files)
	return &c
}

func (s *writeImageStep) Run(ctx context.Context, n *provision.Node, _ *provision.BMC) error {
	m := s.d.MachineFor(n.BMCAddress)
	if m == nil {
		return fmt.Errorf("sim: node %s: no simulated machine at %s", n.Name, n.BMCAddress)
	}
	if m.PowerState() != provision.PowerOn || m.BootedFrom() != provision.BootPXE {
		return fmt.Errorf("sim: machine %s is %s and booted from %s; a deploy needs it on and network-booted", m.name, m.PowerState(), m.BootedFrom())
	}
	if err := m.WriteDisk(ctx, s.image); err != nil {
		return err
	}
	return m.WriteConfigDrive(s.drive)
}

// ConfigDriveDir is the name of the config drive directory inside a
// machine's Dir.
const ConfigDriveDir = "config-2"

// WriteConfigDrive replaces the machine's config drive (Dir()/config-2)
// with files, keyed by slash-separated paths relative to the drive's
// root; nil or empty removes it. A path that is absolute, not clean or
// leaves the drive is an error, and then nothing changes.
func (m *Machine) WriteConfigDrive(files map[string][]byte) error {
	dst := filepath.Join(m.home, ConfigDriveDir)
	for name := range files {
		if !filepath.IsLocal(name) || path.Clean(name) != name {
			return fmt.Errorf("sim: machine %s: config drive path %q: not a clean relative path", m.name, name)
		}
	}
	if len(files) == 0 {
		if err := os.RemoveAll(dst); err != nil {
			return fmt.Errorf("sim: machine %s: config drive: %w", m.name, err)
		}
		return nil
	}
	tmp, err := os.MkdirTemp(m.home, "."+ConfigDriveDir+".new-")
	if err != nil {
		return fmt.Errorf("sim: machine %s: config drive: %w", m.name, err)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p := filepath.Join(tmp, filepath.FromSlash(name))
		err := os.MkdirAll(filepath.Dir(p), 0o755)
		if err == nil {
			err = os.WriteFile(p, files[name], 0o644)
		}
		if err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("sim: machine %s: config drive %s: %w", m.name, name, err)
		}
	}
	old := dst + ".old"
	_ = os.RemoveAll(old)
	if err := os.Rename(dst, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		os.RemoveAll(tmp)
		return fmt.Errorf("sim: machine %s: config drive: %w", m.name, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("sim: machine %s: config drive: %w", m.name, err)
	}
	_ = os.RemoveAll(old)
	m.mu.Lock()
	m.calls = append(m.calls, "config drive write")
	m.mu.Unlock()
	return nil
}

// WriteDisk copies the file at src to the start of the machine's disk and
// syncs it (with image.WriteImage: only the image's data is read and
// written, the disk's bytes under its holes are punched out; not hashed:
// the caller's image is trusted, as a store's verified file). The image
// must fit the disk.
func (m *Machine) WriteDisk(ctx context.Context, src string) error {
	if _, err := image.WriteImage(ctx, m.diskPath, src, &image.WriteOptions{NoDigest: true}); err != nil {
		if errors.Is(err, image.ErrTargetTooSmall) {
			return fmt.Errorf("sim: machine %s: image %s does not fit the disk: %w", m.name, src, err)
		}
		return fmt.Errorf("sim: machine %s: %w", m.name, err)
	}
	m.mu.Lock()
	m.calls = append(m.calls, "disk write "+src)
	m.mu.Unlock()
	return nil
}
