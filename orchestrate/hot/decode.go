package hot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Values decoded from templates and environments are plain Go values:
// map[string]any, []any, string, int64, float64, bool and nil.

// maxDepth bounds the nesting of decoded documents.
const maxDepth = 1000

// doc is a decoded document with the key order and line of each entry of
// its top-level sections (parameters, resources, outputs, conditions).
type doc struct {
	root  map[string]any
	order map[string][]string // section → keys in document order
	lines map[string]int      // "section/key" → 1-based line (YAML only)
}

// Decode parses a template or environment document as Heat does: JSON when
// it starts with '{', otherwise YAML 1.1 as PyYAML's safe loader reads it
// (yes/no/on/off/true/false are booleans, y and n stay strings, dates and
// timestamps stay strings, 0o17-style and 017 octals, 0x hex and 1:30
// sexagesimal integers, floats need a dot). The result must be a mapping.
func Decode(file string, data []byte) (map[string]any, error) {
	d, err := decodeDoc(file, data)
	if err != nil {
		return nil, err
	}
	return d.root, nil
}

func decodeDoc(file string, data []byte) (*doc, error) {
	d := &doc{order: map[string][]string{}, lines: map[string]int{}}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	var v any
	if len(trimmed) > 0 && trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var err error
		v, err = jsonValue(dec, d, 0, "")
		if err != nil {
			return nil, &Error{File: file, Err: fmt.Errorf("%w: %v", ErrSyntax, err)}
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, &Error{File: file, Err: fmt.Errorf("%w: extra data after the document", ErrSyntax)}
		}
	} else {
		var n yaml.Node
		if err := yaml.Unmarshal(data, &n); err != nil {
			return nil, &Error{File: file, Err: fmt.Errorf("%w: %v", ErrSyntax, err)}
		}
		if n.Kind == 0 {
			return nil, &Error{File: file, Err: fmt.Errorf("%w: the document is empty", ErrSyntax)}
		}
		var err error
		v, err = yamlValue(&n, d, 0, "")
		if err != nil {
			return nil, &Error{File: file, Err: fmt.Errorf("%w: %v", ErrSyntax, err)}
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{File: file, Err: fmt.Errorf("%w: the document is not a mapping", ErrSyntax)}
	}
	d.root = m
	return d, nil
}

// section is the top-level key under which a mapping at depth 1 sits; its
// keys are recorded in order.
func jsonValue(dec *json.Decoder, d *doc, depth int, section string) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("nesting too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				sub := ""
				if depth == 0 {
					sub = k
				}
				v, err := jsonValue(dec, d, depth+1, sub)
				if err != nil {
					return nil, err
				}
				if depth == 1 && section != "" {
					if _, dup := m[k]; !dup {
						d.order[section] = append(d.order[section], k)
					}
				}
				m[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return m, nil
		case '[':
			l := []any{}
			for dec.More() {
				v, err := jsonValue(dec, d, depth+1, "")
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return l, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, err
		}
		return f, nil
	default:
		return t, nil // string, bool, nil
	}
}

func yamlValue(n *yaml.Node, d *doc, depth int, section string) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("nesting too deep")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlValue(n.Content[0], d, depth, section)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, errors.New("unknown alias")
		}
		return yamlValue(n.Alias, d, depth+1, "")
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c, d, depth+1, "")
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		var merges []map[string]any
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			if kn.Kind == yaml.ScalarNode && kn.Value == "<<" && kn.Style == 0 {
				mv, err := yamlValue(vn, d, depth+1, "")
				if err != nil {
					return nil, err
				}
				switch x := mv.(type) {
				case map[string]any:
					merges = append(merges, x)
				case []any:
					for _, e := range x {
						em, ok := e.(map[string]any)
						if !ok {
							return nil, fmt.Errorf("line %d: merge key needs mappings", kn.Line)
						}
						merges = append(merges, em)
					}
				default:
					return nil, fmt.Errorf("line %d: merge key needs a mapping", kn.Line)
				}
				continue
			}
			kv, err := yamlValue(kn, d, depth+1, "")
			if err != nil {
				return nil, err
			}
			k, err := keyString(kv)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", kn.Line, err)
			}
			sub := ""
			if depth == 0 {
				sub = k
			}
			v, err := yamlValue(vn, d, depth+1, sub)
			if err != nil {
				return nil, err
			}
			if depth == 1 && section != "" {
				if _, dup := m[k]; !dup {
					d.order[section] = append(d.order[section], k)
					d.lines[section+"/"+k] = kn.Line
				}
			}
			m[k] = v
		}
		// Merged keys never override explicit ones; earlier merges win.
		for _, mm := range merges {
			for k, v := range mm {
				if _, ok := m[k]; !ok {
					m[k] = v
				}
			}
		}
		return m, nil
	case yaml.ScalarNode:
		return yamlScalar(n)
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// keyString turns a decoded mapping key into a string as PyYAML plus Heat
// would see it (Heat requires string keys; booleans and numbers are kept
// in their Python spelling).
func keyString(v any) (string, error) {
	switch k := v.(type) {
	case string:
		return k, nil
	case nil:
		return "None", nil
	case []any, map[string]any:
		return "", errors.New("a mapping key must be a scalar")
	default:
		return PyStr(k), nil
	}
}

