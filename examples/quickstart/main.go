package main

import (
	"context"
	"embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tripleo-go/tripleo"
	_ "github.com/tripleo-go/tripleo/drivers/ipmi"
	_ "github.com/tripleo-go/tripleo/drivers/redfish"
	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/provision"
)

//go:embed templates
var templates embed.FS

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
	Nodes   []NodeSummary  `json:"nodes"`
	Stacks  []StackSummary `json:"stacks"`
	Timings []Timing       `json:"timings"`
	Total   string         `json:"total"`
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
}

// StackSummary is one stack at the end of the run.
type StackSummary struct {
	Name    string `json:"name"`
	State   string `json:"state"`
	Servers int    `json:"servers"`
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
// (spares get none).
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

type progress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

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
	out := &progress{w: stderr}
	start := time.Now()
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

	// 1. The datacenter.
	var dc *sim.Datacenter
	if err := step(fmt.Sprintf("start a simulated datacenter of %d machines", *nodes), func() error {
		dc, err = sim.Start(*nodes, &sim.Options{Dir: dir + "/machines", DiskSize: 1 << 20,
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

	cloud, err := tripleo.Open(ctx, dir+"/cloud", &tripleo.Options{
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
		}},
	})
	if err != nil {
		return err
	}
	defer cloud.Close()
	prov := cloud.Provisioner()

	// 3. Enroll, inspect, provide.
	if err := step("enroll, inspect and provide the machines", func() error {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(16)
		for i, m := range dc.Machines() {
			g.Go(func() error {
				name := fmt.Sprintf("node-%d", i)
				n := &provision.Node{Name: name, BMCAddress: bmcURL(m), Credentials: m.Credentials(), MACs: []string{m.MAC()},
					Properties: map[string]string{"capabilities": pl.capabilities(i)}}
				if _, err := prov.Enroll(gctx, n); err != nil {
					return err
				}
				if strings.HasPrefix(n.BMCAddress, "redfish") {
					if _, err := prov.Inspect(gctx, name); err != nil {
						return err
					}
				}
				_, err := prov.Provide(gctx, name)
				return err
			})
		}
		return g.Wait()
	}); err != nil {
		return err
	}

	// 4. The undercloud, then the overcloud.
	stacks := []struct {
		name, template string
		params         map[string]string
	}{
		{"undercloud", "templates/undercloud.yaml", map[string]string{"ControlCount": strconv.Itoa(pl.undercloud)}},
		{"overcloud", "templates/overcloud.yaml", map[string]string{
			"ControllerCount": strconv.Itoa(pl.controllers), "ComputeCount": strconv.Itoa(pl.computes)}},
	}
	env, err := templates.ReadFile("templates/resource-registry.yaml")
	if err != nil {
		return err
	}
	servers := map[string][2]string{} // node → stack, server
	var stackSums []StackSummary
	for _, s := range stacks {
		tmpl, err := templates.ReadFile(s.template)
		if err != nil {
			return err
		}
		if err := step("deploy the "+s.name, func() error {
			e, err := cloud.Stack(ctx, s.name)
			if err != nil {
				return err
			}
			if err := e.Create(ctx, s.name, &orchestrate.Input{TemplateFile: s.template, Template: string(tmpl),
				Environments: []orchestrate.File{{Name: "resource-registry.yaml", Data: string(env)}},
				Params:       s.params}); err != nil {
				return err
			}
			outs, err := e.Outputs(ctx)
			if err != nil {
				return err
			}
			names, _ := outs["names"].([]any)
			nodes, _ := outs["nodes"].([]any)
			if len(names) != len(nodes) {
				return fmt.Errorf("stack %s: %d names for %d nodes", s.name, len(names), len(nodes))
			}
			for i := range names {
				servers[fmt.Sprint(nodes[i])] = [2]string{s.name, fmt.Sprint(names[i])}
			}
			info, err := e.Show(ctx)
			if err != nil {
				return err
			}
			stackSums = append(stackSums, StackSummary{Name: s.name, State: info.State(), Servers: len(names)})
			return nil
		}); err != nil {
			return err
		}
	}

	// 8. The summary.
	all, err := cloud.Inventory().List(ctx)
	if err != nil {
		return err
	}
	sum := Summary{Stacks: stackSums, Timings: timings, Total: strconv.FormatFloat(time.Since(start).Seconds(), 'f', 2, 64)}
	for _, n := range all {
		bmc, _, _ := strings.Cut(n.BMCAddress, "://")
		ns := NodeSummary{Name: n.Name, BMC: bmc, Profile: strings.TrimPrefix(strings.Split(n.Properties["capabilities"], ",")[0], "profile:"),
			State: n.ProvisionState.String(), Power: n.PowerState.String()}
		if s, ok := servers[n.Name]; ok {
			ns.Stack, ns.Server = s[0], s[1]
		}
		sum.Nodes = append(sum.Nodes, ns)
	}
	sort.Slice(sum.Nodes, func(i, j int) bool { return nodeLess(sum.Nodes[i].Name, sum.Nodes[j].Name) })
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	return writeText(stdout, &sum)
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

func writeText(w io.Writer, s *Summary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-10s %-13s %-10s %-10s %-5s %-10s %s\n", "NODE", "BMC", "PROFILE", "STATE", "POWER", "STACK", "SERVER")
	for _, n := range s.Nodes {
		fmt.Fprintf(&b, "%-10s %-13s %-10s %-10s %-5s %-10s %s\n", n.Name, n.BMC, n.Profile, n.State, n.Power, n.Stack, n.Server)
	}
	b.WriteString("\n")
	for _, st := range s.Stacks {
		fmt.Fprintf(&b, "stack %s: %s, %d servers\n", st.Name, st.State, st.Servers)
	}
	b.WriteString("\n")
	for _, t := range s.Timings {
		fmt.Fprintf(&b, "%6ss  %s\n", t.Seconds, t.Step)
	}
	fmt.Fprintf(&b, "%6ss  total\n", s.Total)
	_, err := io.WriteString(w, b.String())
	return err
}
