package ironic

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/baremetal/v1/nodes"
	"github.com/gophercloud/gophercloud/v2/openstack/baremetal/v1/ports"

	"github.com/tripleo-go/tripleo/provision"
)

// extraAddress is the key of Ironic's node "extra" under which Enroll
// keeps the node's BMC address as we wrote it, so that Get returns it
// unchanged.
const extraAddress = "tripleo_bmc_address"

// faultString extracts Ironic's faultstring from an error body, or returns
// the body trimmed.
func faultString(body []byte) string {
	var outer struct {
		ErrorMessage string `json:"error_message"`
	}
	if json.Unmarshal(body, &outer) == nil && outer.ErrorMessage != "" {
		var inner struct {
			Faultstring string `json:"faultstring"`
		}
		if json.Unmarshal([]byte(outer.ErrorMessage), &inner) == nil && inner.Faultstring != "" {
			return inner.Faultstring
		}
		return outer.ErrorMessage
	}
	return strings.TrimSpace(string(body))
}

// Enroll creates the node in Ironic (hardware type and driver_info from its
// BMC address and credentials, properties, one port per MAC) and verifies
// BMC access (manage: enroll → verifying → manageable). When verification
// fails the node stays enrolled with LastError set and the error is
// returned, as with provision.Provisioner.Enroll. When a port cannot be
// created the node is deleted again, so nothing is left half-enrolled.
func (p *Provisioner) Enroll(ctx context.Context, n *provision.Node) (*provision.Node, error) {
	const op = "enroll"
	if err := p.check(op, n.Name); err != nil {
		return nil, err
	}
	if err := n.Validate(); err != nil {
		return nil, &provision.OpError{Op: op, Node: n.Name, Err: err}
	}
	hw, err := bmcHardware(n.BMCAddress, n.Credentials)
	if err != nil {
		return nil, &provision.OpError{Op: op, Node: n.Name, Err: err}
	}
	p.addSecret(n.Credentials.Password())
	props := map[string]any{}
	for k, v := range n.Properties {
		props[k] = v
	}
	if inv := n.Inventory; inv != nil {
		setInventoryProperties(props, inv)
	}
	opts := nodes.CreateOpts{
		Name:       n.Name,
		UUID:       n.UUID,
		Driver:     hw.driver,
		DriverInfo: hw.info,
		Properties: props,
		Extra:      map[string]any{extraAddress: n.BMCAddress},
	}
	if hw.driver == "fake-hardware" {
		// Ironic picks the first enabled interface of each kind; name the
		// fake ones so that a deployment needs no agent.
		opts.BootInterface, opts.DeployInterface, opts.PowerInterface, opts.ManagementInterface = "fake", "fake", "fake", "fake"
		opts.InspectInterface = "fake"
	}
	created, err := nodes.Create(ctx, p.c, opts).Extract()
	if err != nil {
		return nil, p.wrap(op, n.Name, err)
	}
	p.log.Info("enrolled", "node", n.Name, "uuid", created.UUID, "driver", hw.driver, "bmc", n.BMCAddress)
	for _, mac := range n.MACs {
		if _, err := ports.Create(ctx, p.c, ports.CreateOpts{NodeUUID: created.UUID, Address: mac}).Extract(); err != nil {
			werr := p.wrap(op, n.Name, fmt.Errorf("port %s: %w", mac, err))
			if derr := nodes.Delete(context.WithoutCancel(ctx), p.c, created.UUID).ExtractErr(); derr != nil {
				p.log.Warn("could not delete half-enrolled node", "node", n.Name, "err", p.scrub(derr.Error()))
			}
			return nil, werr
		}
	}
	return p.Manage(ctx, n.Name)
}

func setInventoryProperties(props map[string]any, inv *provision.HardwareInventory) {
	if inv.CPUs > 0 {
		props["cpus"] = inv.CPUs
	}
	if inv.CPUArch != "" {
		props["cpu_arch"] = inv.CPUArch
	}
	if inv.MemoryMiB > 0 {
		props["memory_mb"] = inv.MemoryMiB
	}
	if inv.DiskGiB > 0 {
		props["local_gb"] = inv.DiskGiB
	}
}

