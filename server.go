package tripleo

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/tripleo-go/tripleo/image"
	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/provision"
)

// TypeServer is the type name the bare-metal server registers under;
// OS::TripleO::*Server aliases reach it through an environment's
// resource_registry.
const TypeServer = "OS::Nova::Server"

// Node properties the server type reads and writes.
const (
	// PropClaim holds the idempotency key of the server that claimed the
	// node; it is stored in the inventory before any deployment starts, so a
	// crash never loses a claim.
	PropClaim = "tripleo_claim"
	// PropProfile is the node's profile (compute, control...), matched
	// against the server's flavor. A "capabilities" property holding
	// "profile:NAME" counts too, as in TripleO.
	PropProfile = "profile"
	// PropCtlplaneIP, when set, is the node's address on the ctlplane
	// network, reported in the server's networks attribute.
	PropCtlplaneIP = "ctlplane_ip"
)

// ErrNoNode means no available node matches the server's flavor.
var ErrNoNode = errors.New("no available node matches")

// ErrNoImageWriter means a server names an image but nothing knows how to
// write one to a node (ServerOptions.ImageWriter is nil).
var ErrNoImageWriter = errors.New("no image writer configured")

// ConfigDriveWriter is implemented by deploy steps (from
// ServerOptions.ImageWriter) that can also write a config drive, as
// drivers/sim's does: WithConfigDrive returns the step writing files
// (slash-separated paths relative to the drive's root) too.
type ConfigDriveWriter interface {
	WithConfigDrive(files map[string][]byte) provision.DeployStep
}

// ServerOptions configure a ServerType. The zero value is usable.
type ServerOptions struct {
	// Images resolves a server's image property (tag or digest); nil means
	// servers cannot name an image.
	Images image.Images
	// ImageWriter returns the deploy step that writes the raw image at
	// path onto a node's disk (drivers/sim's Datacenter.DeployStep fits).
	// When the step implements ConfigDriveWriter, the server's config
	// drive is written with it: openstack/latest/meta_data.json (uuid:
	// the physical id, name, hostname, meta: the metadata property),
	// vendor_data2.json ({"tripleo": {"metadata_url": ...}}, how the
	// node's agent finds its metadata) and user_data when set.
	ImageWriter func(path string) provision.DeployStep
	// Flavors maps a flavor name to the node properties a node must hold
	// (all of them, with equal values) to host it. A flavor not in the map
	// matches nodes whose profile is the flavor's name; "" and "baremetal"
	// match every node.
	Flavors map[string]map[string]string
	// MetadataBase is the base URL of the servers' metadata endpoint; a
	// server's metadata_url attribute is {MetadataBase}/{physical id}.
	// "" leaves the attribute empty.
	MetadataBase string
	// Logger receives a line per claim, deployment and release; nil
	// discards.
	Logger *slog.Logger
}

// ServerType is the bare-metal server resource type (an
// orchestrate.ResourceType) backed by a provision.Provisioner. Create
// claims the first available node, by name, whose properties match the
// flavor (and, with the scheduler hint capabilities:node = VALUE, whose
// capabilities hold node:VALUE: TripleO's predictable placement), records the claim in the inventory, deploys the image and powers
// the node on; Delete undeploys it and returns it to the pool; Check finds
// the node a key claimed, so that an engine resuming after a crash adopts it
// (a node claimed but not yet active is reported missing, and the engine's
// next Create resumes its deployment on the same node).
//
// Claims are serialised inside one ServerType: two creates never get the
// same node. Without a hint, servers created in parallel get the free nodes
// in the order their claims arrive. Only one process may run servers over an inventory at a time.
type ServerType struct {
	prov Provisioner
	inv  provision.Inventory
	o    ServerOptions
	log  *slog.Logger
	mu   sync.Mutex // serialises claims and releases
}

