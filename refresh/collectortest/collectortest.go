package collectortest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/refresh"
)

// Harness connects the suite to one collector and its source.
type Harness struct {
	// New returns a fresh collector reading the source.
	New func(t *testing.T) refresh.Collector
	// Set makes the source hold md. The suite only uses objects whose
	// leaves are strings (so that EC2-style trees can represent them).
	Set func(t *testing.T, md *config.Object)
	// Break, when set, makes the source fail (a 500, bad JSON...) until
	// the next Set.
	Break func(t *testing.T)
}

func object(kv ...any) *config.Object {
	o := config.NewObject()
	for i := 0; i+1 < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1])
	}
	return o
}

// contains reports whether one of outs holds content equal to md.
func contains(outs []refresh.Output, md *config.Object) bool {
	for _, o := range outs {
		if refresh.Equal(o.Content, md) {
			return true
		}
	}
	return false
}

// Run runs the conformance cases as subtests.
func Run(t *testing.T, h Harness) {
	first := object("hostname", "node-1", "placement", object("zone", "nova"))
	second := object("hostname", "node-1", "placement", object("zone", "other"))

	t.Run("Name", func(t *testing.T) {
		if h.New(t).Name() == "" {
			t.Fatal("Name() is empty")
		}
	})
	t.Run("CollectReturnsSourceContent", func(t *testing.T) {
		h.Set(t, first)
		c := h.New(t)
		outs, err := c.Collect(t.Context())
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		if !contains(outs, first) {
			t.Fatalf("Collect returned %d outputs, none holding the source's metadata", len(outs))
		}
		for _, o := range outs {
			if o.Name == "" {
				t.Errorf("output with an empty name")
			}
		}
	})
	t.Run("CollectIsRepeatable", func(t *testing.T) {
		h.Set(t, first)
		c := h.New(t)
		for i := range 3 {
			outs, err := c.Collect(t.Context())
			if err != nil || !contains(outs, first) {
				t.Fatalf("Collect #%d: %v, content found: %v", i+1, err, err == nil && contains(outs, first))
			}
		}
	})
	t.Run("CollectSeesChange", func(t *testing.T) {
		h.Set(t, first)
		c := h.New(t)
		if _, err := c.Collect(t.Context()); err != nil {
			t.Fatal(err)
		}
		h.Set(t, second)
		outs, err := c.Collect(t.Context())
		if err != nil || !contains(outs, second) {
			t.Fatalf("after a change: %v, new content found: %v", err, err == nil && contains(outs, second))
		}
	})
	t.Run("FailureIsUnavailableAndRecovers", func(t *testing.T) {
		if h.Break == nil {
			t.Skip("the harness cannot break the source")
		}
		h.Set(t, first)
		c := h.New(t)
		if _, err := c.Collect(t.Context()); err != nil {
			t.Fatal(err)
		}
		h.Break(t)
		if _, err := c.Collect(t.Context()); !errors.Is(err, refresh.ErrUnavailable) {
			t.Fatalf("Collect from a broken source: %v, want an error matching ErrUnavailable", err)
		}
		h.Set(t, second)
		outs, err := c.Collect(t.Context())
		if err != nil || !contains(outs, second) {
			t.Fatalf("after recovery: %v", err)
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		h.Set(t, first)
		c := h.New(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := c.Collect(ctx); err == nil {
			// A purely local source may finish before looking at ctx; it
			// must then still be correct, which the other cases check.
			t.Log("Collect with a cancelled context succeeded")
		}
	})
	t.Run("WatcherWakesOnChange", func(t *testing.T) {
		h.Set(t, first)
		c := h.New(t)
		w, ok := c.(refresh.Watcher)
		if !ok {
			t.Skip("not a refresh.Watcher")
		}
		if _, err := c.Collect(t.Context()); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- w.Wait(t.Context()) }()
		h.Set(t, second)
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Wait: %v", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("Wait did not return within a minute of a change")
		}
		outs, err := c.Collect(t.Context())
		if err != nil || !contains(outs, second) {
			t.Fatalf("Collect after Wait: %v", err)
		}
	})
}
