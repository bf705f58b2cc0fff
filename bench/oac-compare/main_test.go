package main

import (
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	w, c := median([]sample{{3, 30}, {1, 10}, {2, 50}})
	if w != 2 || c != 30 {
		t.Errorf("median = %v, %v; want 2, 30", w, c)
	}
	if r := ratio(2*time.Second, time.Second); r != 2 {
		t.Errorf("ratio = %v", r)
	}
}

// TestRun drives the whole comparison with /bin/true standing in for both
// tools: inputs are generated, every scenario line is printed.
func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run("/bin/true", "/bin/true", 1, t.TempDir(), "", &out); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"big-meta-200", "small-1000", "key-lookup-1mb", "startup", "speed-up"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
}
