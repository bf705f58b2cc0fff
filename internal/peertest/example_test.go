package peertest_test

import (
	"fmt"

	"github.com/tripleo-go/tripleo/internal/peertest"
)

// A differential test calls peertest.Look(t, "os-apply-config") with its
// own *testing.T and gets the tool's absolute path. A missing tool skips
// the test, or fails it when RequireEnv is 1, as .ci/run sets it.
func ExampleLook() {
	fmt.Printf("set %s=1 to turn a missing peer into a failure\n", peertest.RequireEnv)
	// Output: set TRIPLEO_REQUIRE_PEERS=1 to turn a missing peer into a failure
}
