package hot

import (
	"strings"
	"testing"
)

func TestRegistryHooks(t *testing.T) {
	env, err := ParseEnvironment("e.yaml", []byte(`resource_registry:
  resources:
    server: {hooks: pre-create, "OS::X": x.yaml}
    "*_node": {hooks: [pre-update, pre-delete]}
    group:
      "*":
        UpdateDeployment: {hooks: [pre-update]}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		res, hook string
		want      bool
	}{
		{"server", "pre-create", true}, {"server", "pre-update", false}, {"db_node", "pre-delete", true},
		{"group/3/UpdateDeployment", "pre-update", true}, {"group/3/Other", "pre-update", false},
		{"group/UpdateDeployment", "pre-update", false}, {"x/server", "pre-create", false},
	} {
		if got := env.Registry.Hooked(c.res, c.hook); got != c.want {
			t.Errorf("Hooked(%s, %s) = %v", c.res, c.hook, got)
		}
	}
	if got, _ := env.Registry.Resolve("server", "OS::X"); got != "x.yaml" {
		t.Errorf("scoped mapping beside hooks: %s", got)
	}
	m := Merge(env, &Environment{Registry: Registry{Hooks: map[string][]string{"server": {"post-create"}}}})
	if m.Registry.Hooked("server", "pre-create") || !m.Registry.Hooked("server", "post-create") {
		t.Errorf("a later environment replaces a pattern's hooks: %v", m.Registry.Hooks)
	}
	for doc, want := range map[string]string{
		"resource_registry: {resources: {s: {hooks: pre-launch}}}":          `resource_registry.resources.s.hooks: invalid: invalid hook type "pre-launch"`,
		"resource_registry: {resources: {s: {hooks: {a: b}}}}":              "must be a hook name or a list of them",
		"resource_registry: {resources: {g: {inner: {\"OS::X\": x.yaml}}}}": "type mappings for the resources of a nested stack are not supported",
	} {
		if _, err := ParseEnvironment("e.yaml", []byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", doc, err)
		}
	}
}
