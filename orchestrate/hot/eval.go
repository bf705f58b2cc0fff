package hot

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// ErrDeferred is returned by a Resolver for a value that is not known yet
// (a resource not created yet). The evaluator then keeps the call, with
// its arguments evaluated as far as possible, for a later pass.
var ErrDeferred = errors.New("not known yet")

// Resolver supplies what functions read from outside the expression.
type Resolver interface {
	// Param returns a parameter's (converted) value.
	Param(name string) (any, error)
	// Resource returns a resource's reference id (get_resource).
	Resource(name string) (any, error)
	// Attribute returns a resource attribute followed along path (map
	// keys, list indices; see WalkPath); attr "" means every attribute as
	// a map (get_attr with only a resource name).
	Attribute(resource, attr string, path []any) (any, error)
	// File returns the content of a file from the files map (get_file).
	File(name string) (string, error)
	// Facade returns metadata, deletion_policy or update_policy of the
	// resource standing for this (nested) stack (resource_facade).
	Facade(section string) (any, error)
	// Condition returns the value of a named condition.
	Condition(name string) (bool, error)
}

// Eval evaluates every function call in v, in the function set of ver. A
// Resolver answering ErrDeferred leaves the calls that need it in place
// (complete is then false); any other error is returned, naming the
// function.
func Eval(ver Version, v any, r Resolver) (out any, complete bool, err error) {
	e := &evaluator{ver: ver, r: r}
	return e.eval(v, 0)
}

// EvalCondition evaluates a condition expression (a boolean, a condition
// name or a condition function) to a boolean.
func EvalCondition(ver Version, v any, r Resolver) (bool, error) {
	e := &evaluator{ver: ver, r: r}
	return e.cond(v, 0)
}

type evaluator struct {
	ver Version
	r   Resolver
}

type fnError struct {
	fn  string
	err error
}

func (e *fnError) Error() string { return e.fn + ": " + e.err.Error() }
func (e *fnError) Unwrap() error { return e.err }

func fnErr(fn string, format string, args ...any) error {
	return &fnError{fn: fn, err: fmt.Errorf(format, args...)}
}

func (e *evaluator) eval(v any, depth int) (any, bool, error) {
	if depth > maxDepth {
		return nil, false, fmt.Errorf("%w: expression nested too deep", ErrInvalid)
	}
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		complete := true
		for i, el := range x {
			ev, ok, err := e.eval(el, depth+1)
			if err != nil {
				return nil, false, err
			}
			out[i] = ev
			complete = complete && ok
		}
		return out, complete, nil
	case map[string]any:
		if len(x) == 1 {
			for fn, args := range x {
				known, err := e.ver.checkFunction(fn)
				if err != nil {
					return nil, false, err
				}
				if known {
					return e.call(fn, args, depth)
				}
			}
		}
		out := make(map[string]any, len(x))
		complete := true
		for k, el := range x {
			ev, ok, err := e.eval(el, depth+1)
			if err != nil {
				return nil, false, err
			}
			out[k] = ev
			complete = complete && ok
		}
		return out, complete, nil
	}
	return v, true, nil
}

func (e *evaluator) call(fn string, args any, depth int) (any, bool, error) {
	keep := func(a any) (any, bool, error) { return map[string]any{fn: a}, false, nil }
	if fn == "if" {
		l, ok := args.([]any)
		if !ok || len(l) != 3 {
			return nil, false, fnErr(fn, "%w: takes [condition, value_if_true, value_if_false]", ErrInvalid)
		}
		c, err := e.cond(l[0], depth+1)
		if err != nil {
			return nil, false, fnErr(fn, "%w", err)
		}
		if c {
			return e.eval(l[1], depth+1)
		}
		return e.eval(l[2], depth+1)
	}
	a, complete, err := e.eval(args, depth+1)
	if err != nil {
		return nil, false, err
	}
	if !complete {
		return keep(a)
	}
	out, err := e.apply(fn, a)
	if errors.Is(err, ErrDeferred) {
		return keep(a)
	}
	if err != nil {
		var fe *fnError
		if errors.As(err, &fe) {
			return nil, false, err
		}
		return nil, false, &fnError{fn: fn, err: err}
	}
	return out, true, nil
}

