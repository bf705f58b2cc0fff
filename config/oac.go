package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// ControlSuffix is the suffix of a control file: the control file of the
// template "etc/foo" is "etc/foo.oac". Files with this suffix are never
// templates themselves.
const ControlSuffix = ".oac"

// Control is what a .oac control file says about the file its template
// renders. The zero value is a control file's defaults (the empty file).
type Control struct {
	// Mode holds the permission bits to give the file (0 to 0o777). 0 means
	// unset: the existing file's mode is kept, or 0644 for a new file. A
	// ".oac" that says "mode: 0" gives 0 too and so is ignored, as in the
	// original (see the package doc).
	Mode fs.FileMode
	// Owner is the uid to give the file; nil means unset (the existing
	// file's owner is kept, or the caller's for a new file).
	Owner *int
	// Group is the gid to give the file; nil means unset.
	Group *int
	// DeleteEmpty is "allow_empty: false": when the rendered body is empty,
	// the target is deleted if it exists and not created otherwise. The zero
	// value is the default "allow_empty: true": an empty body is written as
	// an empty file.
	DeleteEmpty bool
}

// ControlError reports a bad .oac control file.
type ControlError struct {
	// Template is the path of the template that the control file belongs
	// to, as the original names it in its error tuple.
	Template string
	// File is the path of the control file (Template + ".oac").
	File string
	// Key is the key at fault ("mode", "owner", "group", "allow_empty" or an
	// unknown key); "" when the file as a whole is bad (YAML syntax, a root
	// that is not a mapping, bytes that are not UTF-8).
	Key string
	// Err holds the message, worded as the original's where it has one,
	// e.g. "mode '0o1130' out of range".
	Err error
}

// Error implements error.
func (e *ControlError) Error() string { return e.File + ": " + e.Err.Error() }

// Unwrap returns e.Err.
func (e *ControlError) Unwrap() error { return e.Err }

// ParseControl parses the content of a .oac control file with
// os-apply-config's rules: YAML 1.1 as PyYAML's safe_load reads it, a
// mapping (or an empty or falsy document, which means the defaults) whose
// only keys are mode, owner, group and allow_empty. Owners and groups are
// looked up in the passwd and group databases now, as the original does.
// template is the path of the template the file controls (the control file
// itself is template + ".oac"); it only names things in errors, which are
// *ControlError.
func ParseControl(template string, data []byte) (*Control, error) {
	cerr := func(key string, err error) error {
		return &ControlError{Template: template, File: template + ControlSuffix, Key: key, Err: err}
	}
	if !utf8.Valid(data) {
		return nil, cerr("", errors.New("not valid UTF-8"))
	}
	root, err := parseYAML11(data)
	if err != nil {
		return nil, cerr("", err)
	}
	c := &Control{}
	if !pyTruthy(root) {
		// yaml.safe_load(body) or {}: every falsy document is the defaults.
		return c, nil
	}
	m, ok := root.(yMap)
	if !ok {
		return nil, cerr("", fmt.Errorf("header is not a dict: %s", template))
	}
	for _, kv := range m {
		key, ok := kv.k.(string)
		if !ok {
			return nil, cerr(pyStr(kv.k), fmt.Errorf("unrecognised file control key '%s'", pyStr(kv.k)))
		}
		if err := c.set(key, kv.v); err != nil {
			return nil, cerr(key, err)
		}
	}
	return c, nil
}

func (c *Control) set(key string, v any) error {
	switch key {
	case "mode":
		n, ok := v.(*big.Int)
		if !ok {
			return fmt.Errorf("mode '%s' is not numeric", pyStr(v))
		}
		if n.Sign() < 0 || n.Cmp(big.NewInt(0o777)) > 0 {
			return fmt.Errorf("mode '%s' out of range", pyOctal(n))
		}
		c.Mode = fs.FileMode(n.Int64())
	case "allow_empty":
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("allow_empty requires Boolean, got: '%s'", pyStr(v))
		}
		c.DeleteEmpty = !b
	case "owner", "group":
		id, err := lookupID(key, v)
		if err != nil {
			return err
		}
		if key == "owner" {
			c.Owner = &id
		} else {
			c.Group = &id
		}
	default:
		return fmt.Errorf("unrecognised file control key '%s'", key)
	}
	return nil
}

// lookupID resolves an owner or group, given as a name or a numeric id, in
// the passwd or group database.
func lookupID(key string, v any) (int, error) {
	db := "passwd"
	if key == "group" {
		db = "group"
	}
	notFound := fmt.Errorf("%s '%s' not found in %s database", key, pyStr(v), db)
	var id int
	var ok bool
	switch v := v.(type) {
	case *big.Int:
		if v.IsInt64() && v.Sign() >= 0 && v.Int64() <= math.MaxUint32 {
			id, ok = systemIDs.lookup(key == "group", true, v.String())
		}
	case string:
		id, ok = systemIDs.lookup(key == "group", false, v)
	default:
		return 0, fmt.Errorf("%s '%s' must be a string or int", key, pyStr(v))
	}
	if !ok {
		return 0, notFound
	}
	return id, nil
}

