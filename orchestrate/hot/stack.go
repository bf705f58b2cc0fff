package hot

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Options are the inputs that turn a template into a stack definition.
type Options struct {
	StackName string
	StackID   string
	ProjectID string
	// Env is the merged environment; nil means empty.
	Env *Environment
	// Files is the files map (get_file and template resources).
	Files map[string]string
	// Loader reads files missing from Files; nil means none.
	Loader Loader
	// Facade answers resource_facade in a nested stack; nil is an error.
	Facade map[string]any
}

// Stack is a template instantiated with parameter values: conditions
// evaluated, disabled resources dropped, get_param, if and get_file
// resolved, and what still depends on resources left as function calls.
type Stack struct {
	Template   *Template
	Params     map[string]any // converted values, pseudo-parameters included
	Conditions map[string]bool
	Resources  []*Definition // enabled resources, document order
	Outputs    []*OutputDef
	Env        *Environment

	byName map[string]*Definition
	opts   Options
	hidden []string
}

// Definition is one enabled resource of a Stack.
type Definition struct {
	Name           string
	Type           string // as written in the template
	Properties     map[string]any
	Metadata       any
	DependsOn      []string // every resource it needs, sorted
	DeletionPolicy string
	UpdatePolicy   map[string]any
	Line           int
}

// OutputDef is one output with its condition evaluated.
type OutputDef struct {
	Name        string
	Description string
	Value       any
	Enabled     bool
}

// Resource returns the enabled resource name, or nil.
func (s *Stack) Resource(name string) *Definition { return s.byName[name] }

// Hidden returns the string forms of the values of hidden parameters, for
// masking in events, errors and outputs.
func (s *Stack) Hidden() []string { return s.hidden }

// Graph returns the dependency graph of the enabled resources.
func (s *Stack) Graph() *Graph {
	g := &Graph{Deps: map[string][]string{}}
	for _, d := range s.Resources {
		g.Nodes = append(g.Nodes, d.Name)
		g.Deps[d.Name] = d.DependsOn
	}
	return g
}