// NewServerType returns the server type over p's nodes.
func NewServerType(p Provisioner, opts *ServerOptions) *ServerType {
	s := &ServerType{prov: p, inv: p.Inventory()}
	if opts != nil {
		s.o = *opts
	}
	s.log = s.o.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Schema implements orchestrate.ResourceType.
func (*ServerType) Schema() *orchestrate.Schema {
	return &orchestrate.Schema{
		Properties: map[string]*orchestrate.Property{
			"name":                      {Type: orchestrate.TypeString, UpdateAllowed: true},
			"image":                     {Type: orchestrate.TypeString},
			"flavor":                    {Type: orchestrate.TypeString},
			"networks":                  {Type: orchestrate.TypeList},
			"metadata":                  {Type: orchestrate.TypeMap, UpdateAllowed: true},
			"user_data":                 {Type: orchestrate.TypeString},
			"user_data_format":          {Type: orchestrate.TypeString},
			"software_config_transport": {Type: orchestrate.TypeString},
			"key_name":                  {Type: orchestrate.TypeString},
			"scheduler_hints":           {Type: orchestrate.TypeMap},
		},
		Attributes: map[string]string{
			"name":         "the server's name",
			"networks":     "network name → addresses",
			"node":         "the bare-metal node hosting the server",
			"metadata_url": "where the node's agent reads its metadata",
		},
		AnyProperties: true,
		DeleteFirst:   true,
	}
}

func serverID(key string) string {
	h := sha256.Sum256([]byte(key))
	return "server-" + hex.EncodeToString(h[:12])
}

func (s *ServerType) state(r *orchestrate.Request, n *provision.Node) *orchestrate.State {
	id := serverID(r.Key)
	name, _ := r.Properties["name"].(string)
	if name == "" {
		name = r.Stack + "-" + strings.ReplaceAll(r.Name, "/", "-")
	}
	addrs := []any{}
	if ip := n.Properties[PropCtlplaneIP]; ip != "" {
		addrs = append(addrs, ip)
	}
	mdURL := ""
	if s.o.MetadataBase != "" {
		mdURL = strings.TrimRight(s.o.MetadataBase, "/") + "/" + id
	}
	return &orchestrate.State{
		PhysicalID: id,
		Attributes: map[string]any{
			"name":         name,
			"networks":     map[string]any{"ctlplane": addrs},
			"node":         n.Name,
			"metadata_url": mdURL,
		},
		Data: map[string]any{"node": n.Name},
	}
}

// hasCapability reports whether n's capabilities property (TripleO's
// "profile:compute,node:compute-0,boot_option:local") holds name:value.
func hasCapability(n *provision.Node, name, value string) bool {
	return slices.Contains(strings.Split(n.Properties["capabilities"], ","), name+":"+value)
}

// placement is what a server asks of its node.
type placement struct {
	flavor string
	// node is the scheduler hint capabilities:node, TripleO's predictable
	// placement: only the node with the capability node:VALUE fits.
	node string
}

func placementOf(r *orchestrate.Request) placement {
	p := placement{}
	p.flavor, _ = r.Properties["flavor"].(string)
	if h, ok := r.Properties["scheduler_hints"].(map[string]any); ok {
		p.node, _ = h["capabilities:node"].(string)
	}
	return p
}

// matches reports whether node n fits placement p.
func (s *ServerType) matches(n *provision.Node, p placement) bool {
	if p.node != "" && !hasCapability(n, "node", p.node) {
		return false
	}
	flavor := p.flavor
	if want, ok := s.o.Flavors[flavor]; ok {
		for k, v := range want {
			if n.Properties[k] != v {
				return false
			}
		}
		return true
	}
	if flavor == "" || flavor == "baremetal" {
		return true
	}
	if n.Properties[PropProfile] == flavor {
		return true
	}
	return hasCapability(n, "profile", flavor)
}

// claimed returns the node key claimed, or nil.
func (s *ServerType) claimed(ctx context.Context, key string) (*provision.Node, error) {
	nodes, err := s.inv.List(ctx)
	if err != nil {
		return nil, err
	}
	return claimedIn(nodes, key), nil
}

func claimedIn(nodes []*provision.Node, key string) *provision.Node {
	for _, n := range nodes {
		if n.Properties[PropClaim] == key {
			return n
		}
	}
	return nil
}

// claim returns the node claimed for key, claiming one if none is.
func (s *ServerType) claim(ctx context.Context, key string, p placement) (*provision.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	nodes, err := s.inv.List(ctx)
	if err != nil {
		return nil, err
	}
	if n := claimedIn(nodes, key); n != nil {
		return n, nil
	}
	slices.SortFunc(nodes, func(a, b *provision.Node) int { return cmp.Compare(a.Name, b.Name) })
	for _, n := range nodes {
		if n.ProvisionState != provision.StateAvailable || n.Properties[PropClaim] != "" || !s.matches(n, p) {
			continue
		}
		if n.Properties == nil {
			n.Properties = map[string]string{}
		}
		n.Properties[PropClaim] = key
		if err := s.inv.Update(context.WithoutCancel(ctx), n); err != nil {
			return nil, err
		}
		s.log.Info("node claimed", "node", n.Name, "key", key, "flavor", p.flavor)
		return n, nil
	}
	if p.node != "" {
		return nil, fmt.Errorf("%w flavor %q and scheduler hint capabilities:node %q", ErrNoNode, p.flavor, p.node)
	}
	return nil, fmt.Errorf("%w flavor %q", ErrNoNode, p.flavor)
}

// release clears the claim of key on node name.
func (s *ServerType) release(ctx context.Context, name, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.inv.Get(ctx, name)
	if err != nil {
		return err
	}
	if n.Properties[PropClaim] != key {
		return nil
	}
	delete(n.Properties, PropClaim)
	if err := s.inv.Update(context.WithoutCancel(ctx), n); err != nil {
		return err
	}
	s.log.Info("node released", "node", name, "key", key)
	return nil
}

// configDrive returns the files of r's config drive.
func (s *ServerType) configDrive(r *orchestrate.Request) (map[string][]byte, error) {
	st := s.state(r, &provision.Node{})
	name, _ := st.Attributes["name"].(string)
	meta := map[string]string{}
	if m, ok := r.Properties["metadata"].(map[string]any); ok {
		for k, v := range m {
			if str, ok := v.(string); ok {
				meta[k] = str
			} else if b, err := json.Marshal(v); err == nil {
				meta[k] = string(b)
			}
		}
	}
	md, err := json.Marshal(map[string]any{"uuid": st.PhysicalID, "name": name, "hostname": name, "meta": meta})
	if err != nil {
		return nil, err
	}
	vd, err := json.Marshal(map[string]any{"tripleo": map[string]any{"metadata_url": st.Attributes["metadata_url"]}})
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{ConfigDriveMetaData: md, ConfigDriveVendorData: vd}
	if ud, _ := r.Properties["user_data"].(string); ud != "" {
		files[ConfigDriveUserData] = []byte(ud)
	}
	return files, nil
}

// deploySteps resolves the image property into the steps that write it.
func (s *ServerType) deploySteps(r *orchestrate.Request) ([]provision.DeployStep, error) {
	ref, _ := r.Properties["image"].(string)
	if ref == "" {
		return nil, nil
	}
	if s.o.Images == nil || s.o.ImageWriter == nil {
		return nil, fmt.Errorf("image %q: %w", ref, ErrNoImageWriter)
	}
	a, err := s.o.Images.Get(ref)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", ref, err)
	}
	step := s.o.ImageWriter(a.Path(a.Raw))
	if w, ok := step.(ConfigDriveWriter); ok {
		files, err := s.configDrive(r)
		if err != nil {
			return nil, fmt.Errorf("config drive: %w", err)
		}
		step = w.WithConfigDrive(files)
	}
	return []provision.DeployStep{step}, nil
}

