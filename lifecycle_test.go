package tripleo_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo"
	_ "github.com/tripleo-go/tripleo/drivers/ipmi"
	_ "github.com/tripleo-go/tripleo/drivers/redfish"
	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/image"
	"github.com/tripleo-go/tripleo/internal/peertest"
	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/provision"
)

const lcUndercloud = `heat_template_version: queens
parameters:
  ImageDigest: {type: string, default: ""}
  ControlCount: {type: number, default: 1}
resources:
  Control:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: ControlCount}
      resource_def:
        type: OS::Nova::Server
        properties:
          name: undercloud-%index%
          flavor: undercloud
          image: {get_param: ImageDigest}
outputs:
  nodes: {value: {get_attr: [Control, node]}}
`

const lcOvercloud = `heat_template_version: queens
parameters:
  ImageDigest: {type: string, default: ""}
  ComputeCount: {type: number, default: 2}
  ComputeRemovalPolicies: {type: json, default: []}
resources:
  Compute:
    type: OS::Heat::ResourceGroup
    update_policy:
      rolling_update: {max_batch_size: 1}
    properties:
      count: {get_param: ComputeCount}
      removal_policies: {get_param: ComputeRemovalPolicies}
      resource_def:
        type: OS::Nova::Server
        properties:
          name: compute-%index%
          flavor: compute
          image: {get_param: ImageDigest}
  Single:
    type: OS::Nova::Server
    properties: {name: single, flavor: single}
outputs:
  names: {value: {get_attr: [Compute, name]}}
  nodes: {value: {get_attr: [Compute, node]}}
`

func lcInput(name, tmpl string, params map[string]string) *orchestrate.Input {
	return &orchestrate.Input{TemplateFile: name + ".yaml", Template: tmpl, Params: params}
}

// lcEnv is a simulated datacenter whose machines speak IPMI (even) and
// Redfish (odd) over loopback, a Cloud over it and the nodes to
// bootstrap: node-0 is the undercloud's, node-1 the "single" server's,
// the others computes.
type lcEnv struct {
	c      *tripleo.Cloud
	dc     *sim.Datacenter
	dir    string
	nodes  []*provision.Node
	mu     sync.Mutex
	events []orchestrate.Event
}

func (e *lcEnv) eventsOf(stack string) []orchestrate.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []orchestrate.Event
	for _, ev := range e.events {
		if ev.StackName == stack {
			out = append(out, ev)
		}
	}
	return out
}