// The YAML values of a control file, as PyYAML's safe_load builds them:
// nil, bool, *big.Int, float64, string, yTimestamp, []any, yMap.
type (
	yMap       []yPair
	yPair      struct{ k, v any }
	yTimestamp string
)

// parseYAML11 parses one YAML document with YAML 1.1 scalar resolution, as
// PyYAML's safe_load does. The YAML syntax comes from go.yaml.in/yaml/v3;
// plain scalars are resolved here with PyYAML's implicit resolvers, since
// both YAML 1.2 (v3) and gopkg.in/yaml.v2 resolve differently (yaml.v2 takes
// y/n as booleans, 0o644 and 0X1FF as ints, and knows no sexagesimal 1:30)
// and v2 cannot tell a quoted scalar from a plain one.
func parseYAML11(data []byte) (v any, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // an empty stream is None
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("expected a single document in the stream")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	budget := 10000
	return yamlValue(doc.Content[0], 0, &budget)
}

// yamlValue converts n. budget bounds the nodes visited, so that aliases
// cannot expand exponentially (a "billion laughs" document).
func yamlValue(n *yaml.Node, depth int, budget *int) (any, error) {
	*budget--
	if depth > 100 || *budget < 0 {
		return nil, errors.New("YAML nested too deeply or too large")
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("line %d: unknown alias", n.Line)
		}
		return yamlValue(n.Alias, depth+1, budget)
	case yaml.ScalarNode:
		return yamlScalar(n)
	case yaml.SequenceNode:
		if n.Style&yaml.TaggedStyle != 0 && n.Tag != "!!seq" {
			return nil, fmt.Errorf("line %d: could not determine a constructor for the tag '%s'", n.Line, n.Tag)
		}
		list := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	case yaml.MappingNode:
		if n.Style&yaml.TaggedStyle != 0 && n.Tag != "!!map" {
			return nil, fmt.Errorf("line %d: could not determine a constructor for the tag '%s'", n.Line, n.Tag)
		}
		var merged, own yMap
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			if kn.Kind == yaml.ScalarNode && kn.Style == 0 && kn.Value == "<<" {
				// A merge key: its mappings come first, explicit keys win.
				m, err := yamlMerge(vn, depth+1, budget)
				if err != nil {
					return nil, err
				}
				merged = append(merged, m...)
				continue
			}
			k, err := yamlValue(kn, depth+1, budget)
			if err != nil {
				return nil, err
			}
			switch k.(type) {
			case []any, yMap:
				return nil, fmt.Errorf("line %d: found unhashable key", kn.Line)
			}
			v, err := yamlValue(vn, depth+1, budget)
			if err != nil {
				return nil, err
			}
			own = append(own, yPair{k, v})
		}
		return dedupe(append(merged, own...)), nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// yamlMerge returns the pairs that a "<<" merge key brings in.