// Create implements orchestrate.ResourceType.
func (s *ServerType) Create(ctx context.Context, r *orchestrate.Request) (*orchestrate.State, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	steps, err := s.deploySteps(r)
	if err != nil {
		return nil, fmt.Errorf("server %s: %w", r.Name, err)
	}
	n, err := s.claim(ctx, r.Key, placementOf(r))
	if err != nil {
		return nil, fmt.Errorf("server %s: %w", r.Name, err)
	}
	if n.ProvisionState != provision.StateActive {
		if err := s.recoverStuck(ctx, n); err != nil {
			return nil, fmt.Errorf("server %s: %w", r.Name, err)
		}
		if n, err = s.prov.Deploy(ctx, n.Name, steps...); err != nil {
			return nil, fmt.Errorf("server %s: %w", r.Name, err)
		}
	}
	if n, err = s.prov.Power(ctx, n.Name, provision.PowerActionOn); err != nil {
		return nil, fmt.Errorf("server %s: %w", r.Name, err)
	}
	s.log.Info("server active", "server", r.Name, "node", n.Name)
	return s.state(r, n), nil
}

// recoverStuck moves a node left in a transient state by a process that
// died (no operation of this process holds it) along the state machine's
// failure edge: deploying and wait call-back to deploy failed (from where it
// is deployed again or undeployed), deleting to error (undeployed again),
// cleaning to clean failed (managed and provided again).
func (s *ServerType) recoverStuck(ctx context.Context, n *provision.Node) error {
	switch n.ProvisionState {
	case provision.StateDeploying, provision.StateWaitCallback, provision.StateDeleting, provision.StateCleaning:
	default:
		return nil
	}
	to, err := provision.Next(n.ProvisionState, provision.EventFail)
	if err != nil {
		return err
	}
	n.LastError = "interrupted (process restarted) in state " + n.ProvisionState.String()
	n.ProvisionState = to
	s.log.Warn("node left in a transient state by a dead process", "node", n.Name, "now", to.String())
	return s.inv.Update(context.WithoutCancel(ctx), n)
}

