package hot

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// ParamType is a parameter's declared type.
type ParamType string

// The parameter types of HOT.
const (
	String    ParamType = "string"
	Number    ParamType = "number"
	JSON      ParamType = "json"
	CommaList ParamType = "comma_delimited_list"
	Boolean   ParamType = "boolean"
)

// Pseudo-parameters every stack has.
const (
	PseudoStackName = "OS::stack_name"
	PseudoStackID   = "OS::stack_id"
	PseudoProjectID = "OS::project_id"
)

func isPseudo(name string) bool {
	return name == PseudoStackName || name == PseudoStackID || name == PseudoProjectID
}

// Parameter is a declared template parameter.
type Parameter struct {
	Name        string
	Type        ParamType
	Label       string
	Description string
	Default     any
	HasDefault  bool
	Hidden      bool // masked as ****** wherever a value is shown
	Immutable   bool // may not change on update
	Tags        []string
	Constraints []Constraint
	Line        int
}

// Constraint is one entry of a parameter's constraints list.
type Constraint struct {
	Kind        string // length, range, modulo, allowed_values, allowed_pattern, custom_constraint
	Description string
	Min, Max    *float64
	Step        float64
	Offset      float64
	Values      []any
	Pattern     string
	Custom      string
	re          *regexp.Regexp
}

func parseParameter(ver Version, name string, v any) (*Parameter, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: must be a mapping, got %s", ErrInvalid, typeName(v))
	}
	p := &Parameter{Name: name}
	t, _ := m["type"].(string)
	switch ParamType(t) {
	case String, Number, JSON, CommaList, Boolean:
		p.Type = ParamType(t)
	default:
		if _, ok := m["type"]; !ok {
			return nil, fmt.Errorf("%w: type is missing", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: invalid type %v (one of string, number, json, comma_delimited_list, boolean)", ErrInvalid, m["type"])
	}
	for k, val := range m {
		var ok bool
		switch k {
		case "type":
			ok = true
		case "label":
			p.Label, ok = val.(string)
		case "description":
			p.Description, ok = val.(string)
		case "default":
			p.Default, p.HasDefault, ok = val, true, true
		case "hidden":
			p.Hidden, ok = boolish(val)
		case "immutable":
			if !ver.AtLeast(V20141016) {
				return nil, fmt.Errorf("%w: immutable needs heat_template_version 2014-10-16 or later", ErrVersion)
			}
			p.Immutable, ok = boolish(val)
		case "tags":
			if !ver.AtLeast(V20180302) {
				return nil, fmt.Errorf("%w: tags needs heat_template_version 2018-03-02 or later", ErrVersion)
			}
			l, isList := val.([]any)
			ok = isList
			for _, e := range l {
				s, isStr := e.(string)
				if !isStr {
					ok = false
				}
				p.Tags = append(p.Tags, s)
			}
		case "constraints":
			l, isList := val.([]any)
			if !isList {
				return nil, fmt.Errorf("%w: constraints must be a list", ErrInvalid)
			}
			for i, c := range l {
				con, err := parseConstraint(ver, p.Type, c)
				if err != nil {
					return nil, fmt.Errorf("constraints[%d]: %w", i, err)
				}
				p.Constraints = append(p.Constraints, con)
			}
			ok = true
		default:
			return nil, fmt.Errorf("%w: unknown key %q", ErrInvalid, k)
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s has the wrong type (%s)", ErrInvalid, k, typeName(val))
		}
	}
	if p.HasDefault && p.Default != nil {
		if _, err := p.Convert(p.Default); err != nil {
			return nil, fmt.Errorf("default: %w", err)
		}
	}
	return p, nil
}

func boolish(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		b, err := parseBool(x)
		return b, err == nil
	}
	return false, false
}

// parseBool is oslo's strutils.bool_from_string(strict=True).
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "on", "y", "yes":
		return true, nil
	case "0", "f", "false", "off", "n", "no":
		return false, nil
	}
	return false, fmt.Errorf("%w: unrecognized value %q, acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'", ErrInvalid, s)
}

