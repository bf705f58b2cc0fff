package resourcetest_test

import (
	"testing"

	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/orchestrate/resourcetest"
)

func builtin(t *testing.T, name string) orchestrate.ResourceType {
	t.Helper()
	rt, err := orchestrate.NewTypes().Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func TestBuiltins(t *testing.T) {
	t.Run("None", func(t *testing.T) {
		resourcetest.Run(t, builtin(t, orchestrate.TypeNone), resourcetest.Config{
			Type: orchestrate.TypeNone, Properties: map[string]any{"anything": 1}, Stateless: true})
	})
	t.Run("Value", func(t *testing.T) {
		resourcetest.Run(t, builtin(t, orchestrate.TypeValue), resourcetest.Config{
			Type: orchestrate.TypeValue, Properties: map[string]any{"value": "v1"},
			Update: map[string]any{"value": "v2"}, Stateless: true})
	})
	t.Run("RandomString", func(t *testing.T) {
		resourcetest.Run(t, builtin(t, orchestrate.TypeRandomString), resourcetest.Config{
			Type: orchestrate.TypeRandomString, Properties: map[string]any{"length": int64(16)}, Stateless: true})
	})
	t.Run("TestResource", func(t *testing.T) {
		resourcetest.Run(t, builtin(t, orchestrate.TypeTestResource), resourcetest.Config{
			Type: orchestrate.TypeTestResource, Properties: map[string]any{"value": "a"},
			Update: map[string]any{"value": "b"}, Stateless: true})
	})
	t.Run("SoftwareConfig", func(t *testing.T) {
		resourcetest.Run(t, builtin(t, orchestrate.TypeSoftwareConfig), resourcetest.Config{
			Type: orchestrate.TypeSoftwareConfig, Properties: map[string]any{"config": "#!/bin/sh\n"}, Stateless: true})
	})
	t.Run("StructuredConfig", func(t *testing.T) {
		resourcetest.Run(t, builtin(t, orchestrate.TypeStructuredConfig), resourcetest.Config{
			Type: orchestrate.TypeStructuredConfig, Properties: map[string]any{"config": map[string]any{"a": "b"}}, Stateless: true})
	})
	t.Run("MultipartMime", func(t *testing.T) {
		resourcetest.Run(t, builtin(t, orchestrate.TypeMultipartMime), resourcetest.Config{
			Type: orchestrate.TypeMultipartMime, Properties: map[string]any{"parts": []any{map[string]any{"config": "x"}}}, Stateless: true})
	})
	t.Run("DeployedServer", func(t *testing.T) {
		resourcetest.Run(t, builtin(t, orchestrate.TypeDeployedServer), resourcetest.Config{
			Type: orchestrate.TypeDeployedServer, Properties: map[string]any{"name": "n0"},
			Update: map[string]any{"name": "n1"}, Stateless: true})
	})
	t.Run("SimServer", func(t *testing.T) {
		for _, dir := range []string{"", t.TempDir()} {
			cloud, err := orchestrate.NewSimCloud(dir)
			if err != nil {
				t.Fatal(err)
			}
			resourcetest.Run(t, cloud.Type(), resourcetest.Config{
				Type: orchestrate.TypeSimServer, Properties: map[string]any{"image": "img", "flavor": "small"},
				Update: map[string]any{"flavor": "large"}})
		}
	})
}

// A plug-in author runs the suite from a test in their own package.
func ExampleRun() {
	// func TestMyType(t *testing.T) {
	// 	resourcetest.Run(t, mytype.New(), resourcetest.Config{
	// 		Type:       "My::Type",
	// 		Properties: map[string]any{"size": int64(1)},
	// 		Update:     map[string]any{"size": int64(2)},
	// 	})
	// }
	_ = resourcetest.Run
	// Output:
}
