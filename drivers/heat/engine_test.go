package heat_test

import (
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