func (e *evaluator) apply(fn string, a any) (any, error) {
	switch fn {
	case "get_param":
		return e.getParam(a)
	case "get_resource":
		name, ok := a.(string)
		if !ok {
			return nil, fmt.Errorf("%w: takes a resource name", ErrInvalid)
		}
		return e.r.Resource(name)
	case "get_attr":
		return e.getAttr(a)
	case "get_file":
		name, ok := a.(string)
		if !ok {
			return nil, fmt.Errorf("%w: takes a file name", ErrInvalid)
		}
		return e.r.File(name)
	case "resource_facade":
		s, ok := a.(string)
		if !ok || (s != "metadata" && s != "deletion_policy" && s != "update_policy") {
			return nil, fmt.Errorf("%w: takes one of metadata, deletion_policy, update_policy", ErrInvalid)
		}
		return e.r.Facade(s)
	case "str_replace", "str_replace_strict", "str_replace_vstrict":
		return strReplace(fn, a)
	case "list_join":
		return listJoin(e.ver, a)
	case "str_split":
		return strSplit(a)
	case "repeat":
		return repeat(a)
	case "digest":
		return digest(a)
	case "map_merge":
		l, ok := a.([]any)
		if !ok {
			return nil, fmt.Errorf("%w: takes a list of maps", ErrInvalid)
		}
		out := map[string]any{}
		for i, el := range l {
			if el == nil {
				continue
			}
			m, ok := el.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: item %d is a %s, not a map", ErrInvalid, i, typeName(el))
			}
			for k, v := range m {
				out[k] = v
			}
		}
		return out, nil
	case "map_replace":
		return mapReplace(a)
	case "list_concat", "list_concat_unique":
		l, ok := a.([]any)
		if !ok {
			return nil, fmt.Errorf("%w: takes a list of lists", ErrInvalid)
		}
		out := []any{}
		for i, el := range l {
			if el == nil {
				continue
			}
			sub, ok := el.([]any)
			if !ok {
				return nil, fmt.Errorf("%w: item %d is a %s, not a list", ErrInvalid, i, typeName(el))
			}
			for _, s := range sub {
				if fn == "list_concat_unique" && containsValue(out, s) {
					continue
				}
				out = append(out, s)
			}
		}
		return out, nil
	case "contains":
		l, ok := a.([]any)
		if !ok || len(l) != 2 {
			return nil, fmt.Errorf("%w: takes [value, sequence]", ErrInvalid)
		}
		return containsIn(l[0], l[1])
	case "filter":
		l, ok := a.([]any)
		if !ok || len(l) != 2 {
			return nil, fmt.Errorf("%w: takes [values_to_remove, list]", ErrInvalid)
		}
		rm, ok1 := l[0].([]any)
		seq, ok2 := l[1].([]any)
		if l[0] == nil {
			rm, ok1 = []any{nil}, true
		}
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: both arguments must be lists", ErrInvalid)
		}
		out := []any{}
		for _, s := range seq {
			if !containsValue(rm, s) {
				out = append(out, s)
			}
		}
		return out, nil
	case "make_url":
		return makeURL(a)
	}
	return nil, fmt.Errorf("%w: unknown function", ErrInvalid)
}

func (e *evaluator) getParam(a any) (any, error) {
	var name any = a
	var path []any
	if l, ok := a.([]any); ok {
		if len(l) == 0 {
			return nil, fmt.Errorf("%w: needs a parameter name", ErrInvalid)
		}
		name, path = l[0], l[1:]
	}
	s, ok := name.(string)
	if !ok {
		return nil, fmt.Errorf("%w: the parameter name must be a string", ErrInvalid)
	}
	v, err := e.r.Param(s)
	if err != nil {
		return nil, err
	}
	return WalkPath(v, path)
}