var (
	reYAMLInt   = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	reYAMLFloat = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
)

func yamlScalar(n *yaml.Node) (any, error) {
	s := n.Value
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return s, nil
	}
	if n.Style&yaml.TaggedStyle != 0 {
		switch n.Tag {
		case "!!str", "tag:yaml.org,2002:str", "!!timestamp", "tag:yaml.org,2002:timestamp":
			return s, nil
		case "!!int", "!!float", "!!bool", "!!null":
			if v, ok := resolvePlain(s); ok {
				return v, nil
			}
			return nil, fmt.Errorf("line %d: cannot read %q as %s", n.Line, s, n.Tag)
		default:
			return nil, fmt.Errorf("line %d: unsupported tag %s", n.Line, n.Tag)
		}
	}
	if v, ok := resolvePlain(s); ok {
		return v, nil
	}
	return s, nil
}

// resolvePlain applies PyYAML's implicit resolvers (minus timestamps, which
// Heat keeps as strings) to a plain scalar.
func resolvePlain(s string) (any, bool) {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return nil, true
	case "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
		return true, true
	case "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
		return false, true
	}
	if len(s) == 0 {
		return s, false
	}
	c := s[0]
	if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.') {
		return s, false
	}
	if reYAMLInt.MatchString(s) {
		if v, ok := yamlInt(s); ok {
			return v, true
		}
	}
	if reYAMLFloat.MatchString(s) {
		return yamlFloat(s), true
	}
	return s, false
}

func yamlInt(s string) (any, bool) {
	v := strings.ReplaceAll(s, "_", "")
	sign := int64(1)
	if v != "" && (v[0] == '-' || v[0] == '+') {
		if v[0] == '-' {
			sign = -1
		}
		v = v[1:]
	}
	var n int64
	var err error
	switch {
	case v == "0":
		return int64(0), true
	case strings.HasPrefix(v, "0b"):
		n, err = strconv.ParseInt(v[2:], 2, 64)
	case strings.HasPrefix(v, "0x"):
		n, err = strconv.ParseInt(v[2:], 16, 64)
	case v[0] == '0':
		n, err = strconv.ParseInt(v[1:], 8, 64)
	case strings.Contains(v, ":"):
		for _, part := range strings.Split(v, ":") {
			p, perr := strconv.ParseInt(part, 10, 64)
			if perr != nil || n > math.MaxInt64/60-60 {
				return nil, false
			}
			n = n*60 + p
		}
	default:
		n, err = strconv.ParseInt(v, 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(v, 64)
			if ferr != nil {
				return nil, false
			}
			return float64(sign) * f, true
		}
	}
	if err != nil {
		return nil, false
	}
	return sign * n, true
}

func yamlFloat(s string) float64 {
	v := strings.ReplaceAll(s, "_", "")
	switch strings.ToLower(strings.TrimLeft(v, "+-")) {
	case ".inf":
		if strings.HasPrefix(v, "-") {
			return math.Inf(-1)
		}
		return math.Inf(1)
	case ".nan":
		return math.NaN()
	}
	if strings.Contains(v, ":") {
		sign := 1.0
		if v[0] == '-' || v[0] == '+' {
			if v[0] == '-' {
				sign = -1
			}
			v = v[1:]
		}
		parts := strings.Split(v, ":")
		f := 0.0
		for _, p := range parts {
			x, _ := strconv.ParseFloat(p, 64)
			f = f*60 + x
		}
		return sign * f
	}
	f, _ := strconv.ParseFloat(v, 64)
	return f
}
