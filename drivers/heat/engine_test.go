package heat_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/drivers/heat"
	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/orchestrate/enginetest"
)

// TestEngineConformance runs orchestrate/enginetest on the real Heat.
func TestEngineConformance(t *testing.T) {
	url := needHeat(t)
	enginetest.Run(t, enginetest.Harness{
		New: func(t *testing.T) orchestrate.Engine {
			c, err := heat.NoAuthClient(url)
			if err != nil {
				t.Fatal(err)
			}
			e, err := heat.Open(t.Context(), c, "", &heat.EngineOptions{PollInterval: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			return e
		},
		Quirks:   enginetest.Quirks{RollbackAsUpdate: true, ReplacedDeletedAside: true},
		Wait:     time.Minute,
		Parallel: true,
	})
}

// TestOpenExisting: a second engine opened by the stack's name drives the
// stack the first created; rollback of a stack it found UPDATE_FAILED is
// refused (Heat does not expose the template before the failed update),
// while the engine that saw the create rolls back to it.
func TestOpenExisting(t *testing.T) {
	url := needHeat(t)
	c, err := heat.NoAuthClient(url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	opts := &heat.EngineOptions{PollInterval: 100 * time.Millisecond, DisableRollback: true}
	a, err := heat.Open(ctx, c, "", opts)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("test-open-%d", time.Now().UnixNano()%1e9)
	tmpl := func(v string, fail bool) *orchestrate.Input {
		return &orchestrate.Input{TemplateFile: "t.yaml", Template: fmt.Sprintf(`heat_template_version: 2016-10-14
resources:
  a: {type: OS::Heat::TestResource, properties: {value: %s, fail: %v}}
outputs:
  a: {value: {get_attr: [a, output]}}
`, v, fail)}
	}
	if err := a.Create(ctx, name, tmpl("v1", false)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Delete(context.Background()) })
	if err := a.Update(ctx, tmpl("v2", true)); !errors.Is(err, orchestrate.ErrFailed) {
		t.Fatalf("failing update: %v", err)
	}
	b, err := heat.Open(ctx, c, name, opts)
	if err != nil {
		t.Fatal(err)
	}
	info, err := b.Show(ctx)
	if err != nil || info.State() != "UPDATE_FAILED" || info.Name != name {
		t.Fatalf("second engine: %+v %v", info, err)
	}
	if err := b.Rollback(ctx); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("rollback by an engine that saw nothing complete: %v, want ErrUnsupported", err)
	}
	if err := a.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := b.Outputs(ctx)
	if err != nil || out["a"] != "v1" {
		t.Errorf("after the rollback: %v %v", out, err)
	}
	// Now COMPLETE: the second engine can roll back (to the same).
	if err := b.Rollback(ctx); err != nil {
		t.Errorf("rollback of a complete stack: %v", err)
	}
}