// Update implements orchestrate.ResourceType: a new name or metadata
// changes nothing on the node; anything else replaces the server.
func (s *ServerType) Update(ctx context.Context, r *orchestrate.Request) (*orchestrate.State, error) {
	for k, v := range r.Properties {
		if k == "name" || k == "metadata" {
			continue
		}
		if fmt.Sprint(v) != fmt.Sprint(r.PriorProperties[k]) {
			return nil, orchestrate.ErrReplace
		}
	}
	n, err := s.claimed(ctx, r.Key)
	if err != nil {
		return nil, err
	}
	if n == nil || n.ProvisionState != provision.StateActive {
		return nil, orchestrate.ErrReplace
	}
	return s.state(r, n), nil
}

// Delete implements orchestrate.ResourceType.
func (s *ServerType) Delete(ctx context.Context, r *orchestrate.Request) error {
	n, err := s.claimed(ctx, r.Key)
	if err != nil || n == nil {
		return err
	}
	if err := s.recoverStuck(ctx, n); err != nil {
		return err
	}
	switch n.ProvisionState {
	case provision.StateActive, provision.StateDeployFailed, provision.StateError:
		if _, err := s.prov.Undeploy(ctx, n.Name); err != nil {
			return fmt.Errorf("server %s: %w", r.Name, err)
		}
	case provision.StateCleanFailed:
		if _, err := s.prov.Manage(ctx, n.Name); err != nil {
			return fmt.Errorf("server %s: %w", r.Name, err)
		}
		if _, err := s.prov.Provide(ctx, n.Name); err != nil {
			return fmt.Errorf("server %s: %w", r.Name, err)
		}
	}
	return s.release(ctx, n.Name, r.Key)
}

// Check implements orchestrate.ResourceType.
func (s *ServerType) Check(ctx context.Context, r *orchestrate.Request) (*orchestrate.State, error) {
	n, err := s.claimed(ctx, r.Key)
	if err != nil {
		return nil, err
	}
	if n == nil || n.ProvisionState != provision.StateActive {
		return nil, fmt.Errorf("server %s: %w", r.Name, orchestrate.ErrNotFound)
	}
	return s.state(r, n), nil
}
