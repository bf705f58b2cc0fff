package main

import "testing"

// The README's first command must keep working: run the whole example
// (agent, metadata change, phases, signals) as a test.
func TestRun(t *testing.T) {
	if err := run(); err != nil {
		t.Fatal(err)
	}
}
