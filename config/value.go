package config

// JSON values in this package are the Go values below, as os-apply-config's
// Python json.loads produces them, so that rendering and merging behave the
// same:
//
//	JSON null    → nil
//	true/false   → bool
//	string       → string
//	integer      → Int (exact, any size)
//	other number → float64 (1E400 → +Inf; NaN, Infinity, -Infinity accepted)
//	array        → []any
//	object       → *Object (keys in insertion order)

// Int is a JSON integer of any size, kept exactly as its canonical decimal
// text (no leading zeros or plus sign, "-0" is "0"), as Python keeps ints.
type Int string

// Object is a JSON object whose keys keep their insertion order, as a
// Python dict does. The zero value is an empty object ready to use. It is not
// safe for concurrent mutation.
type Object struct {
	keys []string
	vals map[string]any
}

// NewObject returns an empty Object.
func NewObject() *Object { return &Object{} }

// Len returns the number of keys.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.keys)
}

// Keys returns the keys in insertion order. The slice must not be modified.
func (o *Object) Keys() []string {
	if o == nil {
		return nil
	}
	return o.keys
}

// Get returns the value stored under key and whether the key is present.
func (o *Object) Get(key string) (any, bool) {
	if o == nil {
		return nil, false
	}
	v, ok := o.vals[key]
	return v, ok
}

// Set stores v under key. An existing key keeps its position; a new key is
// appended, as assignment to a Python dict does.
func (o *Object) Set(key string, v any) {
	if o.vals == nil {
		o.vals = make(map[string]any)
	}
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
}