// Instantiate resolves parameters (environment parameters, then
// parameter_defaults, then defaults), evaluates conditions and produces the
// stack definition.
func Instantiate(t *Template, opts Options) (*Stack, error) {
	env := opts.Env
	if env == nil {
		env = NewEnvironment()
	}
	s := &Stack{Template: t, Params: map[string]any{}, Conditions: map[string]bool{},
		byName: map[string]*Definition{}, opts: opts, Env: env}
	s.Params[PseudoStackName] = opts.StackName
	s.Params[PseudoStackID] = opts.StackID
	s.Params[PseudoProjectID] = opts.ProjectID
	var unknown []string
	for k := range env.Parameters {
		if t.params[k] == nil {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, &Error{File: t.File, Path: "parameters", Err: fmt.Errorf("%w: the parameter(s) %s were not defined in the template", ErrInvalid, strings.Join(unknown, ", "))}
	}
	for _, p := range t.Parameters {
		raw, ok := env.Parameters[p.Name]
		if !ok {
			raw, ok = env.ParameterDefaults[p.Name]
		}
		if !ok && p.HasDefault {
			raw, ok = p.Default, true
		}
		if !ok {
			return nil, &Error{File: t.File, Line: p.Line, Path: "parameters." + p.Name, Err: fmt.Errorf("%w: the parameter %q was not provided", ErrInvalid, p.Name)}
		}
		var v any
		if raw != nil || p.Type != String {
			var err error
			v, err = p.Convert(raw)
			if err != nil {
				return nil, &Error{File: t.File, Line: p.Line, Path: "parameters." + p.Name, Err: err}
			}
		}
		s.Params[p.Name] = v
		if p.Hidden && v != nil {
			if str := joinItem(v); str != "" {
				s.hidden = append(s.hidden, str)
			}
		}
	}
	res := &staticResolver{s: s, visiting: map[string]bool{}}
	for _, c := range t.Conditions {
		if _, err := res.Condition(c.Name); err != nil {
			return nil, &Error{File: t.File, Line: c.Line, Path: "conditions." + c.Name, Err: err}
		}
	}
	enabled := map[string]bool{}
	for _, r := range t.Resources {
		on := true
		if r.Condition != nil {
			b, err := EvalCondition(t.Version, r.Condition, res)
			if err != nil {
				return nil, &Error{File: t.File, Line: r.Line, Path: "resources." + r.Name + ".condition", Err: err}
			}
			on = b
		}
		enabled[r.Name] = on
	}
	res.enabled = enabled
	for _, r := range t.Resources {
		if !enabled[r.Name] {
			continue
		}
		path := "resources." + r.Name
		d := &Definition{Name: r.Name, Type: r.Type, DeletionPolicy: r.DeletionPolicy, Line: r.Line}
		props := map[string]any{}
		for _, k := range sortedKeys(r.Properties) {
			v, _, err := Eval(t.Version, r.Properties[k], res)
			if err != nil {
				return nil, &Error{File: t.File, Line: r.Line, Path: path + ".properties." + k, Err: err}
			}
			props[k] = v
		}
		d.Properties = props
		md, _, err := Eval(t.Version, r.Metadata, res)
		if err != nil {
			return nil, &Error{File: t.File, Line: r.Line, Path: path + ".metadata", Err: err}
		}
		d.Metadata = md
		if r.UpdatePolicy != nil {
			up, _, err := Eval(t.Version, r.UpdatePolicy, res)
			if err != nil {
				return nil, &Error{File: t.File, Line: r.Line, Path: path + ".update_policy", Err: err}
			}
			d.UpdatePolicy, _ = up.(map[string]any)
		}
		set := map[string]bool{}
		References(d.Properties, set)
		References(d.Metadata, set)
		for _, dep := range r.DependsOn {
			set[dep] = true
		}
		for dep := range set {
			if enabled[dep] && dep != r.Name {
				d.DependsOn = append(d.DependsOn, dep)
			}
		}
		sort.Strings(d.DependsOn)
		s.Resources = append(s.Resources, d)
		s.byName[d.Name] = d
	}
	for _, o := range t.Outputs {
		od := &OutputDef{Name: o.Name, Description: o.Description, Enabled: true}
		if o.Condition != nil {
			b, err := EvalCondition(t.Version, o.Condition, res)
			if err != nil {
				return nil, &Error{File: t.File, Line: o.Line, Path: "outputs." + o.Name + ".condition", Err: err}
			}
			od.Enabled = b
		}
		if od.Enabled {
			v, _, err := Eval(t.Version, o.Value, res)
			if err != nil {
				return nil, &Error{File: t.File, Line: o.Line, Path: "outputs." + o.Name + ".value", Err: err}
			}
			od.Value = v
		}
		s.Outputs = append(s.Outputs, od)
	}
	if c := s.Graph().Cycles(); len(c) > 0 {
		return nil, &Error{File: t.File, Path: "resources", Err: &CycleError{Cycles: c}}
	}
	return s, nil
}

// staticResolver resolves what is known before any resource exists.
type staticResolver struct {
	s        *Stack
	enabled  map[string]bool
	visiting map[string]bool
}

func (r *staticResolver) Param(name string) (any, error) {
	v, ok := r.s.Params[name]
	if !ok {
		return nil, fmt.Errorf("%w: the parameter %q is not defined", ErrNotFound, name)
	}
	return v, nil
}

func (r *staticResolver) Resource(name string) (any, error) {
	if r.enabled != nil && !r.enabled[name] {
		if r.s.Template.resources[name] == nil {
			return nil, fmt.Errorf("%w: the resource %q does not exist", ErrNotFound, name)
		}
		return nil, fmt.Errorf("%w: the resource %q is disabled by its condition", ErrInvalid, name)
	}
	return nil, ErrDeferred
}

func (r *staticResolver) Attribute(resource, attr string, _ []any) (any, error) {
	if r.enabled != nil && !r.enabled[resource] {
		if r.s.Template.resources[resource] == nil {
			return nil, fmt.Errorf("%w: the resource %q does not exist", ErrNotFound, resource)
		}
		return nil, nil
	}
	return nil, ErrDeferred
}

func (r *staticResolver) File(name string) (string, error) {
	return r.s.File(name)
}

// Files returns the stack's files map.
func (s *Stack) Files() map[string]string { return s.opts.Files }

// File returns a file from the files map, or through the loader.
func (s *Stack) File(name string) (string, error) {
	if c, ok := s.opts.Files[name]; ok {
		return c, nil
	}
	if s.opts.Loader != nil {
		b, err := s.opts.Loader.Load(name)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	return "", fmt.Errorf("%w: no file %q in the files map", ErrNotFound, name)
}

func (r *staticResolver) Facade(section string) (any, error) {
	if r.s.opts.Facade == nil {
		return nil, fmt.Errorf("%w: resource_facade is only available in a nested stack", ErrInvalid)
	}
	return r.s.opts.Facade[section], nil
}

func (r *staticResolver) Condition(name string) (bool, error) {
	if v, ok := r.s.Conditions[name]; ok {
		return v, nil
	}
	c := r.s.Template.conds[name]
	if c == nil {
		return false, fmt.Errorf("%w: the condition %q is not defined", ErrNotFound, name)
	}
	if r.visiting[name] {
		return false, fmt.Errorf("%w: the condition %q refers to itself", ErrInvalid, name)
	}
	r.visiting[name] = true
	defer delete(r.visiting, name)
	v, err := EvalCondition(r.s.Template.Version, c.Expr, r)
	if err != nil {
		return false, err
	}
	r.s.Conditions[name] = v
	return v, nil
}

// IsDeferred reports whether err means "not known yet".
func IsDeferred(err error) bool { return errors.Is(err, ErrDeferred) }