func (e *evaluator) getAttr(a any) (any, error) {
	l, ok := a.([]any)
	if !ok || len(l) < 1 {
		return nil, fmt.Errorf("%w: takes [resource, attribute, path...]", ErrInvalid)
	}
	res, ok := l[0].(string)
	if !ok {
		return nil, fmt.Errorf("%w: the resource name must be a string", ErrInvalid)
	}
	if len(l) == 1 {
		if !e.ver.AtLeast(V20151015) {
			return nil, fmt.Errorf("%w: get_attr needs an attribute name before 2015-10-15", ErrVersion)
		}
		return e.r.Attribute(res, "", nil)
	}
	attr, ok := l[1].(string)
	if !ok {
		return nil, fmt.Errorf("%w: the attribute name must be a string", ErrInvalid)
	}
	return e.r.Attribute(res, attr, l[2:])
}

// WalkPath follows map keys and list indices; a missing key or index gives
// null, as Heat does for attribute paths.
func WalkPath(v any, path []any) (any, error) {
	for _, p := range path {
		switch x := v.(type) {
		case nil:
			return nil, nil
		case map[string]any:
			k, ok := p.(string)
			if !ok {
				k = PyStr(p)
			}
			v = x[k]
		case []any:
			var i int64
			switch y := p.(type) {
			case int64:
				i = y
			case string:
				n, err := strconv.ParseInt(y, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("%w: list index %q is not an integer", ErrInvalid, y)
				}
				i = n
			default:
				return nil, fmt.Errorf("%w: list index must be an integer, got %s", ErrInvalid, typeName(p))
			}
			if i < 0 || i >= int64(len(x)) {
				return nil, nil
			}
			v = x[i]
		default:
			return nil, fmt.Errorf("%w: cannot follow path %v into a %s", ErrInvalid, PyStr(p), typeName(v))
		}
	}
	return v, nil
}

func (e *evaluator) cond(v any, depth int) (bool, error) {
	if depth > maxDepth {
		return false, fmt.Errorf("%w: condition nested too deep", ErrInvalid)
	}
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		return e.r.Condition(x)
	case map[string]any:
		if len(x) == 1 {
			for fn, args := range x {
				return e.condFn(fn, args, depth)
			}
		}
	}
	return false, fmt.Errorf("%w: invalid condition (%s)", ErrInvalid, typeName(v))
}

func (e *evaluator) condFn(fn string, args any, depth int) (bool, error) {
	since, ok := conditionSince[fn]
	if !ok {
		return false, fmt.Errorf("%w: %s is not a condition function", ErrInvalid, fn)
	}
	if !e.ver.AtLeast(since) {
		return false, fmt.Errorf("%w: %s needs heat_template_version %s or later", ErrVersion, fn, since)
	}
	switch fn {
	case "get_param":
		v, _, err := e.eval(map[string]any{fn: args}, depth+1)
		if err != nil {
			return false, err
		}
		b, ok := v.(bool)
		if !ok {
			return false, fnErr(fn, "%w: a condition parameter must be a boolean", ErrInvalid)
		}
		return b, nil
	case "not":
		b, err := e.cond(args, depth+1)
		return !b, err
	case "and", "or":
		l, ok := args.([]any)
		if !ok || len(l) < 2 {
			return false, fnErr(fn, "%w: takes a list of at least two conditions", ErrInvalid)
		}
		for _, c := range l {
			b, err := e.cond(c, depth+1)
			if err != nil {
				return false, err
			}
			if fn == "and" && !b {
				return false, nil
			}
			if fn == "or" && b {
				return true, nil
			}
		}
		return fn == "and", nil
	case "equals", "contains":
		l, ok := args.([]any)
		if !ok || len(l) != 2 {
			return false, fnErr(fn, "%w: takes a list of two values", ErrInvalid)
		}
		vals, complete, err := e.eval(l, depth+1)
		if err != nil {
			return false, err
		}
		if !complete {
			return false, fnErr(fn, "%w: a condition can only use parameters", ErrInvalid)
		}
		vl := vals.([]any)
		if fn == "equals" {
			return Equal(vl[0], vl[1]), nil
		}
		b, err := containsIn(vl[0], vl[1])
		if err != nil {
			return false, &fnError{fn: fn, err: err}
		}
		return b.(bool), nil
	}
	return false, fmt.Errorf("%w: unknown condition function %s", ErrInvalid, fn)
}

