package orchestrate

import (
	"errors"
	"testing"
)

// TestMarkUnhealthy: a mark is durable (it survives a reopen, event
// included), leaves the stack's state alone, and the next update with the
// same input replaces the marked server alone; a marked group marks its
// members, which the update all replaces.
func TestMarkUnhealthy(t *testing.T) {
	h := newHarness(t)
	e := h.open(nil)
	ctx := t.Context()
	if err := e.MarkUnhealthy(ctx, "servers/0", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("mark without a stack: %v, want ErrNotFound", err)
	}
	if err := e.Create(ctx, "overcloud", input(t, "stack.yaml", nil)); err != nil {
		t.Fatal(err)
	}
	ids := func(e *Embedded) map[string]string {
		info, err := e.Show(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, r := range info.Resources {
			m[r.Name] = r.PhysicalID
		}
		return m
	}
	before := ids(e)
	if err := e.MarkUnhealthy(ctx, "servers/7", "gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("mark an unknown resource: %v, want ErrNotFound", err)
	}
	if err := e.MarkUnhealthy(ctx, "servers/1", ""); err != nil {
		t.Fatal(err)
	}
	e.Close()
	e = h.open(nil)
	info, err := e.Show(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State() != "CREATE_COMPLETE" {
		t.Errorf("stack %s after the mark", info.State())
	}
	for _, r := range info.Resources {
		want := "CREATE_COMPLETE"
		if r.Name == "servers/1" {
			want = "CHECK_FAILED"
			if r.Reason != defaultUnhealthyReason {
				t.Errorf("reason %q, want Heat's %q", r.Reason, defaultUnhealthyReason)
			}
		}
		if got := string(r.Action) + "_" + string(r.Status); got != want {
			t.Errorf("%s is %s after reopening, want %s", r.Name, got, want)
		}
	}
	evs, err := e.Events(ctx, &EventQuery{Resource: "servers/1"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(evs); n == 0 || evs[n-1].State() != "CHECK_FAILED" || evs[n-1].PhysicalResourceID != before["servers/1"] {
		t.Errorf("events of servers/1: %+v", evs)
	}
	if err := e.Update(ctx, nil); err != nil {
		t.Fatal(err)
	}
	after := ids(e)
	for name, id := range before {
		if changed := after[name] != id; changed != (name == "servers/1") {
			t.Errorf("%s: %s → %s", name, id, after[name])
		}
	}
	if calls, _ := h.cloud.CreateCalls(); len(calls) != 4 {
		t.Errorf("%d servers created, want 4", len(calls))
	}
	if n := h.cloud.Servers(); n != 3 {
		t.Errorf("%d servers exist, want 3 (the marked one deleted)", n)
	}
	// A group: every member is marked and replaced.
	if err := e.MarkUnhealthy(ctx, "servers", "all of them"); err != nil {
		t.Fatal(err)
	}
	info, _ = e.Show(ctx)
	failed := 0
	for _, r := range info.Resources {
		if r.Action == ActionCheck && r.Status == StatusFailed && r.Reason == "all of them" {
			failed++
		}
	}
	if failed != 4 {
		t.Errorf("%d resources CHECK_FAILED after marking the group, want 4: %+v", failed, info.Resources)
	}
	if err := e.Update(ctx, nil); err != nil {
		t.Fatal(err)
	}
	final := ids(e)
	for _, m := range []string{"servers/0", "servers/1", "servers/2"} {
		if final[m] == after[m] {
			t.Errorf("%s kept its server after the group was marked", m)
		}
	}
	info, _ = e.Show(ctx)
	for _, r := range info.Resources {
		if r.Status != StatusComplete {
			t.Errorf("%s is %s_%s after the update", r.Name, r.Action, r.Status)
		}
	}
}
