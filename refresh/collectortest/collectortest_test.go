package collectortest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/refresh"
	"github.com/tripleo-go/tripleo/refresh/collectortest"
)

// memory is a minimal third-party collector: metadata held in memory.
type memory struct {
	mu     sync.Mutex
	md     *config.Object
	broken bool
}

func (m *memory) Name() string { return "memory" }

func (m *memory) Collect(ctx context.Context) ([]refresh.Output, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.broken {
		return nil, &refresh.SourceError{Collector: "memory", Err: fmt.Errorf("source down")}
	}
	return []refresh.Output{{Name: "memory", Content: config.Clone(m.md)}}, nil
}

// The suite passes on a correct collector.
func TestMemoryCollector(t *testing.T) {
	m := &memory{md: config.NewObject()}
	collectortest.Run(t, harness(m))
}

func harness(m *memory) collectortest.Harness {
	return collectortest.Harness{
		New: func(*testing.T) refresh.Collector { return m },
		Set: func(_ *testing.T, md *config.Object) {
			m.mu.Lock()
			m.md, m.broken = md, false
			m.mu.Unlock()
		},
		Break: func(*testing.T) { m.mu.Lock(); m.broken = true; m.mu.Unlock() },
	}
}

// A collector author runs the suite from a test of their own package.
func ExampleRun() {
	m := &memory{md: config.NewObject()}
	h := harness(m)
	// In a test: collectortest.Run(t, h)
	_ = h
	fmt.Println("ok")
	// Output: ok
}