func yamlMerge(n *yaml.Node, depth int, budget *int) (yMap, error) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		v, err := yamlValue(n, depth, budget)
		if err != nil {
			return nil, err
		}
		return v.(yMap), nil
	case yaml.SequenceNode:
		var out yMap
		// Earlier mappings in the list win: apply them last.
		for i := len(n.Content) - 1; i >= 0; i-- {
			c := n.Content[i]
			for c.Kind == yaml.AliasNode && c.Alias != nil {
				c = c.Alias
			}
			if c.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("line %d: expected a mapping for merging", c.Line)
			}
			m, err := yamlMerge(c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			out = append(out, m...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("line %d: expected a mapping or list of mappings for merging", n.Line)
}

// dedupe keeps, for each key, the last value at the position of its first
// occurrence, as building a Python dict does.
func dedupe(m yMap) yMap {
	out := make(yMap, 0, len(m))
	idx := make(map[any]int, len(m))
	for _, kv := range m {
		key := hashKey(kv.k)
		if i, ok := idx[key]; ok {
			out[i].v = kv.v
			continue
		}
		idx[key] = len(out)
		out = append(out, kv)
	}
	return out
}

// hashKey maps a scalar key to a comparable value with Python's equality
// (1 == True == 1.0); good enough for duplicate detection.
func hashKey(k any) any {
	switch k := k.(type) {
	case *big.Int:
		if k.IsInt64() {
			return float64(k.Int64())
		}
		return "int:" + k.String()
	case bool:
		if k {
			return float64(1)
		}
		return float64(0)
	case string:
		return "str:" + k
	case yTimestamp:
		return "ts:" + string(k)
	}
	return k
}

// yamlResolvers are PyYAML's implicit resolvers for plain scalars
// (yaml/resolver.py), compiled on first use (only .oac files need them).
var yamlResolvers = sync.OnceValue(func() (r struct{ bool, float, int, null, time *regexp.Regexp }) {
	r.bool = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	r.float = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
	r.int = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	r.null = regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)
	r.time = regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`)
	return r
})

func yamlScalar(n *yaml.Node) (any, error) {
	s := n.Value
	tag := ""
	switch {
	case n.Style&yaml.TaggedStyle != 0:
		tag = n.Tag
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return s, nil
	default:
		// Plain: the first resolver that matches, in PyYAML's order.
		re := yamlResolvers()
		switch {
		case re.bool.MatchString(s):
			tag = "!!bool"
		case re.float.MatchString(s):
			tag = "!!float"
		case re.int.MatchString(s):
			tag = "!!int"
		case re.null.MatchString(s):
			tag = "!!null"
		case re.time.MatchString(s):
			tag = "!!timestamp"
		case s == "=":
			tag = "!!value"
		default:
			return s, nil
		}
	}
	bad := func() error {
		return fmt.Errorf("line %d: cannot construct %s from '%s'", n.Line, tag, s)
	}
	switch tag {
	case "!!str":
		return s, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		switch strings.ToLower(s) {
		case "yes", "true", "on":
			return true, nil
		case "no", "false", "off":
			return false, nil
		}
		return nil, bad()
	case "!!int":
		v, ok := yamlInt(s)
		if !ok {
			return nil, bad()
		}
		return v, nil
	case "!!float":
		v, ok := yamlFloat(s)
		if !ok {
			return nil, bad()
		}
		return v, nil
	case "!!timestamp":
		return yTimestamp(s), nil
	}
	return nil, fmt.Errorf("line %d: could not determine a constructor for the tag '%s'", n.Line, tag)
}

// yamlInt is PyYAML's construct_yaml_int.
func yamlInt(s string) (*big.Int, bool) {
	s = strings.ReplaceAll(s, "_", "")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	v := new(big.Int)
	ok := true
	switch {
	case s == "0":
	case strings.HasPrefix(s, "0b"):
		_, ok = v.SetString(s[2:], 2)
	case strings.HasPrefix(s, "0x"):
		_, ok = v.SetString(s[2:], 16)
	case strings.HasPrefix(s, "0"):
		_, ok = v.SetString(s, 8)
	case strings.Contains(s, ":"):
		for _, part := range strings.Split(s, ":") {
			d, err := strconv.ParseInt(part, 10, 64)
			if err != nil {
				return nil, false
			}
			v.Mul(v, big.NewInt(60))
			v.Add(v, big.NewInt(d))
		}
	default:
		_, ok = v.SetString(s, 10)
	}
	if !ok {
		return nil, false
	}
	if neg {
		v.Neg(v)
	}
	return v, true
}

// yamlFloat is PyYAML's construct_yaml_float.
func yamlFloat(s string) (float64, bool) {
	s = strings.ToLower(strings.ReplaceAll(s, "_", ""))
	sign := 1.0
	if s != "" && (s[0] == '-' || s[0] == '+') {
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
	}
	switch {
	case s == ".inf":
		return sign * math.Inf(1), true
	case s == ".nan":
		return math.NaN(), true
	case strings.Contains(s, ":"):
		v := 0.0
		for _, part := range strings.Split(s, ":") {
			d, err := strconv.ParseFloat(part, 64)
			if err != nil {
				return 0, false
			}
			v = v*60 + d
		}
		return sign * v, true
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return sign * v, true
}

// pyTruthy is Python's bool() of a YAML value.
func pyTruthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case *big.Int:
		return v.Sign() != 0
	case float64:
		return v != 0
	case string:
		return v != ""
	case []any:
		return len(v) != 0
	case yMap:
		return len(v) != 0
	}
	return true
}

// pyOctal is Python's "%#o" % n.
func pyOctal(n *big.Int) string {
	if n.Sign() < 0 {
		return "-0o" + new(big.Int).Neg(n).Text(8)
	}
	return "0o" + n.Text(8)
}

// pyStr is Python's str() of a YAML value, for messages.
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

// pyRepr is Python's repr() of a YAML value, for messages.
func pyRepr(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case *big.Int:
		return v.String()
	case float64:
		return string(appendPyFloat(nil, v, false))
	case string:
		return string(appendPyStrRepr(nil, v))
	case yTimestamp:
		return string(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case yMap:
		parts := make([]string, len(v))
		for i, kv := range v {
			parts[i] = pyRepr(kv.k) + ": " + pyRepr(kv.v)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}
