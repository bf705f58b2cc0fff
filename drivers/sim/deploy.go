package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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
func (d *Datacenter) DeployStep(imagePath string) provision.DeployStep {
	return &writeImageStep{d: d, image: imagePath}
}

type writeImageStep struct {
	d     *Datacenter
	image string
}

func (s *writeImageStep) Name() string { return "sim write image " + s.image }

func (s *writeImageStep) Run(ctx context.Context, n *provision.Node, _ *provision.BMC) error {
	m := s.d.MachineFor(n.BMCAddress)
	if m == nil {
		return fmt.Errorf("sim: node %s: no simulated machine at %s", n.Name, n.BMCAddress)
	}
	if m.PowerState() != provision.PowerOn || m.BootedFrom() != provision.BootPXE {
		return fmt.Errorf("sim: machine %s is %s and booted from %s; a deploy needs it on and network-booted", m.name, m.PowerState(), m.BootedFrom())
	}
	return m.WriteDisk(ctx, s.image)
}

// WriteDisk copies the file at src to the start of the machine's disk and
// syncs it. The image must fit the disk.
func (m *Machine) WriteDisk(ctx context.Context, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("sim: machine %s: image: %w", m.name, err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return fmt.Errorf("sim: machine %s: image: %w", m.name, err)
	}
	out, err := os.OpenFile(m.diskPath, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("sim: machine %s: disk: %w", m.name, err)
	}
	dst, _ := out.Stat()
	if dst != nil && st.Size() > dst.Size() {
		out.Close()
		return fmt.Errorf("sim: machine %s: image %s is %d bytes, disk %d", m.name, src, st.Size(), dst.Size())
	}
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			out.Close()
			return err
		}
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, werr := out.Write(buf[:n]); werr != nil {
				out.Close()
				return fmt.Errorf("sim: machine %s: disk: %w", m.name, werr)
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			out.Close()
			return fmt.Errorf("sim: machine %s: image: %w", m.name, rerr)
		}
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("sim: machine %s: disk: %w", m.name, err)
	}
	m.mu.Lock()
	m.calls = append(m.calls, "disk write "+src)
	m.mu.Unlock()
	return out.Close()
}
