package hot

import (
	"fmt"
	"sort"
	"strings"
)

// Template is a parsed and validated HOT template.
type Template struct {
	File            string // the name the template was read under
	Version         Version
	Description     string
	Parameters      []*Parameter // in document order
	ParameterGroups []ParameterGroup
	Resources       []*Resource // in document order
	Outputs         []*Output   // in document order
	Conditions      []*Condition

	params    map[string]*Parameter
	resources map[string]*Resource
	conds     map[string]*Condition
}

// ParameterGroup is one entry of parameter_groups.
type ParameterGroup struct {
	Label       string
	Description string
	Parameters  []string
}

// Resource is one entry of the resources section, unevaluated.
type Resource struct {
	Name           string
	Type           string
	Properties     map[string]any
	Metadata       any
	DependsOn      []string
	DeletionPolicy string // Delete, Retain or Snapshot
	UpdatePolicy   map[string]any
	Condition      any // nil (always), a condition name, a boolean or an expression
	Line           int
}

// Output is one entry of the outputs section, unevaluated.
type Output struct {
	Name        string
	Description string
	Value       any
	Condition   any
	Line        int
}

// Condition is one entry of the conditions section.
type Condition struct {
	Name string
	Expr any
	Line int
}

// Parameter returns the declared parameter name, or nil.
func (t *Template) Parameter(name string) *Parameter { return t.params[name] }

// Resource returns the resource name, or nil.
func (t *Template) Resource(name string) *Resource { return t.resources[name] }

// Parse decodes and validates a HOT template read from file (the name is
// used in errors only).
func Parse(file string, data []byte) (*Template, error) {
	d, err := decodeDoc(file, data)
	if err != nil {
		return nil, err
	}
	return build(file, d)
}

func build(file string, d *doc) (*Template, error) {
	root := d.root
	fail := func(path string, line int, format string, args ...any) error {
		return &Error{File: file, Line: line, Path: path, Err: fmt.Errorf(format, args...)}
	}
	rawVer, ok := root["heat_template_version"]
	if !ok {
		return nil, fail("", 0, "%w: heat_template_version is missing (this does not look like a HOT template)", ErrInvalid)
	}
	verStr, ok := rawVer.(string)
	if !ok {
		return nil, fail("heat_template_version", 0, "%w: must be a string, got %s", ErrInvalid, typeName(rawVer))
	}
	ver, err := ParseVersion(verStr)
	if err != nil {
		return nil, &Error{File: file, Path: "heat_template_version", Err: err}
	}
	t := &Template{File: file, Version: ver, params: map[string]*Parameter{},
		resources: map[string]*Resource{}, conds: map[string]*Condition{}}
	allowed := map[string]bool{"heat_template_version": true, "description": true,
		"parameter_groups": true, "parameters": true, "resources": true, "outputs": true}
	if ver.AtLeast(V20161014) {
		allowed["conditions"] = true
	}
	var unknown []string
	for k := range root {
		if !allowed[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fail("", 0, "%w: unknown top-level section(s) %s", ErrInvalid, strings.Join(unknown, ", "))
	}
	if v, ok := root["description"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return nil, fail("description", 0, "%w: must be a string", ErrInvalid)
		}
		t.Description = s
	}
	section := func(name string) (map[string]any, error) {
		v, ok := root[name]
		if !ok || v == nil {
			return nil, nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fail(name, 0, "%w: must be a mapping, got %s", ErrInvalid, typeName(v))
		}
		return m, nil
	}
	names := func(sec string, m map[string]any) []string {
		if o := d.order[sec]; len(o) == len(m) {
			return o
		}
		return sortedKeys(m)
	}

	params, err := section("parameters")
	if err != nil {
		return nil, err
	}
	for _, name := range names("parameters", params) {
		line := d.lines["parameters/"+name]
		p, err := parseParameter(ver, name, params[name])
		if err != nil {
			return nil, &Error{File: file, Line: line, Path: "parameters." + name, Err: err}
		}
		p.Line = line
		t.Parameters = append(t.Parameters, p)
		t.params[name] = p
	}
	if err := t.parseGroups(root["parameter_groups"]); err != nil {
		return nil, &Error{File: file, Path: "parameter_groups", Err: err}
	}

	conds, err := section("conditions")
	if err != nil {
		return nil, err
	}
	for _, name := range names("conditions", conds) {
		c := &Condition{Name: name, Expr: conds[name], Line: d.lines["conditions/"+name]}
		t.Conditions = append(t.Conditions, c)
		t.conds[name] = c
	}

	res, err := section("resources")
	if err != nil {
		return nil, err
	}
	for _, name := range names("resources", res) {
		line := d.lines["resources/"+name]
		r, err := parseResource(ver, name, res[name])
		if err != nil {
			return nil, &Error{File: file, Line: line, Path: "resources." + name, Err: err}
		}
		r.Line = line
		t.Resources = append(t.Resources, r)
		t.resources[name] = r
	}

	outs, err := section("outputs")
	if err != nil {
		return nil, err
	}
	for _, name := range names("outputs", outs) {
		line := d.lines["outputs/"+name]
		o, err := parseOutput(ver, name, outs[name])
		if err != nil {
			return nil, &Error{File: file, Line: line, Path: "outputs." + name, Err: err}
		}
		o.Line = line
		t.Outputs = append(t.Outputs, o)
	}
	if err := t.validate(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Template) parseGroups(v any) error {
	if v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		return fmt.Errorf("%w: must be a list", ErrInvalid)
	}
	seen := map[string]bool{}
	for i, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return fmt.Errorf("%w: [%d] must be a mapping", ErrInvalid, i)
		}
		g := ParameterGroup{}
		for k, v := range m {
			switch k {
			case "label":
				g.Label, _ = v.(string)
			case "description":
				g.Description, _ = v.(string)
			case "parameters":
				ps, ok := v.([]any)
				if !ok {
					return fmt.Errorf("%w: [%d].parameters must be a list", ErrInvalid, i)
				}
				for _, p := range ps {
					s, ok := p.(string)
					if !ok {
						return fmt.Errorf("%w: [%d].parameters must list names", ErrInvalid, i)
					}
					if t.params[s] == nil {
						return fmt.Errorf("%w: [%d]: the parameter group contains parameter %q which is not defined", ErrInvalid, i, s)
					}
					if seen[s] {
						return fmt.Errorf("%w: [%d]: the parameter %q is already in another group", ErrInvalid, i, s)
					}
					seen[s] = true
					g.Parameters = append(g.Parameters, s)
				}
			default:
				return fmt.Errorf("%w: [%d]: unknown key %q", ErrInvalid, i, k)
			}
		}
		if g.Parameters == nil {
			return fmt.Errorf("%w: [%d]: parameters must be provided for each parameter group", ErrInvalid, i)
		}
		t.ParameterGroups = append(t.ParameterGroups, g)
	}
	return nil
}

