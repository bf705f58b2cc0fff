package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tripleo-go/tripleo"
	_ "github.com/tripleo-go/tripleo/drivers/ipmi"
	_ "github.com/tripleo-go/tripleo/drivers/redfish"
	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/image"
	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/provision"
	"github.com/tripleo-go/tripleo/refresh"
)

// assets are the example's files: HOT templates, the golden image's root
// filesystem and its element.
//
//go:embed templates rootfs elements
var assets embed.FS

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// Summary is what the run ends with.
type Summary struct {
	Nodes    []NodeSummary     `json:"nodes"`
	Stacks   []StackSummary    `json:"stacks"`
	Images   []ImageSummary    `json:"images"`
	Recovery *tripleo.Recovery `json:"recovery,omitempty"`
	// Boots sums up the machines' boots (NodeBooter).
	Boots   BootSummary `json:"boots"`
	Checks  []string    `json:"checks"`
	Timings []Timing    `json:"timings"`
	Total   string      `json:"total"`
}

// NodeSummary is one machine at the end of the run.
type NodeSummary struct {
	Name    string `json:"name"`
	BMC     string `json:"bmc"`
	Profile string `json:"profile"`
	State   string `json:"provision_state"`
	Power   string `json:"power_state"`
	Server  string `json:"server,omitempty"`
	Stack   string `json:"stack,omitempty"`
	// Image is the digest of the image the node runs.
	Image string `json:"image,omitempty"`
	// Maintenance is why the node was taken out of service.
	Maintenance string `json:"maintenance,omitempty"`
	// Signalled counts the deployments the node's agent signalled.
	Signalled int `json:"deployments_signalled,omitempty"`
}

// StackSummary is one stack at the end of the run.
type StackSummary struct {
	Name    string `json:"name"`
	State   string `json:"state"`
	Servers int    `json:"servers"`
	// Owner is the stack this one is a tenant of.
	Owner string `json:"owner,omitempty"`
	// Image is the digest the stack's servers run; History the images it
	// ran in turn, as ACTION:DIGEST.
	Image   string   `json:"image,omitempty"`
	History []string `json:"history,omitempty"`
}

// BootSummary counts the machines' boots: how many, how many extracted
// a new root from their disk (and how long that took in all), how many
// failed.
type BootSummary struct {
	Boots          int    `json:"boots"`
	Extractions    int    `json:"extractions"`
	ExtractSeconds string `json:"extract_seconds"`
	Failures       int    `json:"failures"`
}

// ImageSummary is one image built.
type ImageSummary struct {
	Tag    string `json:"tag"`
	Digest string `json:"digest"`
}

// Timing is how long one step took.
type Timing struct {
	Step    string `json:"step"`
	Seconds string `json:"seconds"`
}

// plan says how many machines each role gets.
type plan struct {
	undercloud, controllers, computes, spares int
}

func planFor(n int) (plan, error) {
	if n < 5 {
		return plan{}, fmt.Errorf("-nodes %d: at least 5 machines are needed (2 undercloud, 1 controller, 1 compute, 1 spare)", n)
	}
	spares := max(1, n/4)
	return plan{undercloud: 2, controllers: 1, computes: n - 3 - spares, spares: spares}, nil
}

// capabilities are the capabilities an operator tags machine i with: its
// profile and, for predictable placement, the server it is meant for
// (spares get none: a recovery moves the dead node's tag to one).
func (p plan) capabilities(i int) string {
	switch {
	case i < p.undercloud:
		return fmt.Sprintf("profile:undercloud,node:undercloud-%d,boot_option:local", i)
	case i < p.undercloud+p.controllers:
		return fmt.Sprintf("profile:control,node:controller-%d,boot_option:local", i-p.undercloud)
	case i < p.undercloud+p.controllers+p.computes:
		return fmt.Sprintf("profile:compute,node:compute-%d,boot_option:local", i-p.undercloud-p.controllers)
	default:
		return "profile:compute,boot_option:local"
	}
}

