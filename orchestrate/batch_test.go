package orchestrate

import (
	"fmt"
	"testing"
)

// The ten (T, C, B, M) vectors computed by running Heat's own function
// (shared/peers/heat.md §1.7).
func TestBatchesMatchHeat(t *testing.T) {
	rep := func(b Batch, n int) []Batch {
		out := make([]Batch, n)
		for i := range out {
			out[i] = b
		}
		return out
	}
	cases := []struct {
		t, c, b, m int
		want       []Batch
	}{
		{10, 10, 1, 0, rep(Batch{10, 1}, 10)},
		{10, 10, 2, 0, rep(Batch{10, 2}, 5)},
		{10, 10, 3, 8, []Batch{{11, 3}, {11, 3}, {11, 3}, {10, 2}}},
		{10, 10, 5, 9, []Batch{{14, 5}, {14, 5}, {13, 4}, {10, 0}}},
		{6, 6, 4, 6, []Batch{{10, 4}, {10, 4}, {8, 2}, {6, 0}}},
		{4, 4, 2, 3, []Batch{{5, 2}, {5, 2}, {4, 1}}},
		{5, 3, 2, 0, []Batch{{5, 2}, {5, 2}, {5, 1}}},
		{3, 5, 1, 0, rep(Batch{3, 1}, 3)},
		{100, 0, 30, 0, []Batch{{30, 30}, {60, 30}, {90, 30}, {100, 10}}},
		{0, 5, 1, 0, []Batch{{0, 0}}},
	}
	for _, c := range cases {
		got := Batches(c.t, c.c, c.b, c.m)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("Batches(T=%d, C=%d, B=%d, M=%d) = %v, want %v", c.t, c.c, c.b, c.m, got, c.want)
		}
	}
}