func parseConstraint(ver Version, typ ParamType, v any) (Constraint, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Constraint{}, fmt.Errorf("%w: a constraint must be a mapping", ErrInvalid)
	}
	var c Constraint
	for k, val := range m {
		switch k {
		case "description":
			c.Description, _ = val.(string)
		case "length", "range":
			if c.Kind != "" {
				return c, fmt.Errorf("%w: one constraint per entry", ErrInvalid)
			}
			c.Kind = k
			mm, ok := val.(map[string]any)
			if !ok {
				return c, fmt.Errorf("%w: %s needs min and/or max", ErrInvalid, k)
			}
			for kk, x := range mm {
				f, ok := toFloat(x)
				if !ok {
					return c, fmt.Errorf("%w: %s.%s must be a number", ErrInvalid, k, kk)
				}
				switch kk {
				case "min":
					c.Min = &f
				case "max":
					c.Max = &f
				default:
					return c, fmt.Errorf("%w: %s: unknown key %q", ErrInvalid, k, kk)
				}
			}
			if c.Min == nil && c.Max == nil {
				return c, fmt.Errorf("%w: %s needs min and/or max", ErrInvalid, k)
			}
			if k == "length" && typ != String && typ != CommaList && typ != JSON {
				return c, fmt.Errorf("%w: length does not apply to %s parameters", ErrInvalid, typ)
			}
			if k == "range" && typ != Number {
				return c, fmt.Errorf("%w: range applies to number parameters only", ErrInvalid)
			}
		case "modulo":
			if !ver.AtLeast(V20170224) {
				return c, fmt.Errorf("%w: modulo needs heat_template_version 2017-02-24 or later", ErrVersion)
			}
			c.Kind = k
			mm, _ := val.(map[string]any)
			step, ok1 := toFloat(mm["step"])
			off, ok2 := toFloat(mm["offset"])
			if !ok1 || !ok2 || step == 0 {
				return c, fmt.Errorf("%w: modulo needs a non-zero step and an offset", ErrInvalid)
			}
			if math.Abs(off) >= math.Abs(step) {
				return c, fmt.Errorf("%w: modulo offset must be smaller than step", ErrInvalid)
			}
			c.Step, c.Offset = step, off
		case "allowed_values":
			c.Kind = k
			l, ok := val.([]any)
			if !ok {
				return c, fmt.Errorf("%w: allowed_values must be a list", ErrInvalid)
			}
			c.Values = l
		case "allowed_pattern":
			c.Kind = k
			s, ok := val.(string)
			if !ok {
				return c, fmt.Errorf("%w: allowed_pattern must be a string", ErrInvalid)
			}
			re, err := regexp.Compile(`^(?:` + s + `)`)
			if err != nil {
				return c, fmt.Errorf("%w: allowed_pattern: %v", ErrInvalid, err)
			}
			c.Pattern, c.re = s, re
		case "custom_constraint":
			c.Kind = k
			c.Custom, _ = val.(string)
			if strings.TrimSpace(c.Custom) == "" {
				return c, fmt.Errorf("%w: custom_constraint must name a constraint", ErrInvalid)
			}
		default:
			return c, fmt.Errorf("%w: unknown constraint %q", ErrInvalid, k)
		}
	}
	if c.Kind == "" {
		return c, fmt.Errorf("%w: the constraint names no check", ErrInvalid)
	}
	return c, nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// Convert turns a supplied value (from the environment, the command line or
// the default) into the parameter's type and checks every constraint.
// Errors never include the value of a hidden parameter.
func (p *Parameter) Convert(raw any) (any, error) {
	v, err := p.convertType(raw)
	if err != nil {
		return nil, err
	}
	for _, c := range p.Constraints {
		if err := c.check(v); err != nil {
			if c.Description == "" && p.Hidden {
				return nil, fmt.Errorf("%w: the value does not satisfy the %s constraint", ErrInvalid, c.Kind)
			}
			if c.Description != "" {
				return nil, fmt.Errorf("%w: %s", ErrInvalid, c.Description)
			}
			return nil, err
		}
	}
	return v, nil
}

func (p *Parameter) shown(v any) string {
	if p.Hidden {
		return "******"
	}
	return PyStr(v)
}

func (p *Parameter) convertType(raw any) (any, error) {
	switch p.Type {
	case String:
		switch x := raw.(type) {
		case string:
			return x, nil
		case int64, float64, bool:
			return PyStr(x), nil
		}
		return nil, fmt.Errorf("%w: value must be a string", ErrInvalid)
	case Number:
		switch x := raw.(type) {
		case int64, float64:
			return x, nil
		case string:
			s := strings.TrimSpace(x)
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i, nil
			}
			if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f, nil
			}
		}
		return nil, fmt.Errorf("%w: value %q must be a number", ErrInvalid, p.shown(raw))
	case Boolean:
		switch x := raw.(type) {
		case bool:
			return x, nil
		case string:
			b, err := parseBool(x)
			if err != nil {
				return nil, fmt.Errorf("%w: value %q is not a boolean", ErrInvalid, p.shown(raw))
			}
			return b, nil
		case int64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		}
		return nil, fmt.Errorf("%w: value %q is not a boolean", ErrInvalid, p.shown(raw))
	case CommaList:
		switch x := raw.(type) {
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = PyStr(e)
			}
			return out, nil
		case string:
			if x == "" {
				return []any{}, nil
			}
			parts := strings.Split(x, ",")
			out := make([]any, len(parts))
			for i, s := range parts {
				out[i] = s
			}
			return out, nil
		case int64, float64:
			return []any{PyStr(x)}, nil
		}
		return nil, fmt.Errorf("%w: value must be a comma-delimited list", ErrInvalid)
	case JSON:
		switch x := raw.(type) {
		case map[string]any, []any:
			return x, nil
		case string:
			if strings.TrimSpace(x) == "" {
				return map[string]any{}, nil
			}
			dec := json.NewDecoder(strings.NewReader(x))
			dec.UseNumber()
			v, err := jsonValue(dec, &doc{order: map[string][]string{}, lines: map[string]int{}}, 1, "")
			if err != nil {
				return nil, fmt.Errorf("%w: value is not valid JSON: %v", ErrInvalid, err)
			}
			switch v.(type) {
			case map[string]any, []any:
				return v, nil
			}
		}
		return nil, fmt.Errorf("%w: value must be a JSON map or list", ErrInvalid)
	}
	return nil, fmt.Errorf("%w: unknown type %q", ErrInvalid, p.Type)
}

