package config

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestObjectSmallGet checks Object's scan of small objects (which
// mustache look-ups rely on) against a plain map through random Sets,
// overwrites, growth past smallObject and clones, and that JSON with
// duplicate keys keeps the last value.
func TestObjectSmallGet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 500 {
		o := &Object{}
		if round%3 == 0 {
			o = NewObject()
		}
		want := map[string]any{}
		var order []string
		check := func(o *Object) {
			t.Helper()
			if !slices.Equal(o.Keys(), order) || o.Len() != len(order) {
				t.Fatalf("round %d: keys %q, want %q", round, o.Keys(), order)
			}
			for k := range 14 {
				key := fmt.Sprint("k", k)
				got, ok := o.Get(key)
				w, wok := want[key]
				if ok != wok || got != w {
					t.Fatalf("round %d: Get(%q) = %v, %v; want %v, %v", round, key, got, ok, w, wok)
				}
			}
		}
		distinct := 1 + rng.IntN(13)
		for i := range rng.IntN(30) {
			key := fmt.Sprint("k", rng.IntN(distinct))
			if _, ok := want[key]; !ok {
				order = append(order, key)
			}
			want[key] = i
			o.Set(key, i)
			check(o)
			if rng.IntN(8) == 0 {
				o = Clone(o).(*Object)
				check(o)
			}
		}
	}
	v, err := DecodeJSON([]byte(`{"a": 1, "b": 2, "a": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := v.(*Object).Get("a"); got != Int("3") {
		t.Fatalf(`Get("a") = %v, want 3`, got)
	}
	var nilObj *Object
	if _, ok := nilObj.Get("a"); ok {
		t.Fatal("nil object has a key")
	}
}