// progress prints one line per event, stamped with the time since the
// start.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%7.2fs "+format+"\n", append([]any{time.Since(p.start).Seconds()}, args...)...)
}

// rolling follows a stack's servers through an update: a server is out
// of service from its deletion to its replacement's creation.
type rolling struct {
	mu       sync.Mutex
	stack    string
	out      map[string]bool
	most     int
	replaced int
}

func (r *rolling) reset(stack string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stack, r.out, r.most, r.replaced = stack, map[string]bool{}, 0, 0
}

func (r *rolling) event(ev orchestrate.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.StackName != r.stack || ev.ResourceType != tripleo.TypeServer {
		return
	}
	switch {
	case ev.Action == orchestrate.ActionDelete && ev.Status == orchestrate.StatusInProgress:
		r.out[ev.ResourceName] = true
		r.replaced++
	case ev.Action == orchestrate.ActionCreate && ev.Status == orchestrate.StatusComplete:
		delete(r.out, ev.ResourceName)
	}
	r.most = max(r.most, len(r.out))
}

// check checks that servers were replaced, at most batch at a time.
func (r *rolling) check(servers, batch int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.replaced != servers || r.most > batch || len(r.out) != 0 {
		return fmt.Errorf("%d servers replaced (want %d), at most %d out of service at once (want %d), %d still out",
			r.replaced, servers, r.most, batch, len(r.out))
	}
	return nil
}

