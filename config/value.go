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
	// small holds the values in the order of keys while the object has
	// at most smallObject keys, all stored through Set, so that Get scans
	// a few keys rather than hashing (templates look up names in small
	// objects all the time). It is in use only while len(small) ==
	// len(keys) <= smallObject; vals always has every value. Code that
	// builds an Object from its fields (the decoder's objectOf, Clone)
	// fills small the same way; code that stores into vals directly must
	// keep small in step or leave it nil, which Get then never uses.
	small []any
}

// smallObject is the number of keys up to which Get scans keys.
const smallObject = 8

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
	if n := len(o.keys); n <= smallObject && len(o.small) == n {
		for i, k := range o.keys {
			if k == key {
				return o.small[i], true
			}
		}
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
	n := len(o.keys)
	inStep := n <= smallObject && len(o.small) == n
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
		if inStep && n < smallObject {
			o.small = append(o.small, v)
		} else {
			o.small = nil
		}
	} else if inStep {
		for i, k := range o.keys {
			if k == key {
				o.small[i] = v
				break
			}
		}
	}
	o.vals[key] = v
}
