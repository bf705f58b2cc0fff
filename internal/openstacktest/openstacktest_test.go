package openstacktest

import (
	"slices"
	"testing"
)

func TestFreePorts(t *testing.T) {
	ps, err := FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 || len(slices.Compact(slices.Sorted(slices.Values(ps)))) != 3 {
		t.Errorf("ports %v, want 3 distinct", ps)
	}
}

func TestScriptPathMissing(t *testing.T) {
	if _, err := ScriptPath("no-such-script.sh"); err == nil {
		t.Error("a missing script was found")
	}
}
