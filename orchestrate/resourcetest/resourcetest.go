package resourcetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/tripleo-go/tripleo/orchestrate"
)

// Config describes the plug-in under test.
type Config struct {
	// Type is the type name passed in requests.
	Type string
	// Properties are valid properties for Create (before defaults).
	Properties map[string]any
	// Update, when set, are properties for an in-place update: each key
	// changed must be update_allowed in the schema.
	Update map[string]any
	// Stateless types derive everything from the key and so find any key
	// in Check; the not-found cases are skipped for them.
	Stateless bool
}

var seq struct {
	sync.Mutex
	n int
}

func newKey(t *testing.T) string {
	seq.Lock()
	defer seq.Unlock()
	seq.n++
	return fmt.Sprintf("resourcetest/%s/%d", t.Name(), seq.n)
}

func request(t *testing.T, rt orchestrate.ResourceType, cfg Config, key string) *orchestrate.Request {
	t.Helper()
	props, err := rt.Schema().Validate(maps.Clone(cfg.Properties))
	if err != nil {
		t.Fatalf("Config.Properties do not match the schema: %v", err)
	}
	return &orchestrate.Request{Key: key, Stack: "conformance", StackID: "conformance-id",
		Name: "r", Type: cfg.Type, Properties: props}
}

// Run runs the conformance cases as subtests of t.
func Run(t *testing.T, rt orchestrate.ResourceType, cfg Config) {
	t.Run("Schema", func(t *testing.T) {
		s := rt.Schema()
		if s == nil {
			t.Fatal("Schema() is nil")
		}
		for name, p := range s.Properties {
			if p == nil {
				t.Errorf("property %s has a nil schema", name)
				continue
			}
			if p.Required && p.Default != nil {
				t.Errorf("property %s is required and has a default", name)
			}
			if p.Default != nil {
				if _, err := s.Validate(map[string]any{name: p.Default}); err != nil && !p.Required {
					// Other required properties may be missing; only a
					// complaint about this one is a failure.
					if errors.Is(err, orchestrate.ErrInvalid) && containsName(err.Error(), name) {
						t.Errorf("the default of %s fails its own schema: %v", name, err)
					}
				}
			}
		}
		if _, err := s.Validate(maps.Clone(cfg.Properties)); err != nil {
			t.Errorf("Config.Properties rejected: %v", err)
		}
	})
	t.Run("CreateIsIdempotent", func(t *testing.T) {
		ctx := t.Context()
		req := request(t, rt, cfg, newKey(t))
		a, err := rt.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if a == nil || a.PhysicalID == "" {
			t.Fatalf("Create returned no physical id: %+v", a)
		}
		b, err := rt.Create(ctx, req)
		if err != nil {
			t.Fatalf("second Create with the same key: %v", err)
		}
		if a.PhysicalID != b.PhysicalID {
			t.Errorf("second Create with the same key made %s, first made %s", b.PhysicalID, a.PhysicalID)
		}
		cleanup(t, rt, req, a)
	})
	t.Run("CheckFindsCreated", func(t *testing.T) {
		ctx := t.Context()
		req := request(t, rt, cfg, newKey(t))
		a, err := rt.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		c, err := rt.Check(ctx, req)
		if err != nil {
			t.Fatalf("Check after Create: %v", err)
		}
		if c.PhysicalID != a.PhysicalID {
			t.Errorf("Check found %s, Create made %s", c.PhysicalID, a.PhysicalID)
		}
		if !equalAttrs(a.Attributes, c.Attributes) {
			t.Errorf("Check attributes %v differ from Create's %v", c.Attributes, a.Attributes)
		}
		cleanup(t, rt, req, a)
	})
	t.Run("CheckUnknownKey", func(t *testing.T) {
		if cfg.Stateless {
			t.Skip("stateless type")
		}
		_, err := rt.Check(t.Context(), request(t, rt, cfg, newKey(t)))
		if !errors.Is(err, orchestrate.ErrNotFound) {
			t.Errorf("Check of a key never created = %v, want ErrNotFound", err)
		}
	})
	t.Run("DeleteIsIdempotent", func(t *testing.T) {
		ctx := t.Context()
		req := request(t, rt, cfg, newKey(t))
		a, err := rt.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		req.Prior = a
		if err := rt.Delete(ctx, req); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if err := rt.Delete(ctx, req); err != nil {
			t.Errorf("second Delete: %v", err)
		}
		if cfg.Stateless {
			return
		}
		if _, err := rt.Check(ctx, req); !errors.Is(err, orchestrate.ErrNotFound) {
			t.Errorf("Check after Delete = %v, want ErrNotFound", err)
		}
	})
	t.Run("UpdateInPlace", func(t *testing.T) {
		if cfg.Update == nil {
			t.Skip("no Config.Update")
		}
		ctx := t.Context()
		req := request(t, rt, cfg, newKey(t))
		a, err := rt.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		s := rt.Schema()
		for k := range cfg.Update {
			if p := s.Properties[k]; p != nil && !p.UpdateAllowed {
				t.Fatalf("Config.Update changes %s, which is not update_allowed", k)
			}
		}
		merged := maps.Clone(cfg.Properties)
		maps.Copy(merged, cfg.Update)
		up := request(t, rt, Config{Properties: merged, Type: cfg.Type}, req.Key)
		up.Prior, up.PriorProperties = a, req.Properties
		b, err := rt.Update(ctx, up)
		if errors.Is(err, orchestrate.ErrReplace) {
			t.Skip("the type replaces on this change")
		}
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		if b == nil || b.PhysicalID != a.PhysicalID {
			t.Errorf("in-place Update changed the physical id: %+v → %+v", a, b)
		}
		cleanup(t, rt, up, b)
	})
	t.Run("ConcurrentKeys", func(t *testing.T) {
		ctx := t.Context()
		var wg sync.WaitGroup
		ids := make([]string, 8)
		errs := make([]error, 8)
		reqs := make([]*orchestrate.Request, 8)
		for i := range reqs {
			reqs[i] = request(t, rt, cfg, newKey(t))
		}
		for i := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, err := rt.Create(ctx, reqs[i])
				if err == nil {
					ids[i] = st.PhysicalID
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		seen := map[string]bool{}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("concurrent Create %d: %v", i, err)
			}
			if seen[ids[i]] {
				t.Errorf("two keys got the same physical id %s", ids[i])
			}
			seen[ids[i]] = true
			cleanup(t, rt, reqs[i], &orchestrate.State{PhysicalID: ids[i]})
		}
	})
	t.Run("SnapshotThenDelete", func(t *testing.T) {
		sn, ok := rt.(orchestrate.Snapshotter)
		if !ok {
			t.Skip("not a Snapshotter (no Snapshot deletion policy)")
		}
		ctx := t.Context()
		req := request(t, rt, cfg, newKey(t))
		a, err := rt.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		req.Prior = a
		// The engine may call Snapshot again after a crash.
		for i := range 2 {
			if err := sn.Snapshot(ctx, req); err != nil {
				t.Fatalf("Snapshot %d: %v", i+1, err)
			}
		}
		if err := rt.Delete(ctx, req); err != nil {
			t.Fatalf("Delete after Snapshot: %v", err)
		}
		if err := sn.Snapshot(ctx, req); err != nil {
			t.Errorf("Snapshot of a deleted resource (a crash after Delete): %v", err)
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		req := request(t, rt, cfg, newKey(t))
		st, err := rt.Create(ctx, req)
		if err == nil {
			// Instant types may finish regardless; they must still be
			// consistent.
			cleanup(t, rt, req, st)
		}
	})
}

func cleanup(t *testing.T, rt orchestrate.ResourceType, req *orchestrate.Request, st *orchestrate.State) {
	t.Helper()
	r := *req
	r.Prior = st
	if err := rt.Delete(context.WithoutCancel(t.Context()), &r); err != nil {
		t.Errorf("Delete during cleanup: %v", err)
	}
}

func equalAttrs(a, b map[string]any) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func containsName(s, name string) bool {
	return name != "" && strings.Contains(s, "property "+name)
}