var deletionPolicies = map[string]string{"Delete": "Delete", "Retain": "Retain", "Snapshot": "Snapshot"}

func parseResource(ver Version, name string, v any) (*Resource, error) {
	if name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("%w: a resource name must be non-empty and may not contain \"/\"", ErrInvalid)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: must be a mapping, got %s", ErrInvalid, typeName(v))
	}
	r := &Resource{Name: name, DeletionPolicy: "Delete"}
	for k, val := range m {
		switch k {
		case "type":
			s, ok := val.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("%w: type must be a non-empty string", ErrInvalid)
			}
			r.Type = s
		case "properties":
			if val == nil {
				continue
			}
			p, ok := val.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: properties must be a mapping, got %s", ErrInvalid, typeName(val))
			}
			r.Properties = p
		case "metadata":
			r.Metadata = val
		case "depends_on":
			switch x := val.(type) {
			case nil:
			case string:
				r.DependsOn = []string{x}
			case []any:
				for _, e := range x {
					s, ok := e.(string)
					if !ok {
						return nil, fmt.Errorf("%w: depends_on must list resource names", ErrInvalid)
					}
					r.DependsOn = append(r.DependsOn, s)
				}
			default:
				return nil, fmt.Errorf("%w: depends_on must be a name or a list of names", ErrInvalid)
			}
		case "deletion_policy":
			s, _ := val.(string)
			p, ok := deletionPolicies[s]
			if !ok && ver.AtLeast(V20161014) {
				p, ok = deletionPolicies[strings.ToUpper(s[:min(1, len(s))])+s[min(1, len(s)):]]
			}
			if !ok {
				return nil, fmt.Errorf("%w: deletion_policy %v is not one of Delete, Retain, Snapshot", ErrInvalid, val)
			}
			r.DeletionPolicy = p
		case "update_policy":
			if val == nil {
				continue
			}
			p, ok := val.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: update_policy must be a mapping", ErrInvalid)
			}
			r.UpdatePolicy = p
		case "condition":
			if !ver.AtLeast(V20161014) {
				return nil, fmt.Errorf("%w: condition needs heat_template_version 2016-10-14 or later", ErrVersion)
			}
			r.Condition = val
		case "external_id", "description":
			if k == "external_id" && !ver.AtLeast(V20161014) {
				return nil, fmt.Errorf("%w: external_id needs heat_template_version 2016-10-14 or later", ErrVersion)
			}
		default:
			return nil, fmt.Errorf("%w: unknown key %q", ErrInvalid, k)
		}
	}
	if r.Type == "" {
		return nil, fmt.Errorf("%w: type is missing", ErrInvalid)
	}
	return r, nil
}

