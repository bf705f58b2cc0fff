package heat_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/drivers/heat"
	"github.com/tripleo-go/tripleo/orchestrate"
)

// benchInput is a small stack: a group of three TestResources and a
// RandomString.
var benchInput = &orchestrate.Input{TemplateFile: "bench.yaml", Template: `heat_template_version: 2016-10-14
resources:
  group:
    type: OS::Heat::ResourceGroup
    properties:
      count: 3
      resource_def: {type: OS::Heat::TestResource, properties: {value: "%index%"}}
  rnd: {type: OS::Heat::RandomString}
`}

// BenchmarkCreateDelete creates and deletes the same small stack on the
// embedded engine and on the real Heat, side by side.
func BenchmarkCreateDelete(b *testing.B) {
	b.Run("embedded", func(b *testing.B) {
		dir := b.TempDir()
		n := 0
		for b.Loop() {
			n++
			e, err := orchestrate.Open(b.Context(), filepath.Join(dir, fmt.Sprint(n)), nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := e.Create(b.Context(), "bench", benchInput); err != nil {
				b.Fatal(err)
			}
			if err := e.Delete(b.Context()); err != nil {
				b.Fatal(err)
			}
			e.Close()
		}
	})
	b.Run("heat", func(b *testing.B) {
		c, err := heat.NoAuthClient(needHeat(b))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for b.Loop() {
			n++
			e, err := heat.Open(b.Context(), c, "", &heat.EngineOptions{PollInterval: 50 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			if err := e.Create(b.Context(), fmt.Sprintf("bench-%d-%d", time.Now().UnixNano()%1e9, n), benchInput); err != nil {
				b.Fatal(err)
			}
			if err := e.Delete(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