func (c Constraint) check(v any) error {
	switch c.Kind {
	case "length":
		var n int
		switch x := v.(type) {
		case string:
			n = len([]rune(x))
		case []any:
			n = len(x)
		case map[string]any:
			n = len(x)
		}
		if c.Min != nil && float64(n) < *c.Min {
			return fmt.Errorf("%w: length must be at least %s", ErrInvalid, PyStr(*c.Min))
		}
		if c.Max != nil && float64(n) > *c.Max {
			return fmt.Errorf("%w: length must be no greater than %s", ErrInvalid, PyStr(*c.Max))
		}
	case "range":
		f, _ := number(v)
		if c.Min != nil && f < *c.Min {
			return fmt.Errorf("%w: %s is out of range (min: %s, max: %s)", ErrInvalid, PyStr(v), fmtBound(c.Min), fmtBound(c.Max))
		}
		if c.Max != nil && f > *c.Max {
			return fmt.Errorf("%w: %s is out of range (min: %s, max: %s)", ErrInvalid, PyStr(v), fmtBound(c.Min), fmtBound(c.Max))
		}
	case "modulo":
		f, _ := number(v)
		if math.Mod(math.Mod(f, c.Step)+c.Step, c.Step) != math.Mod(math.Mod(c.Offset, c.Step)+c.Step, c.Step) {
			return fmt.Errorf("%w: %s is not a multiple of %s with an offset of %s", ErrInvalid, PyStr(v), PyStr(c.Step), PyStr(c.Offset))
		}
	case "allowed_values":
		items := []any{v}
		if l, ok := v.([]any); ok {
			items = l
		}
		for _, it := range items {
			found := false
			for _, a := range c.Values {
				if Equal(it, a) || PyStr(it) == PyStr(a) {
					found = true
					break
				}
			}
			if !found {
				return fmt.Errorf("%w: %q is not an allowed value", ErrInvalid, PyStr(it))
			}
		}
	case "allowed_pattern":
		s, ok := v.(string)
		if !ok {
			return nil
		}
		loc := c.re.FindStringIndex(s)
		if loc == nil || loc[1] != len(s) {
			return fmt.Errorf("%w: %q does not match pattern %q", ErrInvalid, s, c.Pattern)
		}
	}
	return nil
}

func fmtBound(f *float64) string {
	if f == nil {
		return "None"
	}
	return PyStr(*f)
}

// CustomConstraints finds the checker of a custom_constraint by name (an
// engine's registry); ok is false when none is registered.
type CustomConstraints func(name string) (check func(ctx context.Context, value any) error, ok bool)

// CheckCustom checks the parameter values of the stack against their
// custom_constraint entries, which Instantiate leaves to the engine (a
// check may need a cloud and a context). A comma_delimited_list is
// checked item by item. As in Heat, a constraint with no registered
// checker fails: `"VALUE" does not validate NAME (constraint not found)`;
// a failed check is `"VALUE" does not validate NAME: REASON`, or the
// constraint's description when it has one. Errors name the file, line and
// parameter, and never show a hidden parameter's value.
func (s *Stack) CheckCustom(ctx context.Context, lookup CustomConstraints) error {
	t := s.Template
	for _, p := range t.Parameters {
		v, ok := s.Params[p.Name]
		if !ok || v == nil {
			continue
		}
		for _, c := range p.Constraints {
			if c.Kind != "custom_constraint" {
				continue
			}
			if err := p.checkCustom(ctx, c, v, lookup); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return &Error{File: t.File, Line: p.Line, Path: "parameters." + p.Name, Err: err}
			}
		}
	}
	return nil
}

func (p *Parameter) checkCustom(ctx context.Context, c Constraint, v any, lookup CustomConstraints) error {
	items := []any{v}
	if l, ok := v.([]any); ok && p.Type == CommaList {
		items = l
	}
	var check func(context.Context, any) error
	ok := false
	if lookup != nil {
		check, ok = lookup(c.Custom)
	}
	for _, it := range items {
		var reason string
		if !ok {
			reason = " (constraint not found)"
		} else if err := check(ctx, it); err != nil {
			reason = ": " + err.Error()
			if p.Hidden {
				reason = strings.ReplaceAll(reason, PyStr(it), "******")
			}
		} else {
			continue
		}
		if c.Description != "" {
			return fmt.Errorf("%w: %s", ErrInvalid, c.Description)
		}
		return fmt.Errorf("%w: %q does not validate %s%s", ErrInvalid, p.shown(it), c.Custom, reason)
	}
	return nil
}
