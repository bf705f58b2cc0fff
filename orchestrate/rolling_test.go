package orchestrate

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The rolling update observed on a real Heat (shared/peers/heat.md §1.7):
// six TestResources with update_replace, max_batch_size 2, min_in_service
// 4, value v1 → v2: batches {4,5}, then {3,2}, then {0,1}; every member is
// replaced and each old member is deleted within its batch.
func TestRollingUpdateLikeHeat(t *testing.T) {
	h := newHarness(t)
	e := h.open(&Options{Parallelism: 8})
	tmpl := `heat_template_version: 2016-10-14
parameters:
  value: {type: string}
resources:
  group:
    type: OS::Heat::ResourceGroup
    update_policy:
      rolling_update: {max_batch_size: 2, min_in_service: 4}
    properties:
      count: 6
      resource_def:
        type: OS::Heat::TestResource
        properties: {value: {get_param: value}, update_replace: true}
`
	mk := func(v string) *Input {
		return &Input{TemplateFile: "t.yaml", Template: tmpl, Params: map[string]string{"value": v}}
	}
	if err := e.Create(t.Context(), "s", mk("v1")); err != nil {
		t.Fatal(err)
	}
	before, _ := e.Show(t.Context())
	h.mu.Lock()
	h.events = nil
	h.mu.Unlock()
	if err := e.Update(t.Context(), mk("v2")); err != nil {
		t.Fatal(err)
	}
	ev := h.states()
	first := func(s string) int { return slices.Index(ev, s) }
	batches := [][]string{{"4", "5"}, {"2", "3"}, {"0", "1"}}
	for i, b := range batches {
		for _, m := range b {
			created, deleted := first("group/"+m+" CREATE_COMPLETE"), first("group/"+m+"@1 DELETE_COMPLETE")
			if created < 0 || deleted < created {
				t.Errorf("member %s not replaced within its batch: %v", m, ev)
			}
			if i+1 < len(batches) {
				for _, next := range batches[i+1] {
					if first("group/"+next+" CREATE_IN_PROGRESS") < deleted {
						t.Errorf("member %s started before batch %v finished: %v", next, b, ev)
					}
				}
			}
		}
	}
	after, _ := e.Show(t.Context())
	ids := map[string]string{}
	for _, r := range before.Resources {
		ids[r.Name] = r.PhysicalID
	}
	n := 0
	for _, r := range after.Resources {
		if strings.HasPrefix(r.Name, "group/") {
			n++
			if ids[r.Name] == r.PhysicalID {
				t.Errorf("%s kept its physical id", r.Name)
			}
		}
	}
	if n != 6 || len(after.Resources) != 7 {
		t.Errorf("after the update: %+v", after.Resources)
	}
}

// Scale-out touches only the new members: no event for the others.
func TestScaleOutTouchesOnlyNewMembers(t *testing.T) {
	h := newHarness(t)
	e := h.open(nil)
	if err := e.Create(t.Context(), "s", &Input{TemplateFile: "g.yaml", Template: groupTemplate(20)}); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.events = nil
	h.mu.Unlock()
	if err := e.Update(t.Context(), &Input{TemplateFile: "g.yaml", Template: groupTemplate(22)}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range h.states() {
		name := strings.Fields(ev)[0]
		if name != "s" && name != "group" && name != "group/20" && name != "group/21" {
			t.Errorf("scale-out touched %s", ev)
		}
	}
}

func TestStackTimeout(t *testing.T) {
	h := newHarness(t)
	block := &blockType{release: make(chan struct{})}
	h.types.Register("Test::Block", block)
	// The create times out (b blocks until then); the rollback gets a new
	// timeout of the same length to delete b, which returns at once. Long
	// enough that the rollback's journal writes fit under load (1 ms did
	// not, with four busy loops beside the race-enabled suite).
	e, err := Open(t.Context(), filepath.Join(h.dir, "t.state"), &Options{Types: h.types, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	err = e.Create(t.Context(), "t", &Input{TemplateFile: "t.yaml", Template: "heat_template_version: 2016-10-14\nresources:\n  b: {type: Test::Block}\n"})
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("stack timeout: %v", err)
	}
	// The stack timed out; the rollback (a new timeout) deleted b.
	if info, _ := e.Show(t.Context()); info.State() != "ROLLBACK_COMPLETE" || len(info.Resources) != 0 {
		t.Errorf("after the timeout: %s %+v", info.State(), info.Resources)
	}
}

// A rolling update that also scales in removes the unwanted members (the
// highest indices) before the first batch starts.
func TestRollingUpdateScaleInRemovesFirst(t *testing.T) {
	h := newHarness(t)
	e := h.open(&Options{Parallelism: 8})
	tmpl := `heat_template_version: 2016-10-14
parameters:
  value: {type: string}
  count: {type: number}
resources:
  group:
    type: OS::Heat::ResourceGroup
    update_policy:
      rolling_update: {max_batch_size: 1}
    properties:
      count: {get_param: count}
      resource_def:
        type: OS::Heat::TestResource
        properties: {value: {get_param: value}, update_replace: true}
`
	mk := func(v, n string) *Input {
		return &Input{TemplateFile: "t.yaml", Template: tmpl, Params: map[string]string{"value": v, "count": n}}
	}
	if err := e.Create(t.Context(), "s", mk("v1", "4")); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.events = nil
	h.mu.Unlock()
	if err := e.Update(t.Context(), mk("v2", "2")); err != nil {
		t.Fatal(err)
	}
	ev := h.states()
	firstStart := slices.Index(ev, "group/1 CREATE_IN_PROGRESS")
	for _, gone := range []string{"group/2 DELETE_COMPLETE", "group/3 DELETE_COMPLETE"} {
		if i := slices.Index(ev, gone); i < 0 || i > firstStart {
			t.Errorf("%s not before the first batch: %v", gone, ev)
		}
	}
	if info, _ := e.Show(t.Context()); len(info.Resources) != 3 {
		t.Errorf("resources: %+v", info.Resources)
	}
}

// An update with the same input changes nothing: only the stack's events.
func TestNoopUpdateTouchesNothing(t *testing.T) {
	h := newHarness(t)
	e := h.open(nil)
	in := input(t, "stack.yaml", nil)
	if err := e.Create(t.Context(), "s", in); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.events = nil
	h.mu.Unlock()
	if err := e.Update(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	if ev := h.states(); len(ev) != 2 || ev[0] != "s UPDATE_IN_PROGRESS" || ev[1] != "s UPDATE_COMPLETE" {
		t.Errorf("no-op update events: %v", ev)
	}
}
