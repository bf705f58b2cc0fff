package refresh

import (
	"math"
	"math/big"

	"github.com/tripleo-go/tripleo/config"
)

// Equal reports whether two JSON values (as package config decodes them)
// are equal as Python's == says, which is how os-collect-config decides
// that metadata changed: objects are equal whatever their key order, 1,
// 1.0 and true are equal, and NaN equals nothing. Comparing the parsed
// values rather than the text was the fix for LP#1320262 (spurious
// changes).
func Equal(a, b any) bool {
	switch x := a.(type) {
	case *config.Object:
		y, ok := b.(*config.Object)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for _, k := range x.Keys() {
			xv, _ := x.Get(k)
			yv, ok := y.Get(k)
			if !ok || !Equal(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case string:
		y, ok := b.(string)
		return ok && x == y
	case nil:
		return b == nil
	}
	xf, xok := number(a)
	yf, yok := number(b)
	return xok && yok && xf != nil && yf != nil && xf.Cmp(yf) == 0
}

// number converts a JSON number or bool to an exact big.Float (nil for
// NaN, which equals nothing).
func number(v any) (*big.Float, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return big.NewFloat(1), true
		}
		return big.NewFloat(0), true
	case config.Int:
		i, ok := new(big.Int).SetString(string(x), 10)
		if !ok {
			return nil, false
		}
		return new(big.Float).SetInt(i), true
	case float64:
		if math.IsNaN(x) {
			return nil, true
		}
		return big.NewFloat(x), true
	case int:
		return big.NewFloat(float64(x)), true
	case int64:
		return new(big.Float).SetInt64(x), true
	}
	return nil, false
}
