package tripleo_test

import (
	"fmt"
	"testing"

	"github.com/tripleo-go/tripleo"
	"github.com/tripleo-go/tripleo/orchestrate"
)

// BenchmarkServerCreateDelete claims, deploys (sim:// BMC, no image),
// powers on, undeploys and releases one bare-metal server per iteration,
// on a pool of 8 nodes in a file inventory.
func BenchmarkServerCreateDelete(b *testing.B) {
	c, _, _ := newCloud(b, 8, nil)
	rt := c.Servers()
	props, err := rt.Schema().Validate(map[string]any{"flavor": "compute"})
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		req := &orchestrate.Request{Key: fmt.Sprint("bench/", i), Stack: "s", Name: "server", Type: tripleo.TypeServer, Properties: props}
		st, err := rt.Create(b.Context(), req)
		if err != nil {
			b.Fatal(err)
		}
		req.Prior = st
		if err := rt.Delete(b.Context(), req); err != nil {
			b.Fatal(err)
		}
	}
}