func containsValue(l []any, v any) bool {
	for _, x := range l {
		if Equal(x, v) {
			return true
		}
	}
	return false
}

func containsIn(v, seq any) (any, error) {
	switch s := seq.(type) {
	case []any:
		return containsValue(s, v), nil
	case map[string]any:
		k, ok := v.(string)
		if !ok {
			return false, nil
		}
		_, found := s[k]
		return found, nil
	case string:
		k, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: a string can only contain a string", ErrInvalid)
		}
		return strings.Contains(s, k), nil
	}
	return nil, fmt.Errorf("%w: the second argument must be a sequence, got %s", ErrInvalid, typeName(seq))
}

func strReplace(fn string, a any) (any, error) {
	m, ok := a.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: takes {template: ..., params: {...}}", ErrInvalid)
	}
	for k := range m {
		if k != "template" && k != "params" {
			return nil, fmt.Errorf("%w: unknown argument %q", ErrInvalid, k)
		}
	}
	tmpl, ok := m["template"].(string)
	if !ok {
		return nil, fmt.Errorf("%w: template must be a string", ErrInvalid)
	}
	params, ok := m["params"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: params must be a map", ErrInvalid)
	}
	keys := sortedKeys(params)
	sort.SliceStable(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	vals := map[string]string{}
	var missing []string
	for _, k := range keys {
		v := params[k]
		switch v.(type) {
		case nil:
			if fn == "str_replace_vstrict" {
				return nil, fmt.Errorf("%w: the value for %q is empty", ErrInvalid, k)
			}
			vals[k] = ""
		case string, int64, float64, bool:
			vals[k] = PyStr(v)
		default:
			vals[k] = PyJSON(v, true)
		}
		if fn == "str_replace_vstrict" && vals[k] == "" {
			return nil, fmt.Errorf("%w: the value for %q is empty", ErrInvalid, k)
		}
		if fn != "str_replace" && !strings.Contains(tmpl, k) {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: the following params were not found in the template: %s", ErrInvalid, strings.Join(missing, ","))
	}
	return replaceAll(tmpl, keys, vals), nil
}

// replaceAll replaces the longest keys first and never re-scans replaced
// text: the string is split on the first key, each piece is processed with
// the remaining keys, and the pieces are joined with the value.
func replaceAll(s string, keys []string, vals map[string]string) string {
	if len(keys) == 0 {
		return s
	}
	k := keys[0]
	if k == "" {
		return replaceAll(s, keys[1:], vals)
	}
	parts := strings.Split(s, k)
	for i, p := range parts {
		parts[i] = replaceAll(p, keys[1:], vals)
	}
	return strings.Join(parts, vals[k])
}

func joinItem(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return PyJSON(x, false)
	}
}

func listJoin(ver Version, a any) (any, error) {
	l, ok := a.([]any)
	if !ok || len(l) < 2 {
		return nil, fmt.Errorf("%w: takes [delimiter, list, ...]", ErrInvalid)
	}
	delim, ok := l[0].(string)
	if !ok {
		return nil, fmt.Errorf("%w: the delimiter must be a string", ErrInvalid)
	}
	if len(l) > 2 && !ver.AtLeast(V20151015) {
		return nil, fmt.Errorf("%w: joining several lists needs 2015-10-15 or later", ErrVersion)
	}
	var items []string
	for i, el := range l[1:] {
		if el == nil {
			continue
		}
		sub, ok := el.([]any)
		if !ok {
			return nil, fmt.Errorf("%w: argument %d must be a list, got %s", ErrInvalid, i+1, typeName(el))
		}
		for _, s := range sub {
			items = append(items, joinItem(s))
		}
	}
	return strings.Join(items, delim), nil
}

