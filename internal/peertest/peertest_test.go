package peertest

import (
	"testing"
)

func TestLookFindsShell(t *testing.T) {
	got := Look(t, "sh")
	if len(got) != 1 || got[0] == "" {
		t.Fatalf("Look(sh) = %v", got)
	}
}
