package enginetest_test

import (
	"path/filepath"
	"testing"

	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/orchestrate/enginetest"
)

// TestEmbedded runs the suite on the embedded engine, one state file per
// case.
func TestEmbedded(t *testing.T) {
	enginetest.Run(t, enginetest.Harness{
		New: func(t *testing.T) orchestrate.Engine {
			e, err := orchestrate.Open(t.Context(), filepath.Join(t.TempDir(), "stack.state"), nil)
			if err != nil {
				t.Fatal(err)
			}
			return e
		},
	})
}