func strSplit(a any) (any, error) {
	l, ok := a.([]any)
	if !ok || len(l) < 2 || len(l) > 3 {
		return nil, fmt.Errorf("%w: takes [delimiter, string, index?]", ErrInvalid)
	}
	delim, ok1 := l[0].(string)
	s, ok2 := l[1].(string)
	if !ok1 || !ok2 || delim == "" {
		return nil, fmt.Errorf("%w: the delimiter and the string must be strings", ErrInvalid)
	}
	parts := strings.Split(s, delim)
	if len(l) == 2 {
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	}
	var idx int64
	switch x := l[2].(type) {
	case int64:
		idx = x
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: the index must be an integer", ErrInvalid)
		}
		idx = n
	default:
		return nil, fmt.Errorf("%w: the index must be an integer", ErrInvalid)
	}
	if idx < 0 || idx >= int64(len(parts)) {
		return nil, fmt.Errorf("%w: index %d out of range for %d items", ErrInvalid, idx, len(parts))
	}
	return parts[idx], nil
}

func repeat(a any) (any, error) {
	m, ok := a.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: takes {for_each: {...}, template: ...}", ErrInvalid)
	}
	fe, ok := m["for_each"].(map[string]any)
	if !ok || len(fe) == 0 {
		return nil, fmt.Errorf("%w: for_each must be a non-empty map", ErrInvalid)
	}
	tmpl, ok := m["template"]
	if !ok {
		return nil, fmt.Errorf("%w: template is missing", ErrInvalid)
	}
	perm := true
	if p, ok := m["permutations"]; ok {
		b, ok := p.(bool)
		if !ok {
			return nil, fmt.Errorf("%w: permutations must be a boolean", ErrInvalid)
		}
		perm = b
	}
	for k := range m {
		if k != "for_each" && k != "template" && k != "permutations" {
			return nil, fmt.Errorf("%w: unknown argument %q", ErrInvalid, k)
		}
	}
	keys := sortedKeys(fe)
	lists := make([][]any, len(keys))
	for i, k := range keys {
		l, ok := fe[k].([]any)
		if !ok {
			return nil, fmt.Errorf("%w: for_each.%s must be a list", ErrInvalid, k)
		}
		lists[i] = l
	}
	var combos [][]any
	if perm {
		combos = [][]any{{}}
		for _, l := range lists {
			var next [][]any
			for _, c := range combos {
				for _, v := range l {
					next = append(next, append(append([]any{}, c...), v))
				}
			}
			combos = next
		}
	} else {
		n := len(lists[0])
		for _, l := range lists {
			if len(l) != n {
				return nil, fmt.Errorf("%w: with permutations false all for_each lists must have the same length", ErrInvalid)
			}
		}
		for i := 0; i < n; i++ {
			c := make([]any, len(lists))
			for j := range lists {
				c[j] = lists[j][i]
			}
			combos = append(combos, c)
		}
	}
	out := make([]any, 0, len(combos))
	for _, c := range combos {
		vals := map[string]string{}
		for i, k := range keys {
			vals[k] = joinItem(c[i])
		}
		out = append(out, substitute(tmpl, keys, vals))
	}
	return out, nil
}

func substitute(v any, keys []string, vals map[string]string) any {
	switch x := v.(type) {
	case string:
		for _, k := range keys {
			x = strings.ReplaceAll(x, k, vals[k])
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = substitute(e, keys, vals)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[substitute(k, keys, vals).(string)] = substitute(e, keys, vals)
		}
		return out
	}
	return v
}

