package enginetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/tripleo-go/tripleo/orchestrate"
)

// paramsTemplate has parameters named n and y (booleans in YAML 1.1, so
// a template re-marshalled through YAML 1.1 breaks), a boolean driving a
// condition, a RandomString and a Value, and a conditional output.
const paramsTemplate = `parameters:
  n: {type: string}
  y: {type: number, default: 7}
  flag: {type: boolean, default: false}
conditions:
  enabled: {equals: [{get_param: flag}, true]}
resources:
  rnd:
    type: OS::Heat::RandomString
    properties: {length: 8}
  val:
    type: OS::Heat::Value
    properties:
      value: {n: {get_param: n}, y: {get_param: y}}
outputs:
  n_out: {value: {get_param: n}}
  y_out: {value: {get_param: y}}
  rnd: {value: {get_attr: [rnd, value]}}
  val_out: {value: {get_attr: [val, value]}}
  only_on:
    value: shown
    condition: enabled
`

func testCreateParamsOutputs(t *testing.T, s *suite) {
	s.create(tmpl(paramsTemplate, map[string]string{"n": "no", "y": "42"}))
	info, res := s.show()
	if info.Name != s.name || info.ID == "" {
		t.Errorf("stack %q id %q, want name %q and an id", info.Name, info.ID, s.name)
	}
	for _, n := range []string{"rnd", "val"} {
		if r, ok := res[n]; !ok || rstate(r) != "CREATE_COMPLETE" || r.PhysicalID == "" {
			t.Errorf("resource %s: %+v", n, r)
		}
	}
	if res["rnd"].Type != "OS::Heat::RandomString" || res["val"].Type != "OS::Heat::Value" {
		t.Errorf("types: %+v", info.Resources)
	}
	out := s.outputs()
	if r, _ := out["rnd"].(string); len(r) != 8 {
		t.Errorf("rnd = %#v, want 8 characters", out["rnd"])
	}
	want := map[string]any{"n_out": "no", "y_out": 42.0,
		"val_out": map[string]any{"n": "no", "y": 42.0}, "only_on": nil}
	for k, v := range want {
		if got, ok := out[k]; !ok || fmt.Sprint(norm(t, got)) != fmt.Sprint(norm(t, v)) {
			t.Errorf("output %s = %#v (present %v), want %#v", k, got, ok, v)
		}
	}
}