// Get returns the node named name as Ironic has it.
func (p *Provisioner) Get(ctx context.Context, name string) (*provision.Node, error) {
	if err := p.check("get", name); err != nil {
		return nil, err
	}
	in, err := nodes.Get(ctx, p.c, name).Extract()
	if err != nil {
		return nil, p.wrap("get", name, err)
	}
	return p.toNode(ctx, in)
}

// List returns every node Ironic has, sorted by name.
func (p *Provisioner) List(ctx context.Context) ([]*provision.Node, error) {
	if err := p.check("list", ""); err != nil {
		return nil, err
	}
	pages, err := nodes.ListDetail(p.c, nodes.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, p.wrap("list", "", err)
	}
	all, err := nodes.ExtractNodes(pages)
	if err != nil {
		return nil, p.wrap("list", "", err)
	}
	out := make([]*provision.Node, 0, len(all))
	for i := range all {
		n, err := p.toNode(ctx, &all[i])
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *provision.Node) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Delete removes the node from Ironic (allowed in enroll, manageable,
// available, inspect failed and clean failed).
func (p *Provisioner) Delete(ctx context.Context, name string) error {
	if err := p.check("delete", name); err != nil {
		return err
	}
	del := func() error { return nodes.Delete(ctx, p.c, name).ExtractErr() }
	err := p.retryLocked(ctx, del)
	if isNotLockedOnRelease(err) {
		// The conductor ran the deletion, then found its lock on the node
		// already gone when releasing it and answered 400 (Ironic's
		// NodeNotLocked): the node may or may not be deleted. Ask.
		p.log.Warn("Ironic lost its lock on the node while deleting it; checking whether it is gone", "node", name)
		_, gerr := nodes.Get(ctx, p.c, name).Extract()
		switch {
		case gophercloud.ResponseCodeIs(gerr, http.StatusNotFound):
			err = nil
		case gerr == nil:
			err = p.retryLocked(ctx, del)
		}
	}
	if err != nil {
		return p.wrap("delete", name, err)
	}
	p.log.Info("deleted", "node", name)
	return nil
}

// toNode converts an Ironic node, reading its ports for the MACs.
func (p *Provisioner) toNode(ctx context.Context, in *nodes.Node) (*provision.Node, error) {
	st, err := StateFromIronic(in.ProvisionState)
	if err != nil {
		return nil, &provision.OpError{Op: "get", Node: in.Name, Err: err}
	}
	n := &provision.Node{
		Name:           in.Name,
		UUID:           in.UUID,
		ProvisionState: st,
		PowerState:     powerFromIronic(in.PowerState),
		LastError:      p.scrub(in.LastError),
		UpdatedAt:      in.UpdatedAt,
	}
	if a, ok := in.Extra[extraAddress].(string); ok {
		n.BMCAddress = a
	}
	inv := &provision.HardwareInventory{}
	props := map[string]string{}
	for k, v := range in.Properties {
		switch k {
		case "cpus":
			inv.CPUs = anyInt(v)
		case "cpu_arch":
			inv.CPUArch, _ = v.(string)
		case "memory_mb":
			inv.MemoryMiB = anyInt(v)
		case "local_gb":
			inv.DiskGiB = anyInt(v)
		default:
			if s, ok := v.(string); ok {
				props[k] = s
			} else if b, err := json.Marshal(v); err == nil {
				props[k] = string(b)
			}
		}
	}
	if len(props) > 0 {
		n.Properties = props
	}
	pages, err := ports.ListDetail(p.c, ports.ListOpts{NodeUUID: in.UUID}).AllPages(ctx)
	if err != nil {
		return nil, p.wrap("get", in.Name, err)
	}
	pl, err := ports.ExtractPorts(pages)
	if err != nil {
		return nil, p.wrap("get", in.Name, err)
	}
	for _, pt := range pl {
		n.MACs = append(n.MACs, pt.Address)
	}
	slices.Sort(n.MACs)
	// Inventory is nil until inspected, as with the embedded provisioner,
	// unless the operator gave its fields at enrollment.
	if in.InspectionFinishedAt != nil || inv.CPUs != 0 || inv.CPUArch != "" || inv.MemoryMiB != 0 || inv.DiskGiB != 0 {
		inv.MACs = slices.Clone(n.MACs)
		n.Inventory = inv
	}
	return n, nil
}

func anyInt(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case int:
		return x
	case string:
		i, _ := strconv.Atoi(x)
		return i
	}
	return 0
}

// changeState asks Ironic for a provision state change and waits until
// the node rests in one of want.
func (p *Provisioner) changeState(ctx context.Context, op, name string, opts nodes.ProvisionStateOpts, want ...provision.ProvisionState) (*provision.Node, error) {
	if err := p.check(op, name); err != nil {
		return nil, err
	}
	p.log.Info(op, "node", name, "target", string(opts.Target))
	if err := p.retryLocked(ctx, func() error { return nodes.ChangeProvisionState(ctx, p.c, name, opts).ExtractErr() }); err != nil {
		return nil, p.wrap(op, name, err)
	}
	in, err := p.wait(ctx, op, name, want...)
	if err != nil {
		if in != nil {
			n, cerr := p.toNode(ctx, in)
			if cerr == nil {
				return n, err
			}
		}
		return nil, err
	}
	return p.toNode(ctx, in)
}

// Manage moves a node to manageable: from enroll by verifying BMC access,
// from available, inspect failed or clean failed directly.
func (p *Provisioner) Manage(ctx context.Context, name string) (*provision.Node, error) {
	return p.changeState(ctx, "manage", name, nodes.ProvisionStateOpts{Target: nodes.TargetManage}, provision.StateManageable)
}

// Inspect runs Ironic's inspection (manageable or inspect failed →
// inspecting → manageable); the properties it finds (cpus, cpu_arch,
// memory_mb, local_gb) and the ports it creates come back as the node's
// Inventory.
func (p *Provisioner) Inspect(ctx context.Context, name string) (*provision.Node, error) {
	return p.changeState(ctx, "inspect", name, nodes.ProvisionStateOpts{Target: nodes.TargetInspect}, provision.StateManageable)
}

// Provide makes a manageable node available (through Ironic's cleaning
// when automated cleaning is on).
func (p *Provisioner) Provide(ctx context.Context, name string) (*provision.Node, error) {
	return p.changeState(ctx, "provide", name, nodes.ProvisionStateOpts{Target: nodes.TargetProvide}, provision.StateAvailable)
}

// Undeploy tears a deployment down (active, deploy failed, wait call-back
// or error → deleting → cleaning → available).
func (p *Provisioner) Undeploy(ctx context.Context, name string) (*provision.Node, error) {
	return p.changeState(ctx, "undeploy", name, nodes.ProvisionStateOpts{Target: nodes.TargetDeleted}, provision.StateAvailable)
}

// Deploy deploys an available node with the [Image] among steps (its URL
// and checksum become the node's instance_info) and waits until it is
// active. On an active, deploy failed or error node it rebuilds (Ironic's
// "rebuild" target), with a new image when one is given. Steps of other
// types cannot run inside Ironic (its agent runs the deploy steps) and
// fail with provision.ErrUnsupported before anything is changed.
func (p *Provisioner) Deploy(ctx context.Context, name string, steps ...provision.DeployStep) (*provision.Node, error) {
	const op = "deploy"
	if err := p.check(op, name); err != nil {
		return nil, err
	}
	var img *Image
	for _, s := range steps {
		switch s := s.(type) {
		case Image:
			img = &s
		case *Image:
			img = s
		default:
			return nil, &provision.OpError{Op: op, Node: name, Err: fmt.Errorf("%w: deploy step %q (Ironic runs only an ironic.Image)", provision.ErrUnsupported, s.Name())}
		}
	}
	cur, err := nodes.Get(ctx, p.c, name).Extract()
	if err != nil {
		return nil, p.wrap(op, name, err)
	}
	target := nodes.TargetActive
	switch cur.ProvisionState {
	case "active", "deploy failed", "error":
		target = nodes.TargetRebuild
	}
	if img == nil && target == nodes.TargetActive && cur.InstanceInfo["image_source"] == nil {
		return nil, &provision.OpError{Op: op, Node: name, Err: fmt.Errorf("%w: no ironic.Image among the deploy steps and no image_source in instance_info", provision.ErrInvalidNode)}
	}
	if img != nil {
		if err := p.setImage(ctx, name, cur.UUID, *img); err != nil {
			return nil, err
		}
	}
	var cd any
	if img != nil && img.ConfigDrive != nil {
		cd = img.ConfigDrive
	}
	return p.changeState(ctx, op, name, nodes.ProvisionStateOpts{Target: target, ConfigDrive: cd}, provision.StateActive)
}

// Rebuild redeploys an active (or deploy failed, or error) node, with img
// when it is not nil and the image it had otherwise.
func (p *Provisioner) Rebuild(ctx context.Context, name string, img *Image) (*provision.Node, error) {
	if img == nil {
		return p.Deploy(ctx, name)
	}
	return p.Deploy(ctx, name, img)
}

// setImage writes the image into the node's instance_info.
func (p *Provisioner) setImage(ctx context.Context, name, uuid string, img Image) error {
	if err := img.validate(); err != nil {
		return &provision.OpError{Op: "deploy", Node: name, Err: err}
	}
	info := map[string]any{"image_source": img.URL}
	algo, sum := img.checksum()
	info["image_checksum"] = sum
	if algo != "md5" {
		info["image_os_hash_algo"] = algo
		info["image_os_hash_value"] = sum
	}
	if img.RootGiB > 0 {
		info["root_gb"] = img.RootGiB
	}
	var patch nodes.UpdateOpts
	for _, k := range slices.Sorted(maps.Keys(info)) {
		patch = append(patch, nodes.UpdateOperation{Op: nodes.AddOp, Path: "/instance_info/" + k, Value: info[k]})
	}
	if err := p.retryLocked(ctx, func() error { _, err := nodes.Update(ctx, p.c, uuid, patch).Extract(); return err }); err != nil {
		return p.wrap("deploy", name, err)
	}
	return nil
}

// Power performs a power action through Ironic and waits until Ironic
// reports the target state (Ironic verifies it on the BMC).
func (p *Provisioner) Power(ctx context.Context, name string, action provision.PowerAction) (*provision.Node, error) {
	op := "power " + action.String()
	if err := p.check(op, name); err != nil {
		return nil, err
	}
	target, err := powerTarget(action)
	if err != nil {
		return nil, &provision.OpError{Op: op, Node: name, Err: err}
	}
	p.log.Info(op, "node", name)
	if err := p.retryLocked(ctx, func() error {
		return nodes.ChangePowerState(ctx, p.c, name, nodes.PowerStateOpts{Target: nodes.TargetPowerState(target)}).ExtractErr()
	}); err != nil {
		return nil, p.wrap(op, name, err)
	}
	in, err := p.waitPower(ctx, op, name, action.Target())
	if in != nil {
		n, cerr := p.toNode(ctx, in)
		if cerr != nil && err == nil {
			err = cerr
		}
		return n, err
	}
	return nil, err
}

// SetBootDevice sets the node's next boot device (or every boot's, when
// persistent) through Ironic.
func (p *Provisioner) SetBootDevice(ctx context.Context, name string, dev provision.BootDevice, persistent bool) error {
	op := "set boot device " + dev.String()
	if err := p.check(op, name); err != nil {
		return err
	}
	if dev == provision.BootNone {
		return &provision.OpError{Op: op, Node: name, Err: fmt.Errorf("%w: Ironic cannot clear a boot override", provision.ErrUnsupported)}
	}
	if err := p.retryLocked(ctx, func() error {
		return nodes.SetBootDevice(ctx, p.c, name, nodes.BootDeviceOpts{BootDevice: dev.String(), Persistent: persistent}).ExtractErr()
	}); err != nil {
		return p.wrap(op, name, err)
	}
	return nil
}

// BootDevice reads the node's boot device through Ironic (from the BMC).
func (p *Provisioner) BootDevice(ctx context.Context, name string) (provision.BootDevice, bool, error) {
	const op = "get boot device"
	if err := p.check(op, name); err != nil {
		return 0, false, err
	}
	bd, err := nodes.GetBootDevice(ctx, p.c, name).Extract()
	if err != nil {
		return 0, false, p.wrap(op, name, err)
	}
	if bd.BootDevice == "" {
		return provision.BootNone, bd.Persistent, nil
	}
	dev, err := provision.ParseBootDevice(bd.BootDevice)
	if err != nil {
		return 0, false, &provision.OpError{Op: op, Node: name, Err: err}
	}
	return dev, bd.Persistent, nil
}
