package orchestrate

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestCheckStack(t *testing.T) {
	h := newHarness(t)
	e := h.open(nil)
	ctx := t.Context()
	if err := e.CheckStack(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("check without a stack: %v", err)
	}
	in := input(t, "stack.yaml", nil)
	if err := e.Create(ctx, "overcloud", in); err != nil {
		t.Fatal(err)
	}
	before, _ := e.Outputs(ctx)
	if err := e.CheckStack(ctx); err != nil {
		t.Fatal(err)
	}
	info, _ := e.Show(ctx)
	if info.State() != "CHECK_COMPLETE" {
		t.Fatalf("after check: %s (%s)", info.State(), info.Reason)
	}
	for _, r := range info.Resources {
		if r.Action != ActionCheck || r.Status != StatusComplete {
			t.Errorf("%s after check: %s_%s", r.Name, r.Action, r.Status)
		}
	}
	evs, _ := e.Events(ctx, &EventQuery{Resource: "servers/1"})
	if n := len(evs); n < 2 || evs[n-2].State() != "CHECK_IN_PROGRESS" || evs[n-1].State() != "CHECK_COMPLETE" {
		t.Errorf("events of servers/1: %+v", evs)
	}
	after, _ := e.Outputs(ctx)
	if after["first"] != before["first"] || after["probe"] != before["probe"] {
		t.Errorf("outputs changed by a check: %v -> %v", before, after)
	}
	if p, err := e.Plan(ctx, "", in); err != nil || p.Summary()[ChangeNoop] != len(p.Changes) {
		t.Errorf("plan after check: %v\n%v", err, p)
	}

	// A server deleted behind the engine's back fails the check; every
	// other resource is still checked, and an update replaces it.
	var key string
	e.j.mu.Lock()
	key = e.j.st.Resources["servers/1"].Key
	e.j.mu.Unlock()
	if err := h.cloud.Type().Delete(ctx, &Request{Key: key}); err != nil {
		t.Fatal(err)
	}
	if err := e.CheckStack(ctx); !errors.Is(err, ErrFailed) {
		t.Fatalf("check of a stack with a lost server: %v", err)
	}
	info, _ = e.Show(ctx)
	for _, r := range info.Resources {
		want := StatusComplete
		if r.Name == "servers/1" {
			want = StatusFailed
		}
		if r.Action != ActionCheck || r.Status != want {
			t.Errorf("%s: %s_%s (%s)", r.Name, r.Action, r.Status, r.Reason)
		}
	}
	if info.State() != "CHECK_FAILED" {
		t.Errorf("stack: %s", info.State())
	}
	if err := e.Update(ctx, in); err != nil {
		t.Fatal(err)
	}
	if h.cloud.Servers() != 3 {
		t.Errorf("%d servers after the repairing update", h.cloud.Servers())
	}
}

const cancelTemplate = `heat_template_version: rocky
parameters:
  value: {type: string, default: v1}
  wait: {type: number, default: 0}
resources:
  slow:
    type: OS::Heat::TestResource
    properties: {value: {get_param: value}, action_wait_secs: {update: {get_param: wait}}}
  other:
    type: OS::Heat::TestResource
    properties: {value: {get_param: value}}
outputs:
  slow: {value: {get_attr: [slow, output]}}
`

func TestCancelUpdate(t *testing.T) {
	h := newHarness(t)
	started := make(chan struct{}, 1)
	e, err := Open(t.Context(), filepath.Join(h.dir, "c.state"), &Options{Types: h.types, DisableRollback: true,
		Events: func(ev Event) {
			if ev.ResourceName == "slow" && ev.State() == "UPDATE_IN_PROGRESS" {
				started <- struct{}{}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := t.Context()
	mk := func(p map[string]string) *Input {
		return &Input{TemplateFile: "c.yaml", Template: cancelTemplate, Params: p}
	}
	if err := e.CancelUpdate(ctx); !errors.Is(err, ErrNoUpdate) {
		t.Fatalf("cancel with nothing running: %v", err)
	}
	if err := e.Create(ctx, "c", mk(nil)); err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() { res <- e.Update(ctx, mk(map[string]string{"value": "v2", "wait": "3600"})) }()
	<-started
	if err := e.CancelUpdate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-res; !errors.Is(err, ErrFailed) {
		t.Fatalf("cancelled update returned %v", err)
	}
	info, _ := e.Show(ctx)
	out, _ := e.Outputs(ctx)
	if info.State() != "ROLLBACK_COMPLETE" || out["slow"] != "v1" {
		t.Errorf("after cancel: %s (%s), %v", info.State(), info.Reason, out)
	}
	evs, _ := e.Events(ctx, &EventQuery{Resource: "c"})
	var states []string
	for _, ev := range evs {
		states = append(states, ev.State()+" "+ev.StatusReason)
	}
	want := []string{"CREATE_IN_PROGRESS Stack CREATE started", "CREATE_COMPLETE Stack CREATE completed successfully",
		"UPDATE_IN_PROGRESS Stack UPDATE started", "UPDATE_FAILED Operation cancelled",
		"ROLLBACK_IN_PROGRESS Stack ROLLBACK started", "ROLLBACK_COMPLETE Stack ROLLBACK completed successfully"}
	if len(states) != len(want) {
		t.Fatalf("stack events %q", states)
	}
	for i := range want {
		if states[i] != want[i] {
			t.Errorf("stack event %d: %q, want %q", i, states[i], want[i])
		}
	}
	if err := e.CancelUpdate(ctx); !errors.Is(err, ErrNoUpdate) {
		t.Errorf("cancel after the rollback: %v", err)
	}
}
