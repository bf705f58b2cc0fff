package orchestrate

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func independent(n int) string {
	var b strings.Builder
	b.WriteString("heat_template_version: 2018-08-31\nresources:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  server%d: {type: Sim::Server, properties: {image: img, flavor: small}}\n", i)
	}
	return b.String()
}

func benchEngine(b *testing.B, dir string) (*Embedded, *SimCloud) {
	cloud, err := NewSimCloud("")
	if err != nil {
		b.Fatal(err)
	}
	types := NewTypes()
	types.Register(TypeSimServer, cloud.Type())
	e, err := Open(b.Context(), filepath.Join(dir, "stack.state"), &Options{Types: types})
	if err != nil {
		b.Fatal(err)
	}
	return e, cloud
}

// peakRSS returns the process's peak resident set in MB (Linux).
func peakRSS() float64 {
	s, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(s), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func benchCreate(b *testing.B, n int) {
	in := &Input{TemplateFile: "bench.yaml", Template: independent(n)}
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		e, cloud := benchEngine(b, dir)
		b.StartTimer()
		if err := e.Create(b.Context(), "bench", in); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if cloud.Servers() != n {
			b.Fatalf("%d servers", cloud.Servers())
		}
		e.Close()
		b.StartTimer()
	}
	b.ReportMetric(peakRSS(), "peak-RSS-MB")
}

// BenchmarkCreate1000: 1,000 independent simulated servers, durable state.
func BenchmarkCreate1000(b *testing.B) { benchCreate(b, 1000) }

// BenchmarkCreate10000: 10,000 independent simulated servers.
func BenchmarkCreate10000(b *testing.B) { benchCreate(b, 10000) }

// BenchmarkNoopPlan10000: planning an unchanged 10,000-resource stack.
func BenchmarkNoopPlan10000(b *testing.B) {
	in := &Input{TemplateFile: "bench.yaml", Template: independent(10000)}
	e, _ := benchEngine(b, b.TempDir())
	defer e.Close()
	if err := e.Create(b.Context(), "bench", in); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		p, err := e.Plan(b.Context(), "", in)
		if err != nil {
			b.Fatal(err)
		}
		if p.Summary()[ChangeNoop] != 10000 {
			b.Fatalf("plan: %v", p.Summary())
		}
	}
}

func groupTemplate(count int) string {
	return fmt.Sprintf(`heat_template_version: 2018-08-31
resources:
  group:
    type: OS::Heat::ResourceGroup
    properties:
      count: %d
      resource_def:
        type: Sim::Server
        properties: {name: node-%%index%%, image: img, flavor: small}
`, count)
}

// BenchmarkGroupScaleOut1000to1010: a 1,000-member group grows by ten;
// only the new members are created.
func BenchmarkGroupScaleOut1000to1010(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		e, cloud := benchEngine(b, b.TempDir())
		if err := e.Create(b.Context(), "bench", &Input{TemplateFile: "g.yaml", Template: groupTemplate(1000)}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := e.Update(b.Context(), &Input{TemplateFile: "g.yaml", Template: groupTemplate(1010)}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		calls, _ := cloud.CreateCalls()
		if len(calls) != 1010 {
			b.Fatalf("%d creates", len(calls))
		}
		e.Close()
		b.StartTimer()
	}
}

const memberTemplate = `heat_template_version: rocky
parameters:
  index: {type: number}
resources:
  port: {type: OS::Heat::None}
  server:
    type: Sim::Server
    properties: {name: {list_join: ["-", [node, {get_param: index}]]}, image: img, networks: [{port: {get_resource: port}}]}
  config: {type: OS::Heat::Value, properties: {value: {get_attr: [server, first_address]}}}
  secret: {type: OS::Heat::RandomString}
  done: {type: OS::Heat::TestResource, depends_on: [config, secret]}
outputs:
  OS::stack_id: {value: {get_resource: server}}
  address: {value: {get_attr: [config, value]}}
`

// BenchmarkGroup200x5 creates and deletes a ResourceGroup of 200 members,
// each a template resource of five resources (1,201 resources in all).
func BenchmarkGroup200x5(b *testing.B) {
	in := &Input{TemplateFile: "g.yaml", Files: map[string]string{"member.yaml": memberTemplate},
		Template: `heat_template_version: rocky
resources:
  group:
    type: OS::Heat::ResourceGroup
    properties:
      count: 200
      resource_def: {type: member.yaml, properties: {index: "%index%"}}
outputs:
  addresses: {value: {get_attr: [group, address]}}
`}
	for _, phase := range []string{"create", "delete"} {
		b.Run(phase, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				e, cloud := benchEngine(b, b.TempDir())
				if phase == "create" {
					b.StartTimer()
				}
				if err := e.Create(b.Context(), "bench", in); err != nil {
					b.Fatal(err)
				}
				if phase == "delete" {
					b.StartTimer()
					if err := e.Delete(b.Context()); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if want := map[string]int{"create": 200, "delete": 0}[phase]; cloud.Servers() != want {
					b.Fatalf("%d servers", cloud.Servers())
				}
				e.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkReplaceOne1000: one server of 1,000 replaced in place, the way
// Recover does it: "mark" marks it unhealthy and updates with the same
// input; "check" adds the whole-stack CHECK Recover ran before (every
// server found, so the mark still names the one to replace).
func BenchmarkReplaceOne1000(b *testing.B) {
	for _, how := range []string{"mark", "check"} {
		b.Run(how, func(b *testing.B) {
			in := &Input{TemplateFile: "bench.yaml", Template: independent(1000)}
			e, _ := benchEngine(b, b.TempDir())
			defer e.Close()
			if err := e.Create(b.Context(), "bench", in); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if how == "check" {
					if err := e.CheckStack(b.Context()); err != nil {
						b.Fatalf("check: %v", err)
					}
				}
				if err := e.MarkUnhealthy(b.Context(), "server7", "gone"); err != nil {
					b.Fatal(err)
				}
				if err := e.Update(b.Context(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