func parseOutput(ver Version, name string, v any) (*Output, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: must be a mapping", ErrInvalid)
	}
	o := &Output{Name: name}
	for k, val := range m {
		switch k {
		case "value":
			o.Value = val
		case "description":
			o.Description, _ = val.(string)
		case "condition":
			if !ver.AtLeast(V20161014) {
				return nil, fmt.Errorf("%w: condition needs heat_template_version 2016-10-14 or later", ErrVersion)
			}
			o.Condition = val
		default:
			return nil, fmt.Errorf("%w: unknown key %q", ErrInvalid, k)
		}
	}
	return o, nil
}

// validate checks function usage against the version, references to
// parameters, resources and conditions, and the dependency graph.
func (t *Template) validate() error {
	for _, c := range t.Conditions {
		if err := t.checkCondition(c.Expr, map[string]bool{c.Name: true}); err != nil {
			return &Error{File: t.File, Line: c.Line, Path: "conditions." + c.Name, Err: err}
		}
	}
	for _, r := range t.Resources {
		path := "resources." + r.Name
		if r.Condition != nil {
			if err := t.checkCondition(r.Condition, nil); err != nil {
				return &Error{File: t.File, Line: r.Line, Path: path + ".condition", Err: err}
			}
		}
		for _, name := range sortedKeys(r.Properties) {
			if err := t.checkExpr(r.Properties[name], r.Name); err != nil {
				return &Error{File: t.File, Line: r.Line, Path: path + ".properties." + name, Err: err}
			}
		}
		if err := t.checkExpr(r.Metadata, r.Name); err != nil {
			return &Error{File: t.File, Line: r.Line, Path: path + ".metadata", Err: err}
		}
		for _, dep := range r.DependsOn {
			if t.resources[dep] == nil {
				return &Error{File: t.File, Line: r.Line, Path: path + ".depends_on", Err: fmt.Errorf("%w: the resource %q does not exist", ErrNotFound, dep)}
			}
			if dep == r.Name {
				return &Error{File: t.File, Line: r.Line, Path: path + ".depends_on", Err: fmt.Errorf("%w: a resource cannot depend on itself", ErrInvalid)}
			}
		}
	}
	for _, o := range t.Outputs {
		if o.Condition != nil {
			if err := t.checkCondition(o.Condition, nil); err != nil {
				return &Error{File: t.File, Line: o.Line, Path: "outputs." + o.Name + ".condition", Err: err}
			}
		}
		if err := t.checkExpr(o.Value, ""); err != nil {
			return &Error{File: t.File, Line: o.Line, Path: "outputs." + o.Name + ".value", Err: err}
		}
	}
	g := t.Graph()
	if cycles := g.Cycles(); len(cycles) > 0 {
		return &Error{File: t.File, Path: "resources", Err: &CycleError{Cycles: cycles}}
	}
	return nil
}

