package orchestrate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

type harness struct {
	t      *testing.T
	dir    string
	cloud  *SimCloud
	types  *Types
	mu     sync.Mutex
	events []Event
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	cloud, err := NewSimCloud(filepath.Join(dir, "cloud"))
	if err != nil {
		t.Fatal(err)
	}
	types := NewTypes()
	types.Register(TypeSimServer, cloud.Type())
	return &harness{t: t, dir: dir, cloud: cloud, types: types}
}

func (h *harness) open(opts *Options) *Embedded {
	h.t.Helper()
	o := Options{Types: h.types, Events: func(ev Event) {
		h.mu.Lock()
		h.events = append(h.events, ev)
		h.mu.Unlock()
	}}
	if opts != nil {
		o.Parallelism, o.Holder, o.afterRecord, o.Loader = opts.Parallelism, opts.Holder, opts.afterRecord, opts.Loader
	}
	e, err := Open(h.t.Context(), filepath.Join(h.dir, "stack.state"), &o)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { e.Close() })
	return e
}

func (h *harness) states() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, len(h.events))
	for i, ev := range h.events {
		out[i] = ev.ResourceName + " " + ev.State()
	}
	return out
}

func input(t *testing.T, file string, params map[string]string) *Input {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	env, err := os.ReadFile("testdata/sim.env.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return &Input{TemplateFile: file, Template: string(b), Params: params,
		Environments: []File{{Name: "sim.env.yaml", Data: string(env)}}}
}

func TestCreateUpdateDelete(t *testing.T) {
	h := newHarness(t)
	e := h.open(nil)
	ctx := t.Context()
	if err := e.Create(ctx, "overcloud", input(t, "stack.yaml", nil)); err != nil {
		t.Fatal(err)
	}
	info, err := e.Show(ctx)
	if err != nil || info.State() != "CREATE_COMPLETE" {
		t.Fatalf("show: %v %v", info, err)
	}
	// net, secret, config, servers, 3 members, probe
	if len(info.Resources) != 8 {
		t.Errorf("resources: %+v", info.Resources)
	}
	out, err := e.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if names := out["names"].([]any); len(names) != 3 || names[2] != "overcloud-controller-2" {
		t.Errorf("names = %v", out["names"])
	}
	if out["first"] != "overcloud-controller-0" || out["password"] != "******" || out["extra"] != nil {
		t.Errorf("outputs = %v", out)
	}
	if l := out["secret_len"].([]any); len(l) == 0 {
		t.Errorf("secret = %v", out["secret_len"])
	}
	addrs := out["addresses"].([]any)
	if out["probe"] != addrs[0].(string)+","+addrs[1].(string)+","+addrs[2].(string) {
		t.Errorf("probe = %v, addresses %v", out["probe"], addrs)
	}
	ev := h.states()
	if ev[0] != "overcloud CREATE_IN_PROGRESS" || ev[len(ev)-1] != "overcloud CREATE_COMPLETE" {
		t.Errorf("events = %v", ev)
	}
	pos := map[string]int{}
	for i, s := range ev {
		pos[s] = i
	}
	for _, before := range []string{"servers/0 CREATE_COMPLETE", "servers/2 CREATE_COMPLETE", "servers CREATE_COMPLETE"} {
		if pos[before] > pos["probe CREATE_IN_PROGRESS"] {
			t.Errorf("%s after probe started: %v", before, ev)
		}
	}
	for _, forbidden := range ev {
		if strings.Contains(forbidden, "hunter2") {
			t.Errorf("hidden value in events")
		}
	}

	// No-op plan, then scale out and change the image (replace).
	p, err := e.Plan(ctx, "", input(t, "stack.yaml", nil))
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Summary(); s[ChangeNoop] != len(p.Changes) {
		t.Errorf("no-op plan:\n%s", p)
	}
	p, err = e.Plan(ctx, "", input(t, "stack.yaml", map[string]string{"count": "5"}))
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Summary(); s[ChangeCreate] != 2 || s[ChangeUpdate] != 1 {
		t.Errorf("scale-out plan:\n%s", p)
	}
	if err := e.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(ctx, p); !errors.Is(err, ErrStalePlan) {
		t.Errorf("stale plan applied: %v", err)
	}
	calls, _ := h.cloud.CreateCalls()
	if len(calls) != 5 || h.cloud.Servers() != 5 {
		t.Errorf("after scale-out: %d keys, %d servers", len(calls), h.cloud.Servers())
	}

	// Scale in with a removal policy: member 1 goes, names are not reused.
	tmpl := strings.Replace(input(t, "stack.yaml", nil).Template, "count: {get_param: count}",
		"count: {get_param: count}\n      removal_policies: [{resource_list: ['1']}]", 1)
	in := input(t, "stack.yaml", map[string]string{"count": "3", "image": "v2"})
	in.Template = tmpl
	if err := e.Update(ctx, in); err != nil {
		t.Fatal(err)
	}
	out, _ = e.Outputs(ctx)
	if got := out["refs_map"].(map[string]any); len(got) != 3 || got["1"] != nil || got["2"] == nil || got["3"] == nil {
		t.Errorf("refs_map after removal = %v", got)
	}
	if h.cloud.Servers() != 3 {
		t.Errorf("servers after scale-in = %d", h.cloud.Servers())
	}
	info, _ = e.Show(ctx)
	if info.State() != "UPDATE_COMPLETE" {
		t.Errorf("state %s: %s", info.State(), info.Reason)
	}

	if err := e.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	info, _ = e.Show(ctx)
	if info.State() != "DELETE_COMPLETE" || len(info.Resources) != 0 || h.cloud.Servers() != 0 {
		t.Errorf("after delete: %s %v, %d servers", info.State(), info.Resources, h.cloud.Servers())
	}
}