// The toy service's parameters, which step 5 finds in every node's
// rendered configuration.
const (
	toyGreeting = "hello from the undercloud"
	toyWorkers  = "4"
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nodes := fs.Int("nodes", 8, "number of simulated `machines`")
	asJSON := fs.Bool("json", false, "write the summary as JSON")
	dirFlag := fs.String("dir", "", "keep the cloud's state in `DIR` (default: a temporary directory, removed at the end)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	pl, err := planFor(*nodes)
	if err != nil {
		return err
	}
	dir := *dirFlag
	if dir == "" {
		if dir, err = os.MkdirTemp("", "quickstart"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	start := time.Now()
	out := &progress{w: stderr, start: start}
	var timings []Timing
	step := func(name string, f func() error) error {
		out.printf("== %s", name)
		t0 := time.Now()
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		timings = append(timings, Timing{Step: name, Seconds: strconv.FormatFloat(time.Since(t0).Seconds(), 'f', 2, 64)})
		return nil
	}
	var checks []string
	check := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		out.printf("ok: %s", s)
		checks = append(checks, s)
	}

	// 1. The datacenter.
	var dc *sim.Datacenter
	if err := step(fmt.Sprintf("1. start a simulated datacenter of %d machines", *nodes), func() error {
		dc, err = sim.Start(*nodes, &sim.Options{Dir: dir + "/machines", DiskSize: imageDiskSize,
			EndpointsOf: func(i int) sim.Endpoints {
				if i%2 == 0 {
					return sim.EndpointIPMI
				}
				return sim.EndpointRedfish
			}})
		if err != nil {
			return err
		}
		for _, m := range dc.Machines() {
			out.printf("machine %s: BMC %s", m.Name(), bmcURL(m))
		}
		return nil
	}); err != nil {
		return err
	}
	defer dc.Close()

	// The machines boot the image deployed on their disk and run its node
	// agent (the Cloud's NodeBooter); fleet counts what their agents
	// signalled, by machine.
	fleet := newNodeSet(dc)
	roll := &rolling{}
	cloud, err := tripleo.Open(ctx, dir+"/cloud", &tripleo.Options{
		ImageWriter: func(path string) provision.DeployStep { return dc.DeployStep(path) },
		Provision: provision.Options{
			BMC: provision.BMCOptions{PollInterval: 20 * time.Millisecond, MaxPollInterval: 200 * time.Millisecond},
			OnTransition: func(node string, t provision.Transition) {
				out.printf("node %s: %s → %s", node, t.From, t.To)
			},
		},
		Engine: orchestrate.Options{Events: func(ev orchestrate.Event) {
			if ev.ResourceType == "OS::Heat::Stack" || ev.Status != orchestrate.StatusInProgress {
				out.printf("stack %s: %s %s", ev.StackName, ev.ResourceName, ev.State())
			}
			roll.event(ev)
		}},
		Boot: tripleo.BootOptions{OnEvent: func(machine string, ev refresh.AgentEvent) {
			node := fleet.byMachine[machine]
			switch ev.Kind {
			case refresh.AgentSignaled:
				fleet.signal(node)
				out.printf("node %s: agent signalled deployment %s (status %d)", node, ev.Deployment, ev.StatusCode)
			case refresh.AgentRunFailed, refresh.AgentSignalFailed:
				out.printf("node %s: agent: %s: %v", node, ev.Kind, ev.Err)
			}
		}},
	})
	if err != nil {
		return err
	}
	defer cloud.Close()
	dc.SetBooter(cloud.Booter())

	// 2. The golden image, in two versions.
	var imgs []*image.Artifact
	if err := step("2. build the golden image (v1, and v2 for the update)", func() error {
		for _, v := range []string{"v1", "v2"} {
			last := image.Phase("")
			a, err := buildImage(ctx, cloud, v, func(ev image.Event) {
				if ev.Phase != last {
					last = ev.Phase
					out.printf("image %s: %s", v, ev.Phase)
				}
			})
			if err != nil {
				return err
			}
			imgs = append(imgs, a)
			out.printf("image toy-overcloud:%s: %s (%d elements, %d files)", v, a.Digest, len(a.Manifest.Elements), a.Manifest.Files)
		}
		return nil
	}); err != nil {
		return err
	}

	// 3. Enroll, inspect, provide: the seed's work.
	if err := step("3. bootstrap: enroll, inspect and provide the machines", func() error {
		var seed []*provision.Node
		for i, m := range dc.Machines() {
			seed = append(seed, &provision.Node{Name: fmt.Sprintf("node-%d", i), BMCAddress: bmcURL(m), Credentials: m.Credentials(),
				MACs: []string{m.MAC()}, Properties: map[string]string{"capabilities": pl.capabilities(i)}})
		}
		_, err := cloud.Bootstrap(ctx, seed, nil)
		return err
	}); err != nil {
		return err
	}

	// 4. The undercloud, then the overcloud as its tenant.
	input := func(name string, params map[string]string) (*orchestrate.Input, error) {
		tmpl, err := assets.ReadFile("templates/" + name + ".yaml")
		if err != nil {
			return nil, err
		}
		env, err := assets.ReadFile("templates/resource-registry.yaml")
		if err != nil {
			return nil, err
		}
		return &orchestrate.Input{TemplateFile: name + ".yaml", Template: string(tmpl),
			Environments: []orchestrate.File{{Name: "resource-registry.yaml", Data: string(env)}}, Params: params}, nil
	}
	if err := step("4a. deploy the undercloud", func() error {
		in, err := input("undercloud", map[string]string{"ControlCount": strconv.Itoa(pl.undercloud)})
		if err != nil {
			return err
		}
		_, err = cloud.DeployUndercloud(ctx, in, &tripleo.DeployOptions{Image: "toy-overcloud:v1"})
		return err
	}); err != nil {
		return err
	}
	if err := step("4b. deploy the overcloud (a tenant of the undercloud)", func() error {
		in, err := input("overcloud", map[string]string{"ControllerCount": strconv.Itoa(pl.controllers),
			"ComputeCount": strconv.Itoa(pl.computes), "ToyGreeting": toyGreeting, "ToyWorkers": toyWorkers})
		if err != nil {
			return err
		}
		_, err = cloud.DeployOvercloud(ctx, in, &tripleo.DeployOptions{Image: "toy-overcloud:v1"})
		return err
	}); err != nil {
		return err
	}

	// 5. Prove the overcloud works.
	if err := step("5. check every overcloud node's configuration", func() error {
		placed, err := stackNodes(ctx, cloud, tripleo.OvercloudStack)
		if err != nil {
			return err
		}
		for _, node := range placed {
			if err := checkNode(fleet, node, "v1"); err != nil {
				return err
			}
		}
		n, err := checkSignalled(ctx, cloud, tripleo.OvercloudStack, len(placed))
		if err != nil {
			return err
		}
		check("%d overcloud nodes booted v1, rendered /etc/toy/toy.conf from the stack's parameters (greeting %q, workers %s) and ran the phase scripts; their %d deployments were signalled", len(placed), toyGreeting, toyWorkers, n)
		return nil
	}); err != nil {
		return err
	}

	// 6. Roll forward, then back.
	if err := step("6a. update the overcloud to image v2 (rolling, 1 node at a time)", func() error {
		roll.reset(tripleo.OvercloudStack)
		if _, err := cloud.Update(ctx, tripleo.OvercloudStack, &tripleo.UpdateOptions{Image: "toy-overcloud:v2"}); err != nil {
			return err
		}
		placed, err := stackNodes(ctx, cloud, tripleo.OvercloudStack)
		if err != nil {
			return err
		}
		for _, node := range placed {
			if err := checkNode(fleet, node, "v2"); err != nil {
				return err
			}
		}
		if err := roll.check(len(placed), 1); err != nil {
			return err
		}
		check("%d overcloud nodes run v2, their servers replaced one at a time", len(placed))
		return nil
	}); err != nil {
		return err
	}
	if err := step("6b. roll the overcloud back to image v1", func() error {
		roll.reset(tripleo.OvercloudStack)
		if _, err := cloud.Rollback(ctx, tripleo.OvercloudStack, nil); err != nil {
			return err
		}
		placed, err := stackNodes(ctx, cloud, tripleo.OvercloudStack)
		if err != nil {
			return err
		}
		for _, node := range placed {
			if err := checkNode(fleet, node, "v1"); err != nil {
				return err
			}
			runs, err := os.ReadFile(filepath.Join(fleet.volume(node), "toy/configured"))
			if err != nil {
				return err
			}
			if got := strings.Join(slices.Compact(strings.Fields(string(runs))), " "); got != "v1 v2 v1" {
				return fmt.Errorf("node %s ran %s, want v1 v2 v1", node, got)
			}
		}
		if err := roll.check(len(placed), 1); err != nil {
			return err
		}
		check("%d overcloud nodes run v1 again, one server at a time; toy/first-boot (written by v1 on each node's persistent volume) survived the update and the rollback", len(placed))
		return nil
	}); err != nil {
		return err
	}

	// 7. A compute dies; the undercloud replaces it from the pool.
	var rec *tripleo.Recovery
	if err := step("7. kill a compute's machine and recover it from the pool", func() error {
		victim := fmt.Sprintf("node-%d", pl.undercloud+pl.controllers+pl.computes-1)
		n, err := cloud.Inventory().Get(ctx, victim)
		if err != nil {
			return err
		}
		m := dc.MachineFor(n.BMCAddress)
		m.SetFault(sim.FaultUnreachable, 0)
		m.Power(provision.PowerActionOff)
		out.printf("node %s: machine killed (powered off, BMC %s unplugged)", victim, n.BMCAddress)
		probes, err := cloud.Probe(ctx, &tripleo.ProbeOptions{Timeout: time.Second})
		if err != nil {
			return err
		}
		var silent []string
		for _, p := range probes {
			if p.Err != nil {
				silent = append(silent, p.Node)
				out.printf("node %s: probe: %v", p.Node, p.Err)
			}
		}
		if len(silent) != 1 || silent[0] != victim {
			return fmt.Errorf("probed %d nodes: %v did not answer, want %s alone", len(probes), silent, victim)
		}
		out.printf("probed %d active nodes: %s is dead", len(probes), victim)
		if rec, err = cloud.Recover(ctx, victim, &tripleo.RecoverOptions{Reason: "BMC unreachable"}); err != nil {
			return err
		}
		out.printf("node %s: %s replaced by %s on %s", victim, rec.Resource, rec.Replacement, rec.NewNode)
		if err := checkNode(fleet, rec.NewNode, "v1"); err != nil {
			return err
		}
		placed, err := stackNodes(ctx, cloud, tripleo.OvercloudStack)
		if err != nil {
			return err
		}
		if _, err := checkSignalled(ctx, cloud, tripleo.OvercloudStack, len(placed)); err != nil {
			return err
		}
		check("%s (BMC unreachable) is in maintenance; its server %s was replaced in place on spare %s, which booted, was configured and signalled", victim, rec.Replacement, rec.NewNode)
		return nil
	}); err != nil {
		return err
	}
	// The agents' last events are in once they stopped.
	if err := cloud.Booter().Close(); err != nil {
		return err
	}

	// 8. The summary.
	sum, err := summarize(ctx, cloud, fleet, imgs)
	if err != nil {
		return err
	}
	sum.Recovery, sum.Checks, sum.Timings = rec, checks, timings
	st := cloud.Booter().Stats()
	sum.Boots = BootSummary{Boots: st.Boots, Extractions: st.Extractions, Failures: st.Failures,
		ExtractSeconds: strconv.FormatFloat(st.ExtractTime.Seconds(), 'f', 2, 64)}
	sum.Total = strconv.FormatFloat(time.Since(start).Seconds(), 'f', 2, 64)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	return writeText(stdout, sum)
}

// stackNodes returns the nodes hosting the stack's servers.
func stackNodes(ctx context.Context, cloud *tripleo.Cloud, stack string) ([]string, error) {
	e, err := cloud.Stack(ctx, stack)
	if err != nil {
		return nil, err
	}
	outs, err := e.Outputs(ctx)
	if err != nil {
		return nil, err
	}
	nodes, _ := outs["nodes"].([]any)
	var names []string
	for _, n := range nodes {
		names = append(names, fmt.Sprint(n))
	}
	return names, nil
}

// nodeSet maps the example's nodes (node-I) to their machines (mI) and
// counts the deployments each node's agent signalled.
type nodeSet struct {
	dc        *sim.Datacenter
	byMachine map[string]string // machine → node

	mu        sync.Mutex
	signalled map[string]int
}

func newNodeSet(dc *sim.Datacenter) *nodeSet {
	s := &nodeSet{dc: dc, byMachine: map[string]string{}, signalled: map[string]int{}}
	for i, m := range dc.Machines() {
		s.byMachine[m.Name()] = fmt.Sprintf("node-%d", i)
	}
	return s
}

func (s *nodeSet) machine(node string) *sim.Machine {
	i, _ := strconv.Atoi(strings.TrimPrefix(node, "node-"))
	return s.dc.Machine(i)
}

// root is the root filesystem node booted (extracted from its disk).
func (s *nodeSet) root(node string) string {
	return filepath.Join(s.machine(node).Dir(), tripleo.BootRootDir)
}

// volume is node's persistent volume.
func (s *nodeSet) volume(node string) string {
	return filepath.Join(s.machine(node).Dir(), tripleo.BootVolumeDir)
}

func (s *nodeSet) signal(node string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signalled[node]++
}

func (s *nodeSet) signals(node string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signalled[node]
}

// checkNode checks that node booted image version v (its root's
// /etc/toy-release), rendered the toy service's configuration from the
// stack's parameters, ran its phase scripts, and keeps first-boot, written
// by v1, on its persistent volume.
func checkNode(s *nodeSet, node, v string) error {
	read := func(dir, p string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			return "", fmt.Errorf("node %s: %w", node, err)
		}
		return string(b), nil
	}
	root := s.root(node)
	conf, err := read(root, "etc/toy/toy.conf")
	if err != nil {
		return err
	}
	for _, want := range []string{"greeting = " + toyGreeting + "\n", "workers = " + toyWorkers + "\n"} {
		if !strings.Contains(conf, want) {
			return fmt.Errorf("node %s: /etc/toy/toy.conf lacks %q:\n%s", node, want, conf)
		}
	}
	if rel, err := read(root, "etc/toy-release"); err != nil || rel != v+"\n" {
		return fmt.Errorf("node %s booted release %q (%v), want %s", node, rel, err, v)
	}
	ready, err := read(root, "run/toy/ready")
	if err != nil {
		return err
	}
	if !strings.HasPrefix(ready, v+"\n") {
		return fmt.Errorf("node %s: the toy service runs %q, want %s", node, strings.SplitN(ready, "\n", 2)[0], v)
	}
	if first, err := read(s.volume(node), "toy/first-boot"); err != nil || first != "v1\n" {
		return fmt.Errorf("node %s: first-boot on the volume is %q (%v), want v1", node, first, err)
	}
	return nil
}

// checkSignalled checks that every deployment of the stack completed,
// which the engine does only on its server's signal, and that there is one
// per server; it returns how many there are.
func checkSignalled(ctx context.Context, cloud *tripleo.Cloud, stack string, servers int) (int, error) {
	e, err := cloud.Stack(ctx, stack)
	if err != nil {
		return 0, err
	}
	info, err := e.Show(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range info.Resources {
		if r.Type != orchestrate.TypeStructuredDeployment {
			continue
		}
		if r.Status != orchestrate.StatusComplete {
			return 0, fmt.Errorf("deployment %s: %s_%s: %s", r.Name, r.Action, r.Status, r.Reason)
		}
		n++
	}
	if n != servers {
		return 0, fmt.Errorf("%d deployments complete for %d servers", n, servers)
	}
	return n, nil
}

func summarize(ctx context.Context, cloud *tripleo.Cloud, fleet *nodeSet, imgs []*image.Artifact) (*Summary, error) {
	sum := &Summary{}
	for i, a := range imgs {
		sum.Images = append(sum.Images, ImageSummary{Tag: fmt.Sprintf("toy-overcloud:v%d", i+1), Digest: a.Digest})
	}
	servers := map[string][2]string{} // node → stack, server
	images := map[string]string{}     // stack → digest
	for _, name := range []string{tripleo.UndercloudStack, tripleo.OvercloudStack} {
		e, err := cloud.Stack(ctx, name)
		if err != nil {
			return nil, err
		}
		outs, err := e.Outputs(ctx)
		if err != nil {
			return nil, err
		}
		names, _ := outs["names"].([]any)
		nodes, _ := outs["nodes"].([]any)
		if len(names) != len(nodes) {
			return nil, fmt.Errorf("stack %s: %d names for %d nodes", name, len(names), len(nodes))
		}
		for i := range names {
			servers[fmt.Sprint(nodes[i])] = [2]string{name, fmt.Sprint(names[i])}
		}
		info, err := e.Show(ctx)
		if err != nil {
			return nil, err
		}
		d, err := cloud.Deployment(name)
		if err != nil {
			return nil, err
		}
		ss := StackSummary{Name: name, State: info.State(), Servers: len(names), Owner: d.Owner, Image: d.Image}
		for _, h := range d.History {
			ss.History = append(ss.History, h.Action+":"+h.Digest)
		}
		images[name] = d.Image
		sum.Stacks = append(sum.Stacks, ss)
	}
	all, err := cloud.Inventory().List(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range all {
		bmc, _, _ := strings.Cut(n.BMCAddress, "://")
		ns := NodeSummary{Name: n.Name, BMC: bmc, Profile: strings.TrimPrefix(strings.Split(n.Properties["capabilities"], ",")[0], "profile:"),
			State: n.ProvisionState.String(), Power: n.PowerState.String(), Signalled: fleet.signals(n.Name)}
		if n.Properties[tripleo.PropMaintenance] == "true" {
			ns.Maintenance = n.Properties[tripleo.PropMaintenanceReason]
		}
		if s, ok := servers[n.Name]; ok {
			ns.Stack, ns.Server, ns.Image = s[0], s[1], images[s[0]]
		}
		sum.Nodes = append(sum.Nodes, ns)
	}
	sort.Slice(sum.Nodes, func(i, j int) bool { return nodeLess(sum.Nodes[i].Name, sum.Nodes[j].Name) })
	return sum, nil
}

// bmcURL is the address the example drives machine m through: IPMI over
// the wire when it has an IPMI BMC, Redfish otherwise.
func bmcURL(m *sim.Machine) string {
	if u := m.IPMIURL(); u != "" {
		return u
	}
	return m.RedfishURL()
}

// nodeLess orders node-2 before node-10.
func nodeLess(a, b string) bool {
	ai, aerr := strconv.Atoi(strings.TrimPrefix(a, "node-"))
	bi, berr := strconv.Atoi(strings.TrimPrefix(b, "node-"))
	if aerr != nil || berr != nil {
		return a < b
	}
	return ai < bi
}

// short abbreviates a digest for the text summary.
func short(digest string) string {
	if d, ok := strings.CutPrefix(digest, "sha256:"); ok && len(d) > 12 {
		return d[:12]
	}
	return digest
}

func writeText(w io.Writer, s *Summary) error {
	var b bytes.Buffer
	row := "%-10s %-13s %-10s %-10s %-5s %-10s %-24s %-12s %s\n"
	fmt.Fprintf(&b, row, "NODE", "BMC", "PROFILE", "STATE", "POWER", "STACK", "SERVER", "IMAGE", "NOTE")
	for _, n := range s.Nodes {
		note := ""
		if n.Maintenance != "" {
			note = "maintenance: " + n.Maintenance
		} else if n.Signalled > 0 {
			note = fmt.Sprintf("signalled %d", n.Signalled)
		}
		fmt.Fprintf(&b, row, n.Name, n.BMC, n.Profile, n.State, n.Power, n.Stack, n.Server, short(n.Image), note)
	}
	b.WriteString("\n")
	for _, im := range s.Images {
		fmt.Fprintf(&b, "image %s: %s\n", im.Tag, im.Digest)
	}
	for _, st := range s.Stacks {
		owner := ""
		if st.Owner != "" {
			owner = ", tenant of " + st.Owner
		}
		var hist []string
		for _, h := range st.History {
			action, digest, _ := strings.Cut(h, ":")
			hist = append(hist, action+" "+short(digest))
		}
		fmt.Fprintf(&b, "stack %s: %s, %d servers%s, image history: %s\n", st.Name, st.State, st.Servers, owner, strings.Join(hist, " → "))
	}
	if r := s.Recovery; r != nil {
		fmt.Fprintf(&b, "recovered: %s (%s) → %s on %s\n", r.Node, r.Reason, r.Replacement, r.NewNode)
	}
	fmt.Fprintf(&b, "boots: %d (%d roots extracted from disk in %ss, %d failed)\n",
		s.Boots.Boots, s.Boots.Extractions, s.Boots.ExtractSeconds, s.Boots.Failures)
	b.WriteString("\n")
	for _, c := range s.Checks {
		fmt.Fprintf(&b, "ok: %s\n", c)
	}
	b.WriteString("\n")
	for _, t := range s.Timings {
		fmt.Fprintf(&b, "%6ss  %s\n", t.Seconds, t.Step)
	}
	fmt.Fprintf(&b, "%6ss  total\n", s.Total)
	_, err := w.Write(b.Bytes())
	return err
}
