package enginetest_test

import (
	"fmt"

	"github.com/tripleo-go/tripleo/orchestrate/enginetest"
)

// The cases every engine runs; a Harness skips one by name when the
// engine lacks the feature, and says why.
func ExampleCases() {
	for _, c := range enginetest.Cases() {
		fmt.Println(c)
	}
	// Output:
	// CreateParamsOutputs
	// Events
	// Errors
	// PlanApply
	// UpdateInPlaceVsReplace
	// PatchUpdate
	// ClearParams
	// GroupScale
	// RollingUpdate
	// AutoRollback
	// Rollback
	// Delete
	// SignalWaitCondition
	// SignalDeployment
	// CheckStack
	// CancelUpdate
	// MarkUnhealthy
}