func digest(a any) (any, error) {
	l, ok := a.([]any)
	if !ok || len(l) != 2 {
		return nil, fmt.Errorf("%w: takes [algorithm, value]", ErrInvalid)
	}
	alg, ok1 := l[0].(string)
	val, ok2 := l[1].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: the algorithm and the value must be strings", ErrInvalid)
	}
	var h hash.Hash
	switch alg {
	case "md5":
		h = md5.New()
	case "sha1":
		h = sha1.New()
	case "sha224":
		h = sha256.New224()
	case "sha256":
		h = sha256.New()
	case "sha384":
		h = sha512.New384()
	case "sha512":
		h = sha512.New()
	default:
		return nil, fmt.Errorf("%w: algorithm must be one of md5, sha1, sha224, sha256, sha384, sha512", ErrInvalid)
	}
	h.Write([]byte(val))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func mapReplace(a any) (any, error) {
	l, ok := a.([]any)
	if !ok || len(l) != 2 {
		return nil, fmt.Errorf("%w: takes [map, {keys: {...}, values: {...}}]", ErrInvalid)
	}
	in, ok1 := l[0].(map[string]any)
	spec, ok2 := l[1].(map[string]any)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: both arguments must be maps", ErrInvalid)
	}
	var keys, values map[string]any
	for k, v := range spec {
		m, ok := v.(map[string]any)
		if !ok && v != nil {
			return nil, fmt.Errorf("%w: %s must be a map", ErrInvalid, k)
		}
		switch k {
		case "keys":
			keys = m
		case "values":
			values = m
		default:
			return nil, fmt.Errorf("%w: unknown argument %q", ErrInvalid, k)
		}
	}
	out := map[string]any{}
	for _, k := range sortedKeys(in) {
		v := in[k]
		nk := k
		if r, ok := keys[k]; ok {
			s, ok := r.(string)
			if !ok {
				return nil, fmt.Errorf("%w: replacement key for %q must be a string", ErrInvalid, k)
			}
			nk = s
		}
		if _, dup := out[nk]; dup {
			return nil, fmt.Errorf("%w: key %q is duplicated after replacement", ErrInvalid, nk)
		}
		if s, ok := v.(string); ok {
			if r, ok := values[s]; ok {
				v = r
			}
		}
		out[nk] = v
	}
	return out, nil
}

func makeURL(a any) (any, error) {
	m, ok := a.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: takes a map", ErrInvalid)
	}
	str := func(k string) (string, error) {
		v, ok := m[k]
		if !ok || v == nil {
			return "", nil
		}
		switch x := v.(type) {
		case string:
			return x, nil
		case int64:
			return PyStr(x), nil
		}
		return "", fmt.Errorf("%w: %s must be a string", ErrInvalid, k)
	}
	for k := range m {
		switch k {
		case "scheme", "username", "password", "host", "port", "path", "query", "fragment":
		default:
			return nil, fmt.Errorf("%w: unknown argument %q", ErrInvalid, k)
		}
	}
	scheme, err := str("scheme")
	if err != nil {
		return nil, err
	}
	if strings.Contains(scheme, ":") {
		return nil, fmt.Errorf("%w: scheme may not contain \":\"", ErrInvalid)
	}
	user, _ := str("username")
	pass, _ := str("password")
	host, err := str("host")
	if err != nil {
		return nil, err
	}
	port, err := str("port")
	if err != nil {
		return nil, err
	}
	path, _ := str("path")
	frag, _ := str("fragment")
	netloc := ""
	if user != "" {
		netloc = pyQuote(user, "")
		if pass != "" {
			netloc += ":" + pyQuote(pass, "")
		}
		netloc += "@"
	}
	if ip := net.ParseIP(host); ip != nil && strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	netloc += host
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w: invalid port %q", ErrInvalid, port)
		}
		netloc += ":" + port
	}
	var b strings.Builder
	if scheme != "" {
		b.WriteString(scheme + ":")
	}
	if netloc != "" || scheme != "" {
		b.WriteString("//" + netloc)
		if path != "" && !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
	}
	b.WriteString(pyQuote(path, "/"))
	if q, ok := m["query"]; ok && q != nil {
		qm, ok := q.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: query must be a map", ErrInvalid)
		}
		vals := url.Values{}
		for k, v := range qm {
			vals.Set(k, joinItem(v))
		}
		if len(vals) > 0 {
			b.WriteString("?" + vals.Encode())
		}
	}
	if frag != "" {
		b.WriteString("#" + pyQuote(frag, "/"))
	}
	return b.String(), nil
}

// pyQuote is Python's urllib.parse.quote: unreserved characters and those
// in safe stay, every other byte is percent-encoded.
func pyQuote(s, safe string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("_.-~", c) >= 0 || strings.IndexByte(safe, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