func TestImmutableAndRollbackOnDemand(t *testing.T) {
	h := newHarness(t)
	e, err := Open(t.Context(), filepath.Join(h.dir, "s.state"), &Options{Types: h.types, DisableRollback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tmpl, _ := os.ReadFile("testdata/engine/failure_update.yaml")
	mk := func(p map[string]string) *Input {
		return &Input{TemplateFile: "failure_update.yaml", Template: string(tmpl), Params: p}
	}
	if err := e.Create(t.Context(), "s", mk(nil)); err != nil {
		t.Fatal(err)
	}
	err = e.Update(t.Context(), mk(map[string]string{"region": "two"}))
	if err == nil || !strings.Contains(err.Error(), "parameters.region: invalid: the parameter region is immutable") {
		t.Errorf("immutable change: %v", err)
	}
	if info, _ := e.Show(t.Context()); info.State() != "CREATE_COMPLETE" {
		t.Errorf("a refused update changed the stack: %s", info.State())
	}
	if err := e.Update(t.Context(), mk(map[string]string{"value": "v2", "broken": "true"})); !errors.Is(err, ErrFailed) {
		t.Fatalf("broken update: %v", err)
	}
	if info, _ := e.Show(t.Context()); info.State() != "UPDATE_FAILED" {
		t.Errorf("without rollback: %s", info.State())
	}
	if err := e.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	info, _ := e.Show(t.Context())
	out, _ := e.Outputs(t.Context())
	if info.State() != "ROLLBACK_COMPLETE" || out["keep"] != "v1" || len(info.Resources) != 2 {
		t.Errorf("after rollback: %s %v %+v", info.State(), out, info.Resources)
	}
}

func TestRuntimeErrorsNameFileResourceProperty(t *testing.T) {
	h := newHarness(t)
	e := h.open(&Options{DisableRollback: true})
	err := e.Create(t.Context(), "s", &Input{TemplateFile: "bad.yaml", Template: `heat_template_version: 2016-10-14
resources:
  srv: {type: Sim::Server, properties: {imagee: x}}
`})
	if err == nil || !strings.Contains(err.Error(), "bad.yaml: resources.srv.properties: invalid: unknown property imagee") {
		t.Errorf("err = %v", err)
	}
}
