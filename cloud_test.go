package tripleo_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/tripleo-go/tripleo"
	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/orchestrate/resourcetest"
	"github.com/tripleo-go/tripleo/provision"
)

// deploys counts the deployments each node went through.
type deploys struct {
	mu sync.Mutex
	n  map[string]int
}

func (d *deploys) count(node string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[node]
}

// newCloud starts a simulated datacenter of n machines and a Cloud whose
// nodes node-0 … node-(n-1) are enrolled and provided.
func newCloud(t testing.TB, n int, opts *tripleo.Options) (*tripleo.Cloud, *sim.Datacenter, *deploys) {
	t.Helper()
	ctx := t.Context()
	dc, err := sim.Start(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	dir := t.TempDir()
	inv, err := provision.OpenFileInventory(dir+"/inventory.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &deploys{n: map[string]int{}}
	prov := provision.NewProvisioner(inv, &provision.Options{
		OnTransition: func(node string, tr provision.Transition) {
			if tr.From == provision.StateAvailable && tr.To == provision.StateDeploying {
				d.mu.Lock()
				d.n[node]++
				d.mu.Unlock()
			}
		},
	})
	t.Cleanup(func() { prov.Close() })
	var o tripleo.Options
	if opts != nil {
		o = *opts
	}
	o.Provisioner = prov
	c, err := tripleo.Open(ctx, dir, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	for i, m := range dc.Machines() {
		name := fmt.Sprintf("node-%d", i)
		if _, err := prov.Enroll(ctx, &provision.Node{Name: name, BMCAddress: m.SimURL(), Credentials: m.Credentials(),
			Properties: map[string]string{tripleo.PropProfile: "compute"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := prov.Provide(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	return c, dc, d
}

func TestServerConformance(t *testing.T) {
	c, _, _ := newCloud(t, 9, nil)
	resourcetest.Run(t, c.Servers(), resourcetest.Config{
		Type:       tripleo.TypeServer,
		Properties: map[string]any{"flavor": "compute"},
		Update:     map[string]any{"name": "renamed"},
	})
	// Every node went back to the pool, unclaimed.
	nodes, err := c.Inventory().List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.ProvisionState != provision.StateAvailable || n.Properties[tripleo.PropClaim] != "" {
			t.Errorf("%s: %s, claim %q after the suite", n.Name, n.ProvisionState, n.Properties[tripleo.PropClaim])
		}
	}
}

func TestServerNoMatchingNode(t *testing.T) {
	c, _, _ := newCloud(t, 1, nil)
	props, err := c.Servers().Schema().Validate(map[string]any{"flavor": "control"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Servers().Create(t.Context(), &orchestrate.Request{Key: "k", Stack: "s", Name: "ctl", Type: tripleo.TypeServer, Properties: props})
	if err == nil {
		t.Fatal("Create on a pool with no control node succeeded")
	}
	if want := tripleo.ErrNoNode; !errors.Is(err, want) {
		t.Errorf("err = %v, want %v", err, want)
	}
}

const groupTemplate = `heat_template_version: queens
parameters:
  count: {type: number}
resources:
  computes:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: count}
      resource_def:
        type: OS::TripleO::ComputeServer
        properties:
          name: compute-%index%
          flavor: compute
outputs:
  names: {value: {get_attr: [computes, name]}}
  nodes: {value: {get_attr: [computes, node]}}
`

const groupEnv = `resource_registry:
  OS::TripleO::ComputeServer: OS::Nova::Server
`

// A stack of bare-metal servers on a simulated datacenter of 4 machines:
// a group of 3 is created, then scaled down to 2; each server gets its own
// node, and the removed one goes back to the pool.
func TestStackScalesServers(t *testing.T) {
	ctx := t.Context()
	c, dc, d := newCloud(t, 4, nil)
	e, err := c.Stack(ctx, "overcloud")
	if err != nil {
		t.Fatal(err)
	}
	in := func(count string) *orchestrate.Input {
		return &orchestrate.Input{TemplateFile: "overcloud.yaml", Template: groupTemplate,
			Environments: []orchestrate.File{{Name: "env.yaml", Data: groupEnv}},
			Params:       map[string]string{"count": count}}
	}
	if err := e.Create(ctx, "overcloud", in("3")); err != nil {
		info, _ := e.Show(ctx)
		t.Fatalf("create: %v (%+v)", err, info)
	}
	check := func(want int) {
		t.Helper()
		for _, n := range checkClaims(t, c, dc, want) {
			if k := d.count(n); k != 1 {
				t.Errorf("%s deployed %d times", n, k)
			}
		}
	}
	check(3)
	out, err := e.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(out["names"]); got != "[compute-0 compute-1 compute-2]" {
		t.Errorf("names = %s", got)
	}
	// The deterministic choice: the first available nodes by name.
	var nodes []string
	for _, v := range out["nodes"].([]any) {
		nodes = append(nodes, fmt.Sprint(v))
	}
	slices.Sort(nodes)
	if got := fmt.Sprint(nodes); got != "[node-0 node-1 node-2]" {
		t.Errorf("nodes = %s, want node-0..2", got)
	}

	if err := e.Update(ctx, in("2")); err != nil {
		t.Fatalf("update: %v", err)
	}
	check(2)
	info, err := e.Show(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State() != "UPDATE_COMPLETE" {
		t.Errorf("stack %s: %s", info.State(), info.Reason)
	}
}

// A resumed create adopts the node a key claimed before the crash and
// finishes its deployment there, claiming no other node.
func TestServerResumesClaim(t *testing.T) {
	ctx := t.Context()
	c, _, d := newCloud(t, 3, nil)
	props, err := c.Servers().Schema().Validate(map[string]any{"flavor": "compute"})
	if err != nil {
		t.Fatal(err)
	}
	req := &orchestrate.Request{Key: "stack/server/1", Stack: "s", Name: "server", Type: tripleo.TypeServer, Properties: props}
	// The crash: node-1 was claimed and left mid-deployment.
	inv := c.Inventory()
	n, err := inv.Get(ctx, "node-1")
	if err != nil {
		t.Fatal(err)
	}
	n.Properties[tripleo.PropClaim] = req.Key
	n.ProvisionState = provision.StateWaitCallback
	if err := inv.Update(ctx, n); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Servers().Check(ctx, req); !errors.Is(err, orchestrate.ErrNotFound) {
		t.Fatalf("Check of a half-deployed server = %v, want ErrNotFound", err)
	}
	st, err := c.Servers().Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if st.Attributes["node"] != "node-1" {
		t.Errorf("resumed on %v, want node-1", st.Attributes["node"])
	}
	got, err := c.Servers().Check(ctx, req)
	if err != nil || got.PhysicalID != st.PhysicalID {
		t.Errorf("Check after resume = %+v, %v", got, err)
	}
	if d.count("node-0")+d.count("node-2") != 0 {
		t.Error("another node was deployed")
	}
}

func TestOpenRefusesNonLoopback(t *testing.T) {
	_, err := tripleo.Open(t.Context(), t.TempDir(), &tripleo.Options{Listen: "0.0.0.0:0"})
	if err == nil {
		t.Fatal("Open listened beyond loopback")
	}
}

// checkClaims checks that every node is either active, powered on and
// claimed by a key no other node holds, or available and unclaimed; that
// want nodes are active; and that no spare was ever booted for a
// deployment. It returns the claimed nodes' names by key.
func checkClaims(t testing.TB, c *tripleo.Cloud, dc *sim.Datacenter, want int) map[string]string {
	t.Helper()
	nodes, err := c.Inventory().List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]string{}
	for i, n := range nodes {
		key := n.Properties[tripleo.PropClaim]
		switch {
		case n.ProvisionState == provision.StateActive && key != "":
			if other, dup := claims[key]; dup {
				t.Errorf("key %s claimed %s and %s", key, other, n.Name)
			}
			claims[key] = n.Name
			if p := dc.Machine(i).PowerState(); p != provision.PowerOn {
				t.Errorf("%s is active and powered %s", n.Name, p)
			}
		case n.ProvisionState == provision.StateAvailable && key == "":
			if p := dc.Machine(i).PowerState(); p != provision.PowerOff {
				t.Errorf("spare %s is powered %s", n.Name, p)
			}
		default:
			t.Errorf("%s: %s, claim %q", n.Name, n.ProvisionState, key)
		}
	}
	if len(claims) != want {
		t.Errorf("%d active nodes, want %d", len(claims), want)
	}
	return claims
}

const hintTemplate = `heat_template_version: queens
resources:
  computes:
    type: OS::Heat::ResourceGroup
    properties:
      count: 3
      resource_def:
        type: OS::Nova::Server
        properties:
          flavor: compute
          scheduler_hints: {"capabilities:node": compute-%index%}
outputs:
  nodes: {value: {get_attr: [computes, node]}}
`

// The scheduler hint capabilities:node places each server of a group on
// the node tagged for its index (TripleO's predictable placement), and a
// hint no free node carries fails.
func TestServerSchedulerHints(t *testing.T) {
	ctx := t.Context()
	c, dc, _ := newCloud(t, 4, nil)
	for i := range 4 {
		n := mustNode(t, c, fmt.Sprintf("node-%d", i))
		n.Properties["capabilities"] = fmt.Sprintf("profile:compute,node:compute-%d", 3-i)
		if err := c.Inventory().Update(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	e, err := c.Stack(ctx, "overcloud")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Create(ctx, "overcloud", &orchestrate.Input{TemplateFile: "o.yaml", Template: hintTemplate}); err != nil {
		t.Fatal(err)
	}
	out, err := e.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(out["nodes"]); got != "[node-3 node-2 node-1]" {
		t.Errorf("nodes = %s, want [node-3 node-2 node-1]", got)
	}
	checkClaims(t, c, dc, 3)
	props, err := c.Servers().Schema().Validate(map[string]any{"flavor": "compute",
		"scheduler_hints": map[string]any{"capabilities:node": "compute-1"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Servers().Create(ctx, &orchestrate.Request{Key: "taken", Stack: "s", Name: "x", Type: tripleo.TypeServer, Properties: props})
	if !errors.Is(err, tripleo.ErrNoNode) {
		t.Errorf("a hint naming a claimed node: %v, want ErrNoNode", err)
	}
}

// A Delete that a crash cut short (the node left deleting or cleaning)
// is finished by the next Delete: the node is back in the pool, unclaimed.
func TestServerDeleteAfterCrash(t *testing.T) {
	for _, st := range []provision.ProvisionState{provision.StateDeleting, provision.StateCleaning, provision.StateWaitCallback} {
		t.Run(st.String(), func(t *testing.T) {
			ctx := t.Context()
			c, dc, _ := newCloud(t, 2, nil)
			props, err := c.Servers().Schema().Validate(map[string]any{"flavor": "compute"})
			if err != nil {
				t.Fatal(err)
			}
			req := &orchestrate.Request{Key: "k", Stack: "s", Name: "server", Type: tripleo.TypeServer, Properties: props}
			created, err := c.Servers().Create(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			n := mustNode(t, c, created.Attributes["node"])
			n.ProvisionState = st
			if err := c.Inventory().Update(ctx, n); err != nil {
				t.Fatal(err)
			}
			req.Prior = created
			if err := c.Servers().Delete(ctx, req); err != nil {
				t.Fatal(err)
			}
			checkClaims(t, c, dc, 0)
		})
	}
}

// opaqueEngine hides everything of an engine but orchestrate.Engine, as an
// engine for a remote service would have.
type opaqueEngine struct{ orchestrate.Engine }

// Options.OpenEngine plugs another engine in: the Cloud drives its stacks
// through orchestrate.Engine only, and its metadata service answers for
// the servers of engines that publish metadata (none here).
func TestCloudOpenEngine(t *testing.T) {
	ctx := t.Context()
	opened := 0
	c, dc, _ := newCloud(t, 3, &tripleo.Options{
		OpenEngine: func(ctx context.Context, stack string, o *orchestrate.Options) (orchestrate.Engine, error) {
			opened++
			e, err := orchestrate.Open(ctx, filepath.Join(t.TempDir(), stack+".state"), o)
			return opaqueEngine{e}, err
		},
	})
	e, err := c.Stack(ctx, "overcloud")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.(opaqueEngine); !ok || opened != 1 {
		t.Fatalf("Stack returned %T after %d opens", e, opened)
	}
	in := &orchestrate.Input{TemplateFile: "overcloud.yaml", Template: groupTemplate,
		Environments: []orchestrate.File{{Name: "env.yaml", Data: groupEnv}}, Params: map[string]string{"count": "2"}}
	if err := e.Create(ctx, "overcloud", in); err != nil {
		t.Fatal(err)
	}
	checkClaims(t, c, dc, 2)
	info, _ := e.Show(ctx)
	resp, err := http.Get(c.URL() + "/servers/" + info.Resources[0].PhysicalID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("metadata of a server of an opaque engine: %s", resp.Status)
	}
}