func lcMachines(t testing.TB, n int) *sim.Datacenter {
	t.Helper()
	dc, err := sim.Start(n, &sim.Options{EndpointsOf: func(i int) sim.Endpoints {
		if i%2 == 0 {
			return sim.EndpointIPMI
		}
		return sim.EndpointRedfish
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	return dc
}

func lcNodes(dc *sim.Datacenter) []*provision.Node {
	var nodes []*provision.Node
	for i, m := range dc.Machines() {
		profile := "compute"
		switch i {
		case 0:
			profile = "undercloud"
		case 1:
			profile = "single"
		}
		addr := m.IPMIURL()
		if addr == "" {
			addr = m.RedfishURL()
		}
		nodes = append(nodes, &provision.Node{Name: fmt.Sprintf("node-%d", i), BMCAddress: addr, Credentials: m.Credentials(),
			Properties: map[string]string{"capabilities": "profile:" + profile}})
	}
	return nodes
}

func lcCloudOptions(env *lcEnv, dc *sim.Datacenter) *tripleo.Options {
	return &tripleo.Options{
		ImageWriter: func(path string) provision.DeployStep { return dc.DeployStep(path) },
		Provision:   provision.Options{BMC: provision.BMCOptions{PollInterval: 10 * time.Millisecond, MaxPollInterval: 100 * time.Millisecond}},
		Engine: orchestrate.Options{Events: func(ev orchestrate.Event) {
			env.mu.Lock()
			env.events = append(env.events, ev)
			env.mu.Unlock()
		}},
	}
}

func newLifecycle(t testing.TB, machines int) *lcEnv {
	t.Helper()
	env := &lcEnv{dc: lcMachines(t, machines), dir: t.TempDir()}
	env.nodes = lcNodes(env.dc)
	c, err := tripleo.Open(t.Context(), env.dir, lcCloudOptions(env, env.dc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	env.c = c
	return env
}

// lcImages builds two small images (they differ in /etc/motd) into the
// Cloud's store, tagged overcloud:v1 and overcloud:v2.
func lcImages(t testing.TB, c *tripleo.Cloud) (v1, v2 *image.Artifact) {
	t.Helper()
	peertest.Look(t, "mkfs.ext4")
	var out [2]*image.Artifact
	for i := range out {
		spec := &image.Spec{Name: "overcloud", SourceDateEpoch: 1700000000,
			Layout: image.Layout{DiskSize: 56 * image.MiB, ESPSize: 40 * image.MiB}}
		a, err := c.Images().Build(t.Context(), spec, image.NewTree(
			image.Entry{Path: "etc/motd", Mode: 0o644, Data: fmt.Appendf(nil, "version %d\n", i+1)}), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Images().Tag(fmt.Sprintf("overcloud:v%d", i+1), a.Digest); err != nil {
			t.Fatal(err)
		}
		out[i] = a
	}
	return out[0], out[1]
}

// diskDigest hashes the first size bytes of machine m's disk.
func diskDigest(t testing.TB, m *sim.Machine, size int64) string {
	t.Helper()
	f, err := os.Open(m.DiskPath())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, f, size); err != nil {
		t.Fatal(err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func rawSize(t testing.TB, a *image.Artifact) int64 {
	t.Helper()
	st, err := os.Stat(a.Path(a.Raw))
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func TestBootstrap(t *testing.T) {
	ctx := t.Context()
	env := newLifecycle(t, 4)
	// node-3 was enrolled by hand before and left manageable.
	if _, err := env.c.Provisioner().Enroll(ctx, env.nodes[3]); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second run finds everything done
		got, err := env.c.Bootstrap(ctx, env.nodes, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range got {
			if n.Name != env.nodes[i].Name || n.ProvisionState != provision.StateAvailable {
				t.Errorf("nodes[%d] = %s %s, want %s available", i, n.Name, n.ProvisionState, env.nodes[i].Name)
			}
			// Redfish BMCs report hardware; IPMI ones cannot.
			if redfish := i%2 == 1; redfish != (n.Inventory != nil) {
				t.Errorf("%s (%s): inspected = %v", n.Name, n.BMCAddress, n.Inventory != nil)
			}
		}
	}
	if _, err := env.c.Bootstrap(ctx, []*provision.Node{env.nodes[0], env.nodes[0]}, nil); err == nil {
		t.Error("Bootstrap accepted a node given twice")
	}
}

// The lifecycle end to end on 6 machines: bootstrap, an undercloud of 1,
// an overcloud of 2 computes (and a single server) owned by it, an update
// to a second image one server at a time on the same nodes, a rollback to
// the first, and the recovery of two computes whose BMC died, from the
// pool: one replaced in place, one removed from its group.
func TestLifecycle(t *testing.T) {
	ctx := t.Context()
	env := newLifecycle(t, 6)
	c := env.c
	v1, v2 := lcImages(t, c)
	size := rawSize(t, v1)
	env.dc.SetBooter(c.Booter()) // the machines boot what they are given
	if _, err := c.DeployOvercloud(ctx, lcInput("overcloud", lcOvercloud, nil), &tripleo.DeployOptions{Image: "overcloud:v1"}); !errors.Is(err, tripleo.ErrNotDeployed) {
		t.Fatalf("DeployOvercloud before the undercloud: %v, want ErrNotDeployed", err)
	}
	if _, err := c.Bootstrap(ctx, env.nodes, nil); err != nil {
		t.Fatal(err)
	}

	uc, err := c.DeployUndercloud(ctx, lcInput("undercloud", lcUndercloud, nil), &tripleo.DeployOptions{Image: "overcloud:v1"})
	if err != nil {
		t.Fatal(err)
	}
	if uc.Stack != "undercloud" || uc.Owner != "" || uc.Image != v1.Digest || uc.Input.Params["ImageDigest"] != v1.Digest {
		t.Errorf("undercloud record: %+v", uc)
	}
	oc, err := c.DeployOvercloud(ctx, lcInput("overcloud", lcOvercloud, nil), &tripleo.DeployOptions{Image: v1.Digest})
	if err != nil {
		t.Fatal(err)
	}
	if oc.Owner != "undercloud" || oc.Image != v1.Digest || len(oc.History) != 1 || oc.Pending != nil {
		t.Errorf("overcloud record: %+v", oc)
	}
	// Deploying the same again changes nothing, and so does a redeploy
	// naming no image (the stack keeps the one it runs).
	mark := len(env.eventsOf("overcloud"))
	if _, err := c.DeployOvercloud(ctx, lcInput("overcloud", lcOvercloud, nil), &tripleo.DeployOptions{Image: v1.Digest}); err != nil {
		t.Fatal(err)
	}
	if oc, err = c.DeployOvercloud(ctx, lcInput("overcloud", lcOvercloud, nil), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(env.eventsOf("overcloud")) - mark; n != 0 || oc.Image != v1.Digest || len(oc.History) != 1 {
		t.Errorf("redeploys of the same: %d events, record %+v", n, oc)
	}
	placed := lcPlacement(t, c)
	if len(placed) != 3 {
		t.Fatalf("overcloud servers on %v, want 2 computes", placed)
	}
	for _, n := range []string{"node-0", placed[0], placed[1]} {
		if got := diskDigest(t, env.dc.MachineFor(mustNode(t, c, n).BMCAddress), size); got != v1.Digest {
			t.Errorf("%s holds %s, want v1 %s", n, got, v1.Digest)
		}
	}
	checkClaims(t, c, env.dc, 4)
	// State on the computes' persistent volumes, which redeploys keep.
	volume := func(node string) string {
		return filepath.Join(env.dc.MachineFor(mustNode(t, c, node).BMCAddress).Dir(), tripleo.BootVolumeDir)
	}
	for _, n := range placed[:2] {
		if err := os.MkdirAll(volume(n), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(volume(n), "state"), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Update: one server at a time, each back on its node.
	mark = len(env.eventsOf("overcloud"))
	oc, err = c.Update(ctx, "overcloud", &tripleo.UpdateOptions{Image: "overcloud:v2"})
	if err != nil {
		t.Fatal(err)
	}
	if oc.Image != v2.Digest || len(oc.History) != 2 {
		t.Errorf("after update: image %s, history %+v", oc.Image, oc.History)
	}
	if got := lcPlacement(t, c); !slices.Equal(got, placed) {
		t.Errorf("after update servers on %v, want %v", got, placed)
	}
	for _, n := range placed[:2] {
		if got := diskDigest(t, env.dc.MachineFor(mustNode(t, c, n).BMCAddress), size); got != v2.Digest {
			t.Errorf("%s holds %s, want v2", n, got)
		}
	}
	checkRolling(t, env.eventsOf("overcloud")[mark:], 1)
	if got := diskDigest(t, env.dc.MachineFor(mustNode(t, c, "node-0").BMCAddress), size); got != v1.Digest {
		t.Errorf("the undercloud's node was redeployed: %s", got)
	}

	// Rollback: back to v1, the same way; a second has nothing to go to.
	mark = len(env.eventsOf("overcloud"))
	oc, err = c.Rollback(ctx, "overcloud", nil)
	if err != nil {
		t.Fatal(err)
	}
	if oc.Image != v1.Digest || len(oc.History) != 3 || oc.History[2].Action != tripleo.ActionRollback {
		t.Errorf("after rollback: image %s, history %+v", oc.Image, oc.History)
	}
	for _, n := range placed[:2] {
		if got := diskDigest(t, env.dc.MachineFor(mustNode(t, c, n).BMCAddress), size); got != v1.Digest {
			t.Errorf("%s holds %s after the rollback, want v1", n, got)
		}
	}
	checkRolling(t, env.eventsOf("overcloud")[mark:], 1)
	for _, n := range placed[:2] {
		if b, err := os.ReadFile(filepath.Join(volume(n), "state")); err != nil || string(b) != n {
			t.Errorf("%s: the volume's state after update and rollback: %q, %v", n, b, err)
		}
	}
	if _, err := c.Rollback(ctx, "overcloud", nil); !errors.Is(err, tripleo.ErrNoPreviousImage) {
		t.Errorf("second rollback: %v, want ErrNoPreviousImage", err)
	}
	// The record on disk is the one returned.
	if d, err := c.Deployment("overcloud"); err != nil || d.Image != v1.Digest || len(d.History) != 3 {
		t.Errorf("Deployment(overcloud) = %+v, %v", d, err)
	}

	// Recover: compute-1's BMC dies; its server moves to the spare.
	dead := placed[1]
	env.dc.MachineFor(mustNode(t, c, dead).BMCAddress).SetFault(sim.FaultUnreachable, 0)
	probes, err := c.Probe(ctx, &tripleo.ProbeOptions{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var silent []string
	for _, p := range probes {
		if p.Err != nil {
			silent = append(silent, p.Node)
			if !errors.Is(p.Err, provision.ErrUnreachable) {
				t.Errorf("probe of %s: %v, want ErrUnreachable", p.Node, p.Err)
			}
		} else if p.Power != provision.PowerOn {
			t.Errorf("probe of %s: power %s", p.Node, p.Power)
		}
	}
	if len(probes) != 4 || !slices.Equal(silent, []string{dead}) {
		t.Errorf("probed %d nodes, silent %v; want 4 and [%s]", len(probes), silent, dead)
	}
	mark = len(env.eventsOf("overcloud"))
	rec, err := c.Recover(ctx, dead, &tripleo.RecoverOptions{Reason: "BMC unreachable"})
	if err != nil {
		t.Fatal(err)
	}
	// The dead server alone was marked unhealthy (no stack check).
	var checks []string
	for _, ev := range env.eventsOf("overcloud")[mark:] {
		if ev.Action == orchestrate.ActionCheck {
			checks = append(checks, ev.ResourceName+" "+ev.State()+" "+ev.StatusReason)
		}
	}
	if want := []string{"Compute/1 CHECK_FAILED node BMC unreachable"}; !slices.Equal(checks, want) {
		t.Errorf("recovery's CHECK events %q, want %q", checks, want)
	}
	// Replaced in place: the same server, on the first spare.
	if rec.Stack != "overcloud" || rec.Resource != "Compute/1" || rec.Replacement != "Compute/1" || rec.NewNode != "node-4" {
		t.Errorf("recovery: %+v", rec)
	}
	n := mustNode(t, c, dead)
	if n.Properties[tripleo.PropMaintenance] != "true" || n.ProvisionState != provision.StateError || n.Properties[tripleo.PropClaim] != "" {
		t.Errorf("dead node: %s, properties %v", n.ProvisionState, n.Properties)
	}
	converged := func(names, nodes string) {
		t.Helper()
		info, err := mustStack(t, c, "overcloud").Show(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State() != "UPDATE_COMPLETE" {
			t.Errorf("overcloud after recovery: %s (%s)", info.State(), info.Reason)
		}
		out, err := mustStack(t, c, "overcloud").Outputs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(out["names"], out["nodes"]), names+" "+nodes; got != want {
			t.Errorf("overcloud outputs after recovery: %s, want %s", got, want)
		}
	}
	converged("[compute-0 compute-1]", fmt.Sprintf("[%s node-4]", placed[0]))
	if got := diskDigest(t, env.dc.Machine(4), size); got != v1.Digest {
		t.Errorf("the replacement holds %s, want the stack's image v1", got)
	}
	// Recovering the same node again (as after a recovery cut short once
	// its server was replaced) marks nothing and replaces nothing.
	mark = len(env.eventsOf("overcloud"))
	if again, err := c.Recover(ctx, dead, &tripleo.RecoverOptions{Reason: "BMC unreachable"}); err != nil || again.NewNode != "node-4" || again.Replacement != "Compute/1" {
		t.Fatalf("recovering the recovered node again: %+v, %v", again, err)
	}
	for _, ev := range env.eventsOf("overcloud")[mark:] {
		if ev.ResourceName != "overcloud" && ev.Action != orchestrate.ActionUpdate {
			t.Errorf("a second recovery of %s: %s %s", dead, ev.ResourceName, ev.State())
		}
	}
	converged("[compute-0 compute-1]", fmt.Sprintf("[%s node-4]", placed[0]))

	// The other compute dies too; this time its member is removed from
	// the group (TripleO's node delete) and a new one takes the spare.
	dead = placed[0]
	env.dc.MachineFor(mustNode(t, c, dead).BMCAddress).SetFault(sim.FaultUnreachable, 0)
	rec, err = c.Recover(ctx, dead, &tripleo.RecoverOptions{RemoveMember: true})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Resource != "Compute/0" || rec.Replacement != "Compute/2" || rec.NewNode != "node-5" {
		t.Errorf("recovery: %+v", rec)
	}
	converged("[compute-1 compute-2]", "[node-4 node-5]")
	d, err := c.Deployment("overcloud")
	if err != nil || len(d.Recoveries) != 2 || d.Recoveries[1].NewNode != "node-5" || !slices.Equal(d.Removals["Compute"], []string{"0"}) {
		t.Errorf("record after recovery: %+v, %v", d, err)
	}
	// A later update keeps the member removed.
	if _, err := c.Update(ctx, "overcloud", &tripleo.UpdateOptions{Image: "overcloud:v2"}); err != nil {
		t.Fatal(err)
	}
	if got := lcPlacement(t, c); !slices.Equal(got, []string{"node-4", "node-5", placed[2]}) {
		t.Errorf("after recovery and update, servers on %v", got)
	}
}

// lcPlacement returns the overcloud's compute nodes then its single's.
func lcPlacement(t testing.TB, c *tripleo.Cloud) []string {
	t.Helper()
	out, err := mustStack(t, c, "overcloud").Outputs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var nodes []string
	for _, v := range out["nodes"].([]any) {
		nodes = append(nodes, fmt.Sprint(v))
	}
	nl, err := c.Inventory().List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nl {
		if strings.Contains(n.Properties["capabilities"], "profile:single") && n.Properties[tripleo.PropClaim] != "" {
			nodes = append(nodes, n.Name)
		}
	}
	return nodes
}

func mustStack(t testing.TB, c *tripleo.Cloud, name string) orchestrate.Engine {
	t.Helper()
	e, err := c.Stack(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// checkRolling checks from a stack's events that at most batch group
// members were out of service at once: a member is out from the deletion
// of its server to the creation of its replacement.
func checkRolling(t testing.TB, evs []orchestrate.Event, batch int) {
	t.Helper()
	out := map[string]bool{}
	most, replaced := 0, 0
	for _, ev := range evs {
		if ev.ResourceType != tripleo.TypeServer || !strings.HasPrefix(ev.ResourceName, "Compute/") {
			continue
		}
		switch {
		case ev.Action == orchestrate.ActionDelete && ev.Status == orchestrate.StatusInProgress:
			out[ev.ResourceName] = true
			replaced++
		case ev.Action == orchestrate.ActionCreate && ev.Status == orchestrate.StatusComplete:
			delete(out, ev.ResourceName)
		}
		most = max(most, len(out))
	}
	if replaced == 0 {
		t.Errorf("no server was replaced; events: %v", evs)
	}
	if most > batch || len(out) != 0 {
		t.Errorf("%d servers out of service at once (want at most %d), %v still out", most, batch, out)
	}
}

func TestRecoverErrors(t *testing.T) {
	ctx := t.Context()
	env := newLifecycle(t, 5)
	c := env.c
	oc := deployClouds(t, c, env.nodes, true)
	if oc.ImageParam != "" || len(oc.History) != 0 {
		t.Errorf("a stack deployed without an image: %+v", oc)
	}
	if _, err := c.Rollback(ctx, "overcloud", nil); !errors.Is(err, tripleo.ErrNoPreviousImage) {
		t.Errorf("rollback without images: %v, want ErrNoPreviousImage", err)
	}
	unchanged := func(node string) {
		t.Helper()
		if n := mustNode(t, c, node); n.Properties[tripleo.PropMaintenance] != "" || n.Properties[tripleo.PropClaim] == "" ||
			n.ProvisionState != provision.StateActive {
			t.Errorf("a node Recover refused was changed: %s %v", n.ProvisionState, n.Properties)
		}
	}
	// No spare of the single server's profile: it stays where it is.
	_, err := c.Recover(ctx, "node-1", nil)
	if !errors.Is(err, tripleo.ErrNoNode) {
		t.Fatalf("Recover with no spare of the node's profile: %v, want ErrNoNode", err)
	}
	unchanged("node-1")
	if _, err := c.Recover(ctx, "node-1", &tripleo.RecoverOptions{Replacement: "node-0"}); !errors.Is(err, tripleo.ErrNoNode) {
		t.Fatalf("Recover onto a node in use: %v, want ErrNoNode", err)
	}
	unchanged("node-1")
	// It is no group member either, so it cannot be removed from one.
	_, err = c.Recover(ctx, "node-1", &tripleo.RecoverOptions{RemoveMember: true})
	if !errors.Is(err, tripleo.ErrNotRecoverable) {
		t.Fatalf("RemoveMember of a server outside a group: %v, want ErrNotRecoverable", err)
	}
	unchanged("node-1")
	// The undercloud's group takes no ControlRemovalPolicies.
	_, err = c.Recover(ctx, "node-0", &tripleo.RecoverOptions{RemoveMember: true})
	if !errors.Is(err, tripleo.ErrNotRecoverable) || !strings.Contains(err.Error(), "ControlRemovalPolicies") {
		t.Fatalf("RemoveMember in a group without removal policies: %v, want ErrNotRecoverable naming the parameter", err)
	}
	unchanged("node-0")
	// A spare reported dead leaves the pool and is never claimed.
	rec, err := c.Recover(ctx, "node-4", nil)
	if err != nil || rec.Resource != "" {
		t.Fatalf("Recover of a spare: %+v, %v", rec, err)
	}
	if n := mustNode(t, c, "node-4"); n.ProvisionState != provision.StateManageable || n.Properties[tripleo.PropMaintenance] != "true" {
		t.Errorf("dead spare: %s %v", n.ProvisionState, n.Properties)
	}
	if _, err := c.Update(ctx, "overcloud", &tripleo.UpdateOptions{Params: map[string]string{"ComputeCount": "3"}}); err == nil {
		t.Error("an update needing the dead spare succeeded")
	}
	if _, err := c.Update(ctx, "nope", nil); !errors.Is(err, tripleo.ErrNotDeployed) {
		t.Errorf("update of an unknown stack: %v, want ErrNotDeployed", err)
	}
	if _, err := c.Recover(ctx, "node-9", nil); !errors.Is(err, provision.ErrNotFound) {
		t.Errorf("recover of an unknown node: %v, want provision.ErrNotFound", err)
	}
	if _, err := c.DeployOvercloud(ctx, lcInput("undercloud", lcUndercloud, nil), &tripleo.DeployOptions{Stack: "undercloud"}); err == nil {
		t.Error("the undercloud was redeployed as its own tenant")
	}
}

// The image history is written atomically under the Cloud's directory and
// read back by a Cloud reopened on it.
func TestDeploymentRecordSurvivesReopen(t *testing.T) {
	ctx := t.Context()
	env := newLifecycle(t, 2)
	if _, err := env.c.Bootstrap(ctx, env.nodes[:1], &tripleo.BootstrapOptions{SkipInspect: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.c.DeployUndercloud(ctx, lcInput("undercloud", lcUndercloud, nil), nil); err != nil {
		t.Fatal(err)
	}
	if err := env.c.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := tripleo.Open(ctx, env.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ds, err := c.Deployments()
	if err != nil || len(ds) != 1 || ds[0].Stack != "undercloud" || ds[0].StackID == "" || ds[0].Input == nil {
		t.Fatalf("Deployments = %+v, %v", ds, err)
	}
	ents, err := os.ReadDir(filepath.Join(env.dir, "lifecycle"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "undercloud.json" {
			t.Errorf("stray file %s beside the record", e.Name())
		}
	}
}

// TestLifecycleCrashHelper is the child process of TestDeployOvercloudCrash
// and TestUpdateCrash: it deploys the overcloud (TRIPLEO_LC_CRASH_OP
// "deploy") or updates it to 2 computes ("update") and exits abruptly when
// the Nth node reaches the state named by TRIPLEO_CRASH_ON
// ("deploying:1", "active:2").
func TestLifecycleCrashHelper(t *testing.T) {
	dir := os.Getenv("TRIPLEO_CRASH_DIR")
	if dir == "" {
		t.Skip("only runs as TestDeployOvercloudCrash's child process")
	}
	c, err := tripleo.Open(t.Context(), dir, crashOptions(os.Getenv("TRIPLEO_CRASH_ON")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if os.Getenv("TRIPLEO_LC_CRASH_OP") == "update" {
		_, err = c.Update(t.Context(), "overcloud", &tripleo.UpdateOptions{Params: map[string]string{"ComputeCount": "2"}})
	} else {
		_, err = c.DeployOvercloud(t.Context(), lcInput("overcloud", lcOvercloud, nil), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// deployClouds bootstraps nodes (uninspected), deploys the undercloud
// and, with overcloud, an overcloud of 1 compute, whose record it
// returns.
func deployClouds(t *testing.T, c *tripleo.Cloud, nodes []*provision.Node, overcloud bool) *tripleo.Deployment {
	t.Helper()
	ctx := t.Context()
	if _, err := c.Bootstrap(ctx, nodes, &tripleo.BootstrapOptions{SkipInspect: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeployUndercloud(ctx, lcInput("undercloud", lcUndercloud, nil), nil); err != nil {
		t.Fatal(err)
	}
	if !overcloud {
		return nil
	}
	d, err := c.DeployOvercloud(ctx, lcInput("overcloud", lcOvercloud, map[string]string{"ComputeCount": "1"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// crashSetup starts 5 machines driven over IPMI, bootstraps them and
// deploys the undercloud (and, with overcloud, an overcloud of 1 compute)
// in dir, and closes the Cloud.
func crashSetup(t *testing.T, dir string, overcloud bool) *sim.Datacenter {
	t.Helper()
	ctx := t.Context()
	dc, err := sim.Start(5, &sim.Options{DiskSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	c, err := tripleo.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	deployClouds(t, c, lcNodes(dc), overcloud)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return dc
}

// The process running Update (a scale-out to 2 computes) is killed in the
// middle; Update called again on a reopened Cloud settles the pending
// operation and completes it, with no node claimed twice.
func TestUpdateCrash(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	dc := crashSetup(t, dir, true)
	crashChild(t, "TestLifecycleCrashHelper", dir, "deploying:1", "TRIPLEO_LC_CRASH_OP=update")
	c, err := tripleo.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if d, err := c.Deployment("overcloud"); err != nil || d.Pending == nil || d.Pending.Input.Params["ComputeCount"] != "2" {
		t.Fatalf("record after the crash: %+v, %v", d, err)
	}
	d, err := c.Update(ctx, "overcloud", &tripleo.UpdateOptions{Params: map[string]string{"ComputeCount": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Pending != nil || d.Input.Params["ComputeCount"] != "2" {
		t.Errorf("record after the update: %+v", d)
	}
	checkClaims(t, c, dc, 4)
	if got := lcPlacement(t, c); !slices.Equal(got, []string{"node-2", "node-3", "node-1"}) {
		t.Errorf("overcloud on %v", got)
	}
}

// The process running DeployOvercloud is killed in the middle; a Cloud
// reopened on the same directory finishes the deployment when
// DeployOvercloud is called again, with no node claimed twice, the
// undercloud's node untouched and the spare never deployed. The BMCs (IPMI
// over loopback) live in this process and are driven by both.
func TestDeployOvercloudCrash(t *testing.T) {
	for _, on := range []string{"deploying:2", "active:1"} {
		t.Run(on, func(t *testing.T) {
			ctx := t.Context()
			dir := t.TempDir()
			dc := crashSetup(t, dir, false)
			crashChild(t, "TestLifecycleCrashHelper", dir, on, "TRIPLEO_LC_CRASH_OP=deploy")
			c, err := tripleo.Open(ctx, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if d, err := c.Deployment("overcloud"); err != nil || d.Pending == nil || d.Owner != "undercloud" {
				t.Fatalf("record after the crash: %+v, %v", d, err)
			}
			d, err := c.DeployOvercloud(ctx, lcInput("overcloud", lcOvercloud, nil), nil)
			if err != nil {
				t.Fatal(err)
			}
			if d.Pending != nil || d.Input == nil || d.StackID == "" {
				t.Errorf("record after the redeploy: %+v", d)
			}
			info, err := mustStack(t, c, "overcloud").Show(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.Status != orchestrate.StatusComplete {
				t.Fatalf("overcloud: %s (%s)", info.State(), info.Reason)
			}
			claims := checkClaims(t, c, dc, 4)
			if got := mustNode(t, c, "node-0").Properties[tripleo.PropClaim]; !strings.Contains(got, "/Control/0/") {
				t.Errorf("node-0 claimed by %q, want the undercloud's server", got)
			}
			for k, n := range claims {
				if n == "node-4" {
					t.Errorf("the spare was claimed by %s", k)
				}
			}
			for _, call := range dc.Machine(4).Calls() {
				if strings.HasPrefix(call, "boot pxe") {
					t.Errorf("the spare was deployed (%v)", dc.Machine(4).Calls())
					break
				}
			}
		})
	}
}

// A process that died after the engine completed an operation but before
// the lifecycle recorded it leaves the operation pending; the next call
// on the stack commits it (here to the same input: nothing runs again).
func TestSettlesCompletedPending(t *testing.T) {
	ctx := t.Context()
	env := newLifecycle(t, 1)
	c := env.c
	if _, err := c.Bootstrap(ctx, env.nodes, &tripleo.BootstrapOptions{SkipInspect: true}); err != nil {
		t.Fatal(err)
	}
	in := lcInput("undercloud", lcUndercloud, nil)
	started := time.Now()
	d, err := c.DeployUndercloud(ctx, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Roll the record back to what it held while the create ran.
	path := filepath.Join(env.dir, "lifecycle", "undercloud.json")
	rewrite := func(d *tripleo.Deployment) {
		t.Helper()
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d.Pending = &tripleo.PendingOp{Action: tripleo.ActionDeploy, Input: d.Input, Started: started}
	d.Input, d.StackID = nil, ""
	rewrite(d)
	events := len(env.eventsOf("undercloud"))
	got, err := c.DeployUndercloud(ctx, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Pending != nil || got.Input == nil || got.StackID == "" {
		t.Errorf("record after settling: %+v", got)
	}
	if n := len(env.eventsOf("undercloud")); n != events {
		t.Errorf("%d stack events after settling, want none", n-events)
	}

	// An update recorded as started after the stack's last operation
	// never reached the engine: it is forgotten, not committed.
	bad := lcInput("undercloud", lcUndercloud, map[string]string{"ControlCount": "5"})
	got.Pending = &tripleo.PendingOp{Action: tripleo.ActionUpdate, Input: bad, Started: time.Now()}
	rewrite(got)
	got, err = c.Update(ctx, "undercloud", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Pending != nil || got.Input.Params["ControlCount"] != "" {
		t.Errorf("record after forgetting an update that never ran: %+v", got)
	}
}

// FuzzDeploymentRecord feeds arbitrary bytes to the lifecycle's record
// reader: it returns an error naming the file or a record of the stack
// asked for, and never panics.
func FuzzDeploymentRecord(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzDeploymentRecord.
	dir := f.TempDir()
	c, err := tripleo.Open(f.Context(), dir, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	if err := os.MkdirAll(filepath.Join(dir, "lifecycle"), 0o700); err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(dir, "lifecycle", "s.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := c.Deployment("s")
		if err != nil {
			if !strings.Contains(err.Error(), "deployment s") {
				t.Errorf("the error does not name the stack: %v", err)
			}
			return
		}
		if d.Stack != "s" {
			t.Errorf("record of %q returned for s", d.Stack)
		}
		_, _ = c.Deployments()
	})
}

// Update with a new template: it replaces the deployed input (the
// image parameter carried over), Params merge over the template's, and
// a change the servers take in place (a new name) replaces no node.
func TestUpdateTemplate(t *testing.T) {
	ctx := t.Context()
	env := newLifecycle(t, 5)
	c := env.c
	deployClouds(t, c, env.nodes, true)
	before := lcPlacement(t, c)
	renamed := strings.Replace(lcOvercloud, "name: compute-%index%", "name: renamed-%index%", 1)
	d, err := c.Update(ctx, "overcloud", &tripleo.UpdateOptions{
		Template: lcInput("overcloud", renamed, map[string]string{"ComputeCount": "1"}),
		Params:   map[string]string{"ComputeCount": "2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.Input.Template != renamed || d.Input.Params["ComputeCount"] != "2" {
		t.Errorf("record after the template update: params %v, template changed %v", d.Input.Params, d.Input.Template == renamed)
	}
	out, err := mustStack(t, c, "overcloud").Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(out["names"]); got != "[renamed-0 renamed-1]" {
		t.Errorf("names after the update: %s", got)
	}
	after := lcPlacement(t, c)
	if after[0] != before[0] || len(after) != 3 {
		t.Errorf("servers on %v after the update, were on %v (compute-0 must stay)", after, before)
	}
}
