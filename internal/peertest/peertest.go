package peertest

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the environment variable that turns a missing peer from a
// skip into a failure.
const RequireEnv = "TRIPLEO_REQUIRE_PEERS"

// Required reports whether missing peers must fail tests (RequireEnv=1).
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Look returns the absolute path of each named program, in order. When one
// is not on PATH the test is skipped, or failed when Required reports true.
func Look(tb testing.TB, names ...string) []string {
	tb.Helper()
	paths := make([]string, 0, len(names))
	for _, name := range names {
		p, err := exec.LookPath(name)
		if err != nil {
			if Required() {
				tb.Fatalf("peer %q is required (%s=1) but not found: %v", name, RequireEnv, err)
			}
			tb.Skipf("peer %q not installed (install it, or run .ci/run): %v", name, err)
		}
		paths = append(paths, p)
	}
	return paths
}
