package orchestrate

import (
	"errors"
	"testing"
)

// TestPatchUpdate: an Update without a template keeps the deployed
// template, environments and files and merges the parameters (Heat's
// PATCH, `stack update --existing`); Plan plans the same merge.
func TestPatchUpdate(t *testing.T) {
	h := newHarness(t)
	e := h.open(nil)
	ctx := t.Context()
	if err := e.Update(ctx, &Input{Params: map[string]string{"count": "1"}}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("patch without a stack: %v", err)
	}
	if err := e.Create(ctx, "overcloud", input(t, "stack.yaml", map[string]string{"image": "v1", "count": "2"})); err != nil {
		t.Fatal(err)
	}
	p, err := e.Plan(ctx, "", &Input{Params: map[string]string{"count": "4"}})
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Summary(); s[ChangeCreate] != 2 || s[ChangeReplace] != 0 {
		t.Errorf("patch plan (image kept, count 4):\n%s", p)
	}
	if p.Input.Params["image"] != "v1" || p.Input.Params["count"] != "4" || len(p.Input.Environments) != 1 {
		t.Errorf("plan input = %+v", p.Input)
	}
	if err := e.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	// A nil Input re-applies the deployed one: nothing changes.
	if err := e.Update(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.Update(ctx, &Input{Params: map[string]string{"with_extra": "true"}}); err != nil {
		t.Fatal(err)
	}
	out, err := e.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if names := out["names"].([]any); len(names) != 4 || out["extra"] == nil {
		t.Errorf("after patches: %v", out)
	}
	calls, _ := h.cloud.CreateCalls()
	if len(calls) != 4 {
		t.Errorf("%d servers created, want 4 (the image was kept)", len(calls))
	}
	e.j.mu.Lock()
	in := e.j.st.Input
	e.j.mu.Unlock()
	want := map[string]string{"image": "v1", "count": "4", "with_extra": "true"}
	if len(in.Params) != len(want) || in.Params["image"] != "v1" || in.Params["count"] != "4" || in.Params["with_extra"] != "true" {
		t.Errorf("deployed params = %v, want %v", in.Params, want)
	}
}

func TestPatchedMergesEnvironmentsAndFiles(t *testing.T) {
	deployed := &Input{TemplateFile: "t.yaml", Template: "x", Environments: []File{{Name: "a.yaml"}},
		Files: map[string]string{"f": "1", "g": "1"}, Params: map[string]string{"p": "1"}}
	got := Patched(deployed, &Input{Environments: []File{{Name: "b.yaml"}}, Files: map[string]string{"g": "2"},
		Params: map[string]string{"q": "2"}})
	if got.Template != "x" || len(got.Environments) != 2 || got.Environments[1].Name != "b.yaml" ||
		got.Files["f"] != "1" || got.Files["g"] != "2" || got.Params["p"] != "1" || got.Params["q"] != "2" {
		t.Errorf("Patched = %+v", got)
	}
	if deployed.Files["g"] != "1" || len(deployed.Params) != 1 || len(deployed.Environments) != 1 {
		t.Errorf("Patched changed the deployed input: %+v", deployed)
	}
	full := &Input{Template: "y"}
	if Patched(deployed, full) != full {
		t.Error("a full input must be kept as is")
	}
}

// TestPatchClearParams: a PATCH update's ClearParams drop deployed
// parameters (they take their defaults), Params given too win, the
// deployed input keeps no ClearParams, and ClearParams with a template is
// refused.
func TestPatchClearParams(t *testing.T) {
	deployed := &Input{Template: "t", Params: map[string]string{"a": "1", "b": "2", "c": "3"}}
	got := Patched(deployed, &Input{ClearParams: []string{"a", "b", "nope"}, Params: map[string]string{"b": "20"}})
	if len(got.Params) != 2 || got.Params["b"] != "20" || got.Params["c"] != "3" || got.ClearParams != nil {
		t.Errorf("Patched = %+v, want params {b: 20, c: 3} and no ClearParams", got)
	}
	if deployed.Params["a"] != "1" {
		t.Errorf("Patched changed the deployed input: %v", deployed.Params)
	}

	h := newHarness(t)
	e := h.open(nil)
	ctx := t.Context()
	withClear := input(t, "stack.yaml", map[string]string{"count": "1"})
	withClear.ClearParams = []string{"count"}
	if err := e.Create(ctx, "overcloud", withClear); !errors.Is(err, ErrInvalid) {
		t.Errorf("create with ClearParams: %v, want ErrInvalid", err)
	}
	if err := e.Create(ctx, "overcloud", input(t, "stack.yaml", map[string]string{"image": "v1", "count": "1"})); err != nil {
		t.Fatal(err)
	}
	if err := e.Update(ctx, withClear); !errors.Is(err, ErrInvalid) {
		t.Errorf("update with a template and ClearParams: %v, want ErrInvalid", err)
	}
	p, err := e.Plan(ctx, "", &Input{ClearParams: []string{"count"}})
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Summary(); s[ChangeCreate] != 2 {
		t.Errorf("plan clearing count (back to 3 servers):\n%s", p)
	}
	if err := e.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	out, err := e.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if names := out["names"].([]any); len(names) != 3 {
		t.Errorf("after clearing count: %d servers, want the default 3", len(names))
	}
	e.j.mu.Lock()
	in := e.j.st.Input
	e.j.mu.Unlock()
	if _, ok := in.Params["count"]; ok || in.Params["image"] != "v1" || in.ClearParams != nil {
		t.Errorf("deployed input after clearing count: %+v", in)
	}
}
