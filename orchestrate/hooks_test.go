package orchestrate

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

const hookTemplate = `heat_template_version: rocky
parameters:
  flavor: {type: string, default: small}
resources:
  server: {type: Sim::Server, properties: {image: img, flavor: {get_param: flavor}}}
  label: {type: OS::Heat::Value, properties: {value: {get_attr: [server, name]}}}
`

const hookEnv = `resource_registry:
  resources:
    server: {hooks: [pre-create, pre-update, pre-delete]}
`

// pausing opens an engine that sends show(event) of every hook pause on
// the returned channel.
func pausing(t *testing.T, h *harness, show func(Event) string) (*Embedded, chan string) {
	t.Helper()
	paused := make(chan string, 8)
	e, err := Open(t.Context(), filepath.Join(h.dir, "h.state"), &Options{Types: h.types,
		Events: func(ev Event) {
			if strings.Contains(ev.StatusReason, "paused until Hook") {
				paused <- show(ev)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, paused
}

// TestRegistryHooks: a resource named by a resource_registry hook pauses
// with Heat's reason until the hook is cleared by ClearHook or by a signal
// {"unset_hook": HOOK}.
func TestRegistryHooks(t *testing.T) {
	h := newHarness(t)
	e, paused := pausing(t, h, func(ev Event) string { return ev.ResourceName + " " + ev.State() + " " + ev.StatusReason })
	ctx := t.Context()
	in := func(flavor string) *Input {
		return &Input{TemplateFile: "h.yaml", Template: hookTemplate, Params: map[string]string{"flavor": flavor},
			Environments: []File{{Name: "hooks.yaml", Data: hookEnv}}}
	}
	done := make(chan error, 1)

	go func() { done <- e.Create(ctx, "h", in("small")) }()
	if got := <-paused; got != "server INIT_COMPLETE CREATE paused until Hook pre-create is cleared" {
		t.Errorf("pre-create: %q", got)
	}
	if p := e.PausedAt(); len(p) != 1 || p["server"] != "pre-create" || h.cloud.Servers() != 0 {
		t.Errorf("paused at %v with %d servers", p, h.cloud.Servers())
	}
	if err := e.ClearHook(ctx, "server", "pre-update"); !errors.Is(err, ErrNotFound) {
		t.Errorf("clearing a hook that is not set: %v", err)
	}
	if err := e.ClearHook(ctx, "server", "pre-launch"); !errors.Is(err, ErrInvalid) {
		t.Errorf("clearing an unknown hook: %v", err)
	}
	if err := e.Signal(ctx, "server", map[string]any{"unset_hook": "pre-create"}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	go func() { done <- e.Update(ctx, in("large")) }()
	if got := <-paused; got != "server CREATE_COMPLETE UPDATE paused until Hook pre-update is cleared" {
		t.Errorf("pre-update: %q", got)
	}
	if err := e.ClearHook(ctx, "server", "pre-update"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	go func() { done <- e.Delete(ctx) }()
	if got := <-paused; got != "server UPDATE_COMPLETE DELETE paused until Hook pre-delete is cleared" {
		t.Errorf("pre-delete: %q", got)
	}
	if h.cloud.Servers() != 1 {
		t.Errorf("the server went before its hook was cleared")
	}
	if err := e.ClearHook(ctx, "server", "pre-delete"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(e.PausedAt()) != 0 || h.cloud.Servers() != 0 {
		t.Errorf("after delete: paused %v, %d servers", e.PausedAt(), h.cloud.Servers())
	}
	evs, _ := e.Events(ctx, &EventQuery{Resource: "server"})
	var got []string
	for _, ev := range evs[:4] {
		got = append(got, ev.State()+" "+ev.StatusReason)
	}
	want := []string{"INIT_COMPLETE CREATE paused until Hook pre-create is cleared", "INIT_COMPLETE Hook pre-create is cleared",
		"CREATE_IN_PROGRESS state changed", "CREATE_COMPLETE state changed"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("server's first events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestParentHooks: a group pauses before its members, and a member named
// by a nested pattern pauses on its own.
func TestParentHooks(t *testing.T) {
	h := newHarness(t)
	e, paused := pausing(t, h, func(ev Event) string { return ev.ResourceName })
	ctx := t.Context()
	done := make(chan error, 1)
	go func() {
		done <- e.Create(ctx, "p", &Input{TemplateFile: "p.yaml", Template: `heat_template_version: rocky
resources:
  group:
    type: OS::Heat::ResourceGroup
    properties: {count: 2, resource_def: {type: Sim::Server, properties: {image: img}}}
`, Environments: []File{{Name: "env.yaml", Data: `resource_registry:
  resources:
    group:
      hooks: pre-create
      "1": {hooks: pre-create}
`}}})
	}()
	if got := <-paused; got != "group" || h.cloud.Servers() != 0 {
		t.Fatalf("first pause: %s with %d servers", got, h.cloud.Servers())
	}
	if err := e.ClearHook(ctx, "group", "pre-create"); err != nil {
		t.Fatal(err)
	}
	if got := <-paused; got != "group/1" {
		t.Fatalf("second pause: %s", got)
	}
	if err := e.ClearHook(ctx, "group/1", "pre-create"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h.cloud.Servers() != 2 {
		t.Errorf("%d servers", h.cloud.Servers())
	}
}