// checkExpr validates every function call inside v: the function exists in
// this version and its references name existing parameters, resources and
// conditions. self is the resource being checked ("" for outputs).
func (t *Template) checkExpr(v any, self string) error {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			if err := t.checkExpr(e, self); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
	case map[string]any:
		if len(x) == 1 {
			for fn, args := range x {
				known, err := t.Version.checkFunction(fn)
				if err != nil {
					return err
				}
				if known {
					return t.checkCall(fn, args, self)
				}
			}
		}
		for _, k := range sortedKeys(x) {
			if err := t.checkExpr(x[k], self); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	return nil
}

func (t *Template) checkCall(fn string, args any, self string) error {
	switch fn {
	case "get_param":
		name := args
		if l, ok := args.([]any); ok && len(l) > 0 {
			name = l[0]
		}
		if s, ok := name.(string); ok {
			if t.params[s] == nil && !isPseudo(s) {
				return fmt.Errorf("%w: get_param: the parameter %q is not defined", ErrNotFound, s)
			}
			return t.checkExpr(args, self)
		}
	case "get_resource":
		s, ok := args.(string)
		if !ok {
			return fmt.Errorf("%w: get_resource takes a resource name", ErrInvalid)
		}
		if t.resources[s] == nil {
			return fmt.Errorf("%w: get_resource: the resource %q does not exist", ErrNotFound, s)
		}
		if s == self {
			return fmt.Errorf("%w: get_resource: a resource cannot reference itself", ErrInvalid)
		}
		return nil
	case "get_attr":
		l, ok := args.([]any)
		if !ok || len(l) < 1 || (len(l) < 2 && !t.Version.AtLeast(V20151015)) {
			return fmt.Errorf("%w: get_attr takes [resource, attribute, path...]", ErrInvalid)
		}
		if s, ok := l[0].(string); ok {
			if t.resources[s] == nil {
				return fmt.Errorf("%w: get_attr: the resource %q does not exist", ErrNotFound, s)
			}
			if s == self {
				return fmt.Errorf("%w: get_attr: a resource cannot reference itself", ErrInvalid)
			}
		}
		return t.checkExpr(l[1:], self)
	case "if":
		l, ok := args.([]any)
		if !ok || len(l) != 3 {
			return fmt.Errorf("%w: if takes [condition, value_if_true, value_if_false]", ErrInvalid)
		}
		if err := t.checkCondition(l[0], nil); err != nil {
			return fmt.Errorf("if: %w", err)
		}
		return t.checkExpr(l[1:], self)
	}
	return t.checkExpr(args, self)
}

// checkCondition validates a condition expression: a boolean, a condition
// name, or a condition function. visiting detects reference cycles.
func (t *Template) checkCondition(v any, visiting map[string]bool) error {
	switch x := v.(type) {
	case bool:
		return nil
	case string:
		c := t.conds[x]
		if c == nil {
			return fmt.Errorf("%w: the condition %q is not defined", ErrNotFound, x)
		}
		if visiting[x] {
			return fmt.Errorf("%w: the condition %q refers to itself", ErrInvalid, x)
		}
		if visiting == nil {
			return nil
		}
		visiting[x] = true
		defer delete(visiting, x)
		return t.checkCondition(c.Expr, visiting)
	case map[string]any:
		if len(x) != 1 {
			break
		}
		for fn, args := range x {
			since, ok := conditionSince[fn]
			if !ok {
				return fmt.Errorf("%w: %s is not a condition function", ErrInvalid, fn)
			}
			if !t.Version.AtLeast(since) {
				return fmt.Errorf("%w: %s needs heat_template_version %s or later", ErrVersion, fn, since)
			}
			switch fn {
			case "get_param":
				return t.checkCall(fn, args, "")
			case "not":
				return t.checkCondition(args, visiting)
			case "and", "or":
				l, ok := args.([]any)
				if !ok || len(l) < 2 {
					return fmt.Errorf("%w: %s takes a list of at least two conditions", ErrInvalid, fn)
				}
				for _, e := range l {
					if err := t.checkCondition(e, visiting); err != nil {
						return err
					}
				}
				return nil
			case "equals", "contains":
				l, ok := args.([]any)
				if !ok || len(l) != 2 {
					return fmt.Errorf("%w: %s takes a list of two values", ErrInvalid, fn)
				}
				for _, e := range l {
					if err := t.checkCondExpr(e); err != nil {
						return err
					}
				}
				return nil
			}
		}
	}
	return fmt.Errorf("%w: a condition must be a boolean, a condition name or a condition function, got %s", ErrInvalid, typeName(v))
}

// checkCondExpr validates a value inside equals/contains: only get_param
// may appear as a function.
func (t *Template) checkCondExpr(v any) error {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if err := t.checkCondExpr(e); err != nil {
				return err
			}
		}
	case map[string]any:
		if len(x) == 1 {
			for fn, args := range x {
				if fn == "get_param" {
					return t.checkCall(fn, args, "")
				}
				if known, _ := t.Version.checkFunction(fn); known {
					return fmt.Errorf("%w: %s cannot be used in a condition", ErrInvalid, fn)
				}
			}
		}
		for _, e := range x {
			if err := t.checkCondExpr(e); err != nil {
				return err
			}
		}
	}
	return nil
}