func testEvents(t *testing.T, s *suite) {
	s.create(tmpl(`resources:
  a: {type: OS::Heat::TestResource, properties: {value: a}}
  b: {type: OS::Heat::TestResource, properties: {value: {get_attr: [a, output]}}}
`, nil))
	evs := s.events()
	own := checkOrder(t, s.name, evs)
	if len(own) < 2 || own[0].State() != "CREATE_IN_PROGRESS" || own[len(own)-1].State() != "CREATE_COMPLETE" {
		t.Fatalf("stack events %v", own)
	}
	if evs[0].State() != "CREATE_IN_PROGRESS" || evs[0].ResourceName != s.name || evs[len(evs)-1].ResourceName != s.name {
		t.Errorf("the stack's events do not frame the resources': first %+v last %+v", evs[0], evs[len(evs)-1])
	}
	// b depends on a: a completes before b starts.
	if ac, bs := index(evs, "a", "CREATE_COMPLETE"), index(evs, "b", "CREATE_IN_PROGRESS"); ac < 0 || bs < ac {
		t.Errorf("a CREATE_COMPLETE at %d, b CREATE_IN_PROGRESS at %d", ac, bs)
	}
	for _, ev := range evs {
		if ev.ResourceName == "a" && ev.ResourceType != "OS::Heat::TestResource" {
			t.Errorf("event of a with type %q", ev.ResourceType)
		}
	}
	if len(evs) < 6 {
		t.Fatalf("%d events", len(evs))
	}
	// Marker and limit.
	page, err := s.e.Events(t.Context(), &orchestrate.EventQuery{After: evs[1].ID, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].ID != evs[2].ID || page[1].ID != evs[3].ID {
		t.Errorf("after %s limit 2: %v, want events 2 and 3 of %v", evs[1].ID, page, evs)
	}
	// Resource filter.
	onlyB, err := s.e.Events(t.Context(), &orchestrate.EventQuery{Resource: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(onlyB) != 2 || onlyB[0].State() != "CREATE_IN_PROGRESS" || onlyB[1].State() != "CREATE_COMPLETE" {
		t.Errorf("events of b: %v", onlyB)
	}
	for _, ev := range onlyB {
		if ev.ResourceName != "b" {
			t.Errorf("filter b returned %s", ev.ResourceName)
		}
	}
}

func testErrors(t *testing.T, s *suite) {
	ctx := t.Context()
	if _, err := s.e.Show(ctx); !errors.Is(err, orchestrate.ErrNotFound) {
		t.Errorf("show before create: %v, want ErrNotFound", err)
	}
	if err := s.e.Update(ctx, tmpl("resources: {}\n", nil)); !errors.Is(err, orchestrate.ErrNotFound) {
		t.Errorf("update before create: %v, want ErrNotFound", err)
	}
	if err := s.e.Delete(ctx); !errors.Is(err, orchestrate.ErrNotFound) {
		t.Errorf("delete before create: %v, want ErrNotFound", err)
	}
	s.create(tmpl("resources:\n  a: {type: OS::Heat::None}\n", nil))
	if err := s.e.Create(ctx, s.name, tmpl("resources: {}\n", nil)); !errors.Is(err, orchestrate.ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}
	s.state("CREATE_COMPLETE")
}

// replaceTemplate: a updates in place (value is update_allowed), b is
// replaced (update_replace_value is not).
const replaceTemplate = `parameters:
  v: {type: string}
  r: {type: string}
resources:
  a:
    type: OS::Heat::TestResource
    properties: {value: {get_param: v}}
  b:
    type: OS::Heat::TestResource
    properties: {update_replace_value: {get_param: r}}
  c:
    type: OS::Heat::None
outputs:
  a: {value: {get_attr: [a, output]}}
`

func testPlanApply(t *testing.T, s *suite) {
	ctx := t.Context()
	in := tmpl(replaceTemplate, map[string]string{"v": "v1", "r": "r1"})
	p, err := s.e.Plan(ctx, s.name, in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Action != orchestrate.ActionCreate || p.Name != s.name {
		t.Errorf("plan %s %s", p.Action, p.Name)
	}
	if got := changes(p); !slices.Equal(got, []string{"a create", "b create", "c create"}) {
		t.Errorf("create plan %v", got)
	}
	if err := s.e.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	s.state("CREATE_COMPLETE")
	p, err = s.e.Plan(ctx, "", tmpl(replaceTemplate, map[string]string{"v": "v2", "r": "r2"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := changes(p); !slices.Equal(got, []string{"a update", "b replace", "c no-op"}) {
		t.Errorf("update plan %v", got)
	}
	if p.Action != orchestrate.ActionUpdate {
		t.Errorf("plan action %s", p.Action)
	}
	// The stack changes after the plan: applying it is refused.
	s.update(tmpl(replaceTemplate, map[string]string{"v": "v3", "r": "r1"}))
	if err := s.e.Apply(ctx, p); !errors.Is(err, orchestrate.ErrStalePlan) {
		t.Fatalf("stale plan: %v, want ErrStalePlan", err)
	}
	if out := s.outputs(); out["a"] != "v3" {
		t.Errorf("after the refused plan a = %v", out["a"])
	}
	p, err = s.e.Plan(ctx, "", tmpl(replaceTemplate, map[string]string{"v": "v4", "r": "r1"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.e.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	if out := s.outputs(); out["a"] != "v4" {
		t.Errorf("after the plan a = %v", out["a"])
	}
}

// changes renders a plan's changes as "resource action".
func changes(p *orchestrate.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, c.Resource+" "+string(c.Action))
	}
	return out
}

func testUpdateInPlaceVsReplace(t *testing.T, s *suite) {
	s.create(tmpl(replaceTemplate, map[string]string{"v": "v1", "r": "r1"}))
	_, before := s.show()
	s.update(tmpl(replaceTemplate, map[string]string{"v": "v2", "r": "r2"}))
	_, after := s.show()
	if before["a"].PhysicalID != after["a"].PhysicalID {
		t.Errorf("a was replaced (%s → %s), want an update in place", before["a"].PhysicalID, after["a"].PhysicalID)
	}
	if before["b"].PhysicalID == after["b"].PhysicalID || after["b"].PhysicalID == "" {
		t.Errorf("b kept its physical id %s, want a replacement", before["b"].PhysicalID)
	}
	if before["c"].PhysicalID != after["c"].PhysicalID {
		t.Errorf("c changed without a change")
	}
	if out := s.outputs(); out["a"] != "v2" {
		t.Errorf("a = %v", out["a"])
	}
	evs := s.events()
	checkOrder(t, s.name, evs)
	upd := evs[last(evs, s.name, "UPDATE_IN_PROGRESS"):]
	if index(upd, "a", "UPDATE_COMPLETE") < 0 {
		t.Errorf("no UPDATE_COMPLETE for a: %v", upd)
	}
	// The replacement of b: a new b is created, the old one deleted.
	cb, db := index(upd, "b", "CREATE_COMPLETE"), last(upd, "b", "DELETE_COMPLETE")
	if s.h.Quirks.ReplacedDeletedAside && db < 0 {
		db = len(upd)
	}
	if cb < 0 || db < cb {
		t.Errorf("b: CREATE_COMPLETE at %d, DELETE_COMPLETE at %d: %v", cb, db, upd)
	}
	if index(upd, "c", "UPDATE_IN_PROGRESS") >= 0 {
		t.Errorf("c was updated")
	}
}

const patchTemplate = `parameters:
  p1: {type: string, default: d1}
  p2: {type: string}
resources:
  a: {type: OS::Heat::Value, properties: {value: {list_join: ["-", [{get_param: p1}, {get_param: p2}]]}}}
outputs:
  p1: {value: {get_param: p1}}
  p2: {value: {get_param: p2}}
  a: {value: {get_attr: [a, value]}}
`

func testPatchUpdate(t *testing.T, s *suite) {
	s.create(tmpl(patchTemplate, map[string]string{"p1": "x", "p2": "y"}))
	if err := s.e.Update(t.Context(), &orchestrate.Input{Params: map[string]string{"p2": "z"}}); err != nil {
		t.Fatalf("PATCH update: %v", err)
	}
	s.state("UPDATE_COMPLETE")
	out := s.outputs()
	if out["p1"] != "x" || out["p2"] != "z" || out["a"] != "x-z" {
		t.Errorf("after PATCH {p2: z}: %v, want p1 x (kept), p2 z, a x-z", out)
	}
}

const groupTemplate = `parameters:
  count: {type: number}
resources:
  group:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: count}
      resource_def:
        type: OS::Heat::TestResource
        properties: {value: "member-%index%"}
outputs:
  values: {value: {get_attr: [group, output]}}
`

func testGroupScale(t *testing.T, s *suite) {
	s.create(tmpl(groupTemplate, map[string]string{"count": "3"}))
	_, res := s.show()
	if got := members(res, "group"); !slices.Equal(got, []string{"0", "1", "2"}) {
		t.Fatalf("members %v", got)
	}
	ids := map[string]string{}
	for _, m := range []string{"0", "1", "2"} {
		ids[m] = res["group/"+m].PhysicalID
	}
	if out := s.outputs(); fmt.Sprint(out["values"]) != "[member-0 member-1 member-2]" {
		t.Errorf("values %v", out["values"])
	}
	// Scale out: two members added, the others untouched.
	s.update(tmpl(groupTemplate, map[string]string{"count": "5"}))
	_, res = s.show()
	if got := members(res, "group"); !slices.Equal(got, []string{"0", "1", "2", "3", "4"}) {
		t.Fatalf("after scale-out: %v", got)
	}
	for m, id := range ids {
		if res["group/"+m].PhysicalID != id {
			t.Errorf("scale-out replaced member %s", m)
		}
	}
	evs := s.events()
	upd := evs[last(evs, s.name, "UPDATE_IN_PROGRESS"):]
	for _, ev := range upd {
		if m := base(ev.ResourceName); m == "group/0" || m == "group/1" || m == "group/2" {
			t.Errorf("scale-out touched %s: %s", m, ev.State())
		}
	}
	// Scale in: the highest indices go.
	s.update(tmpl(groupTemplate, map[string]string{"count": "2"}))
	_, res = s.show()
	if got := members(res, "group"); !slices.Equal(got, []string{"0", "1"}) {
		t.Fatalf("after scale-in: %v", got)
	}
	for _, m := range []string{"0", "1"} {
		if res["group/"+m].PhysicalID != ids[m] {
			t.Errorf("scale-in replaced member %s", m)
		}
	}
	evs = s.events()
	upd = evs[last(evs, s.name, "UPDATE_IN_PROGRESS"):]
	for _, m := range []string{"2", "3", "4"} {
		if index(upd, "group/"+m, "DELETE_COMPLETE") < 0 {
			t.Errorf("member %s not deleted: %v", m, upd)
		}
	}
	if out := s.outputs(); fmt.Sprint(out["values"]) != "[member-0 member-1]" {
		t.Errorf("values %v", out["values"])
	}
}

const rollingTemplate = `parameters:
  v: {type: string}
resources:
  group:
    type: OS::Heat::ResourceGroup
    update_policy:
      rolling_update: {max_batch_size: 2, min_in_service: 0, pause_time: 0}
    properties:
      count: 4
      resource_def:
        type: OS::Heat::TestResource
        properties: {value: {get_param: v}}
outputs:
  values: {value: {get_attr: [group, output]}}
`

func testRollingUpdate(t *testing.T, s *suite) {
	s.create(tmpl(rollingTemplate, map[string]string{"v": "v1"}))
	s.update(tmpl(rollingTemplate, map[string]string{"v": "v2"}))
	if out := s.outputs(); fmt.Sprint(out["values"]) != "[v2 v2 v2 v2]" {
		t.Errorf("values %v", out["values"])
	}
	evs := s.events()
	checkOrder(t, s.name, evs)
	upd := evs[last(evs, s.name, "UPDATE_IN_PROGRESS"):]
	// Heat's order: highest index first, two at a time: {3, 2}, then
	// {1, 0}; the second batch starts after the first has finished.
	batches := [][]string{{"2", "3"}, {"0", "1"}}
	lastDone := -1
	for i, b := range batches {
		first := len(upd)
		for _, m := range b {
			st, done := index(upd, "group/"+m, "UPDATE_IN_PROGRESS"), last(upd, "group/"+m, "UPDATE_COMPLETE")
			if st < 0 || done < st {
				t.Fatalf("member %s: UPDATE_IN_PROGRESS at %d, UPDATE_COMPLETE at %d: %v", m, st, done, upd)
			}
			first = min(first, st)
			if i == 0 {
				lastDone = max(lastDone, done)
			}
		}
		if i == 1 && first < lastDone {
			t.Errorf("batch %v started (event %d) before batch %v finished (event %d): %v", b, first, batches[0], lastDone, upd)
		}
	}
}

const rollbackTemplate = `parameters:
  v: {type: string}
  fail: {type: boolean, default: false}
conditions:
  failing: {equals: [{get_param: fail}, true]}
resources:
  a:
    type: OS::Heat::TestResource
    properties: {value: {get_param: v}}
  b:
    type: OS::Heat::TestResource
    condition: failing
    depends_on: a
    properties: {fail: true}
outputs:
  a: {value: {get_attr: [a, output]}}
`

func testAutoRollback(t *testing.T, s *suite) {
	s.create(tmpl(rollbackTemplate, map[string]string{"v": "v1"}))
	err := s.e.Update(t.Context(), tmpl(rollbackTemplate, map[string]string{"v": "v2", "fail": "true"}))
	if !errors.Is(err, orchestrate.ErrFailed) {
		t.Fatalf("failing update: %v, want ErrFailed", err)
	}
	info, res := s.show()
	if info.State() != "ROLLBACK_COMPLETE" {
		t.Errorf("after the failing update the stack is %s, want ROLLBACK_COMPLETE", info.State())
	}
	if r, ok := res["b"]; ok && rstate(r) != "DELETE_COMPLETE" {
		t.Errorf("b left after the rollback: %+v", r)
	}
	if out := s.outputs(); out["a"] != "v1" {
		t.Errorf("a = %v after the rollback, want v1", out["a"])
	}
	evs := s.events()
	own := checkOrder(t, s.name, evs)
	if l := own[len(own)-1].State(); l != "ROLLBACK_COMPLETE" || index(own, s.name, "ROLLBACK_IN_PROGRESS") < 0 {
		t.Errorf("stack events %v", own)
	}
	if index(evs, "b", "CREATE_FAILED") < 0 {
		t.Errorf("no CREATE_FAILED for b: %v", evs)
	}
}

func testRollback(t *testing.T, s *suite) {
	s.create(tmpl(rollbackTemplate, map[string]string{"v": "v1"}))
	s.update(tmpl(rollbackTemplate, map[string]string{"v": "v2"}))
	if err := s.e.Rollback(t.Context()); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	want := "ROLLBACK_COMPLETE"
	if s.h.Quirks.RollbackAsUpdate {
		want = "UPDATE_COMPLETE"
	}
	s.state(want)
	// The last good template is the one just deployed: nothing changes.
	if out := s.outputs(); out["a"] != "v2" {
		t.Errorf("a = %v after a rollback of a complete stack", out["a"])
	}
}

func testDelete(t *testing.T, s *suite) {
	s.create(tmpl("resources:\n  a: {type: OS::Heat::TestResource}\n  b: {type: OS::Heat::RandomString}\n", nil))
	if err := s.e.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
	if info, err := s.e.Show(t.Context()); err == nil {
		if info.State() != "DELETE_COMPLETE" || len(info.Resources) != 0 {
			t.Errorf("after delete: %s %+v", info.State(), info.Resources)
		}
	} else if !errors.Is(err, orchestrate.ErrNotFound) {
		t.Errorf("show after delete: %v", err)
	}
	if err := s.e.Delete(t.Context()); !errors.Is(err, orchestrate.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	own := checkOrder(t, s.name, s.eventsAfterDelete())
	if len(own) > 0 && own[len(own)-1].State() != "DELETE_COMPLETE" {
		t.Errorf("last stack event %s", own[len(own)-1].State())
	}
}

// eventsAfterDelete lists the events of a deleted stack; an engine may
// have none left.
func (s *suite) eventsAfterDelete() []orchestrate.Event {
	evs, err := s.e.Events(s.t.Context(), nil)
	if err != nil && !errors.Is(err, orchestrate.ErrNotFound) {
		s.t.Fatalf("events after delete: %v", err)
	}
	return evs
}

func testSignalWaitCondition(t *testing.T, s *suite) {
	in := tmpl(`resources:
  handle: {type: OS::Heat::WaitConditionHandle}
  wait:
    type: OS::Heat::WaitCondition
    properties: {handle: {get_resource: handle}, count: 1, timeout: 600}
outputs:
  data: {value: {get_attr: [wait, data]}}
`, nil)
	done := async(func() error { return s.e.Create(t.Context(), s.name, in) })
	s.waitFor("the wait condition to wait", func(info *orchestrate.StackInfo, res map[string]orchestrate.ResourceInfo) bool {
		return rstate(res["handle"]) == "CREATE_COMPLETE" && rstate(res["wait"]) == "CREATE_IN_PROGRESS"
	})
	if err := s.e.Signal(t.Context(), "handle", map[string]any{"status": "SUCCESS", "reason": "ready", "data": "hello", "id": "1"}); err != nil {
		t.Fatalf("signal: %v", err)
	}
	if err := done.wait(); err != nil {
		t.Fatalf("create: %v", err)
	}
	if out := s.outputs(); out["data"] != `{"1": "hello"}` {
		t.Errorf("data = %#v", out["data"])
	}
	if err := s.e.Signal(t.Context(), "nothing-here", map[string]any{}); !errors.Is(err, orchestrate.ErrSignal) {
		t.Errorf("signal to a missing resource: %v, want ErrSignal", err)
	}
}

func testSignalDeployment(t *testing.T, s *suite) {
	in := tmpl(`resources:
  server:
    type: OS::Heat::DeployedServer
    properties: {software_config_transport: POLL_SERVER_HEAT}
  cfg:
    type: OS::Heat::SoftwareConfig
    properties:
      group: script
      config: "echo hello"
      outputs: [{name: result}]
  dep:
    type: OS::Heat::SoftwareDeployment
    properties:
      config: {get_resource: cfg}
      server: {get_resource: server}
      signal_transport: HEAT_SIGNAL
outputs:
  result: {value: {get_attr: [dep, result]}}
  stdout: {value: {get_attr: [dep, deploy_stdout]}}
`, nil)
	done := async(func() error { return s.e.Create(t.Context(), s.name, in) })
	s.waitFor("the deployment to wait for its signal", func(info *orchestrate.StackInfo, res map[string]orchestrate.ResourceInfo) bool {
		return rstate(res["dep"]) == "CREATE_IN_PROGRESS"
	})
	if err := s.signalUntil(done, "dep", map[string]any{"deploy_stdout": "hello", "deploy_stderr": "",
		"deploy_status_code": 0, "result": "done"}); err != nil {
		t.Fatalf("create: %v", err)
	}
	if out := s.outputs(); out["result"] != "done" || out["stdout"] != "hello" {
		t.Errorf("outputs %v", out)
	}
}

func testCheckStack(t *testing.T, s *suite) {
	sa, ok := s.e.(orchestrate.StackActioner)
	if !ok {
		t.Skip("the engine does not implement orchestrate.StackActioner")
	}
	s.create(tmpl("resources:\n  a: {type: OS::Heat::TestResource}\n  b: {type: OS::Heat::None}\n", nil))
	if err := sa.CheckStack(t.Context()); err != nil {
		t.Fatalf("check: %v", err)
	}
	s.state("CHECK_COMPLETE")
	// A second check is a new action that completes too.
	if err := sa.CheckStack(t.Context()); err != nil {
		t.Fatalf("second check: %v", err)
	}
	s.state("CHECK_COMPLETE")
	own := checkOrder(t, s.name, s.events())
	n := 0
	for _, ev := range own {
		if ev.State() == "CHECK_COMPLETE" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d CHECK_COMPLETE stack events, want 2: %v", n, own)
	}
}

const cancelTemplate = `parameters:
  v: {type: string}
  secs: {type: number, default: 0}
resources:
  a:
    type: OS::Heat::TestResource
    properties: {value: {get_param: v}, action_wait_secs: {update: {get_param: secs}}}
outputs:
  a: {value: {get_attr: [a, output]}}
`

func testCancelUpdate(t *testing.T, s *suite) {
	sa, ok := s.e.(orchestrate.StackActioner)
	if !ok {
		t.Skip("the engine does not implement orchestrate.StackActioner")
	}
	s.create(tmpl(cancelTemplate, map[string]string{"v": "v1"}))
	if err := sa.CancelUpdate(t.Context()); !errors.Is(err, orchestrate.ErrNoUpdate) {
		t.Errorf("cancel with no update running: %v, want ErrNoUpdate", err)
	}
	done := async(func() error {
		return s.e.Update(t.Context(), tmpl(cancelTemplate, map[string]string{"v": "v2", "secs": "600"}))
	})
	s.waitFor("the update to run", func(info *orchestrate.StackInfo, res map[string]orchestrate.ResourceInfo) bool {
		return rstate(res["a"]) == "UPDATE_IN_PROGRESS"
	})
	if err := sa.CancelUpdate(t.Context()); err != nil {
		t.Fatalf("cancel update: %v", err)
	}
	if err := done.wait(); !errors.Is(err, orchestrate.ErrFailed) {
		t.Errorf("the cancelled update returned %v, want ErrFailed", err)
	}
	s.state("ROLLBACK_COMPLETE")
	if out := s.outputs(); out["a"] != "v1" {
		t.Errorf("a = %v after the cancelled update, want v1", out["a"])
	}
}

func testMarkUnhealthy(t *testing.T, s *suite) {
	rm, ok := s.e.(orchestrate.ResourceMarker)
	if !ok {
		t.Skip("the engine does not implement orchestrate.ResourceMarker")
	}
	in := tmpl(groupTemplate, map[string]string{"count": "3"})
	s.create(in)
	_, res := s.show()
	ids := map[string]string{}
	for _, m := range []string{"0", "1", "2"} {
		ids[m] = res["group/"+m].PhysicalID
	}
	if err := rm.MarkUnhealthy(t.Context(), "group/nope", "x"); !errors.Is(err, orchestrate.ErrNotFound) {
		t.Errorf("mark an unknown resource: %v, want ErrNotFound", err)
	}
	const reason = "node lost"
	if err := rm.MarkUnhealthy(t.Context(), "group/1", reason); err != nil {
		t.Fatalf("mark group/1 unhealthy: %v", err)
	}
	info, res := s.show()
	if r := res["group/1"]; rstate(r) != "CHECK_FAILED" || r.Reason != reason {
		t.Errorf("group/1 after the mark: %s (%q), want CHECK_FAILED (%q)", rstate(r), r.Reason, reason)
	}
	if info.State() != "CREATE_COMPLETE" {
		t.Errorf("the mark changed the stack to %s", info.State())
	}
	for _, m := range []string{"0", "2"} {
		if r := res["group/"+m]; rstate(r) != "CREATE_COMPLETE" {
			t.Errorf("group/%s after marking group/1: %s", m, rstate(r))
		}
	}
	evs := s.events()
	if i := last(evs, "group/1", "CHECK_FAILED"); i < 0 || evs[i].StatusReason != reason {
		t.Errorf("no CHECK_FAILED event of group/1 with the reason: %v", evs)
	}
	// The same input again: the marked member alone is replaced.
	s.update(in)
	_, res = s.show()
	if got := members(res, "group"); !slices.Equal(got, []string{"0", "1", "2"}) {
		t.Fatalf("members after the update: %v", got)
	}
	if r := res["group/1"]; r.PhysicalID == ids["1"] || r.PhysicalID == "" || r.Status != orchestrate.StatusComplete {
		t.Errorf("group/1 after the update: %+v, want replaced (was %s) and COMPLETE", r, ids["1"])
	}
	for _, m := range []string{"0", "2"} {
		if res["group/"+m].PhysicalID != ids[m] {
			t.Errorf("the update replaced group/%s", m)
		}
	}
	evs = s.events()
	upd := evs[last(evs, s.name, "UPDATE_IN_PROGRESS"):]
	for _, ev := range upd {
		if m := base(ev.ResourceName); m == "group/0" || m == "group/2" {
			t.Errorf("the update touched %s: %s", m, ev.State())
		}
	}
	if out := s.outputs(); fmt.Sprint(out["values"]) != "[member-0 member-1 member-2]" {
		t.Errorf("values %v", out["values"])
	}
	// Without a reason, Heat's.
	if err := rm.MarkUnhealthy(t.Context(), "group/0", ""); err != nil {
		t.Fatalf("mark group/0 unhealthy: %v", err)
	}
	_, res = s.show()
	if r := res["group/0"]; rstate(r) != "CHECK_FAILED" || r.Reason != "state changed by resource_mark_unhealthy api" {
		t.Errorf("group/0 marked without a reason: %s (%q), want CHECK_FAILED with Heat's reason", rstate(r), r.Reason)
	}
}

func testClearParams(t *testing.T, s *suite) {
	s.create(tmpl(patchTemplate, map[string]string{"p1": "x", "p2": "y"}))
	full := tmpl(patchTemplate, map[string]string{"p2": "y"})
	full.ClearParams = []string{"p1"}
	if err := s.e.Update(t.Context(), full); !errors.Is(err, orchestrate.ErrInvalid) {
		t.Errorf("ClearParams on an update with a template: %v, want ErrInvalid", err)
	}
	if err := s.e.Update(t.Context(), &orchestrate.Input{ClearParams: []string{"p1"}, Params: map[string]string{"p2": "z"}}); err != nil {
		t.Fatalf("PATCH update clearing p1: %v", err)
	}
	s.state("UPDATE_COMPLETE")
	if out := s.outputs(); out["p1"] != "d1" || out["p2"] != "z" || out["a"] != "d1-z" {
		t.Errorf("after PATCH {clear p1, p2: z}: %v, want p1 d1 (its default), p2 z, a d1-z", out)
	}
	// A parameter both cleared and given takes the value given.
	if err := s.e.Update(t.Context(), &orchestrate.Input{ClearParams: []string{"p1"}, Params: map[string]string{"p1": "w"}}); err != nil {
		t.Fatalf("PATCH update clearing and setting p1: %v", err)
	}
	if out := s.outputs(); out["p1"] != "w" || out["p2"] != "z" {
		t.Errorf("after PATCH {clear p1, p1: w}: %v, want p1 w, p2 z", out)
	}
}
