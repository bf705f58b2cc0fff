package config

import "testing"

// TestDecodeJSONSmallObjectIndex: objects the decoder builds keep Object's
// small-object index in step with their map, duplicate keys included, so
// Get answers the same through either.
func TestDecodeJSONSmallObjectIndex(t *testing.T) {
	v, err := DecodeJSON([]byte(`{"a": 1, "b": {"x": "y"}, "a": 3, "c": [1], "d": null}`))
	if err != nil {
		t.Fatal(err)
	}
	o := v.(*Object)
	if len(o.small) != len(o.keys) {
		t.Fatalf("small index has %d values for %d keys", len(o.small), len(o.keys))
	}
	for i, k := range o.keys {
		if !sameJSON(o.small[i], o.vals[k]) {
			t.Errorf("key %q: small %v, map %v", k, o.small[i], o.vals[k])
		}
	}
	if got, _ := o.Get("a"); got != Int("3") {
		t.Errorf("Get(a) = %v, want the last value 3", got)
	}
	big := []byte(`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8}`)
	v, err = DecodeJSON(big)
	if err != nil {
		t.Fatal(err)
	}
	if o := v.(*Object); o.small != nil {
		t.Errorf("an object of %d keys has a small index", len(o.keys))
	}
	if got, _ := v.(*Object).Get("k8"); got != Int("8") {
		t.Errorf("Get(k8) = %v", got)
	}
}

// TestCloneSmallObjectIndex: a clone answers Get through its own small
// index, in step with its own map, not the original's.
func TestCloneSmallObjectIndex(t *testing.T) {
	o := NewObject()
	o.Set("a", Int("1"))
	o.Set("b", NewObject())
	c := Clone(o).(*Object)
	if len(c.small) != len(c.keys) {
		t.Fatalf("clone's small index has %d values for %d keys", len(c.small), len(c.keys))
	}
	o.Set("a", Int("2"))
	c.Set("a", Int("3"))
	if got, _ := c.Get("a"); got != Int("3") {
		t.Errorf("clone Get(a) = %v, want 3", got)
	}
	if got, _ := o.Get("a"); got != Int("2") {
		t.Errorf("original Get(a) = %v, want 2", got)
	}
	if b1, _ := o.Get("b"); b1 == c.small[1] {
		t.Error("clone shares the original's nested object")
	}
}
