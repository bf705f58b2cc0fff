package orchestrate

import (
	"fmt"
	"strings"

	"github.com/tripleo-go/tripleo/orchestrate/hot"
)

// scope resolves names inside one (possibly nested) stack of the flat
// graph: a nested stack's resources have ids prefixed with its resource's
// id and a slash.
type scope struct {
	o      *op
	stack  *hot.Stack
	prefix string
	facade map[string]any
}

func (o *op) top() *scope { return &scope{o: o, stack: o.stack} }

func (sc *scope) Param(name string) (any, error) {
	v, ok := sc.stack.Params[name]
	if !ok {
		return nil, fmt.Errorf("%w: parameter %q", ErrNotFound, name)
	}
	return v, nil
}

func (sc *scope) Resource(name string) (any, error) {
	return resourceRef(sc.o.e.j, sc.prefix+name)
}

func (sc *scope) Attribute(resource, attr string, path []any) (any, error) {
	return attribute(sc.o.e.j, sc.o.e.types, sc.prefix+resource, attr, path)
}

func (sc *scope) File(name string) (string, error) { return sc.stack.File(name) }

func (sc *scope) Facade(section string) (any, error) {
	if sc.facade == nil {
		return nil, fmt.Errorf("%w: resource_facade is only available in a nested stack", ErrInvalid)
	}
	return sc.facade[section], nil
}

func (sc *scope) Condition(name string) (bool, error) {
	v, ok := sc.stack.Conditions[name]
	if !ok {
		return false, fmt.Errorf("%w: condition %q", ErrNotFound, name)
	}
	return v, nil
}

func resourceRef(j *journal, name string) (any, error) {
	j.mu.Lock()
	r := j.st.Resources[name]
	j.mu.Unlock()
	if r == nil || r.Status != StatusComplete && r.Action != ActionUpdate {
		return nil, fmt.Errorf("%w: resource %q is not ready", hot.ErrDeferred, name)
	}
	return refID(r), nil
}

func attribute(j *journal, types *Types, name, attr string, path []any) (any, error) {
	j.mu.Lock()
	r := j.st.Resources[name]
	var c *resState
	if r != nil {
		c = r.clone()
	}
	j.mu.Unlock()
	if c == nil || c.Status == StatusInProgress && c.Action == ActionCreate {
		return nil, fmt.Errorf("%w: resource %q is not ready", hot.ErrDeferred, name)
	}
	if c.Type == TypeResourceGroup || c.Type == TypeResourceChain {
		return groupAttribute(j, types, c, attr, path)
	}
	if isDeploymentGroup(c.Type) {
		return deploymentGroupAttribute(j, types, c, attr, path)
	}
	if attr == "" {
		return hot.WalkPath(c.State.Attributes, path)
	}
	v, ok := c.State.Attributes[attr]
	if !ok {
		if rt, err := types.Lookup(c.Type); err == nil && !hot.IsTemplatePath(c.Type) && !isDeployment(c.Type) {
			s := rt.Schema()
			if _, declared := s.Attributes[attr]; !declared && !s.AnyProperties && attr != "show" {
				return nil, fmt.Errorf("%w: the referenced attribute (%s %s) is incorrect", ErrInvalid, name, attr)
			}
		}
		if attr == "show" {
			v = c.State.Attributes
		}
	}
	return hot.WalkPath(v, path)
}

// groupAttribute implements ResourceGroup's attribute forms: refs,
// refs_map, removed_rsrc_list, attributes NAME, resource.N[.ATTR], and any
// other name as the list of that attribute of every member.
func groupAttribute(j *journal, types *Types, g *resState, attr string, path []any) (any, error) {
	members := membersOf(j, g.Name)
	short := func(m *resState) string { return strings.TrimPrefix(m.Name, g.Name+"/") }
	switch {
	case attr == "refs":
		l := make([]any, len(members))
		for i, m := range members {
			l[i] = refID(m)
		}
		return hot.WalkPath(l, path)
	case attr == "refs_map":
		mm := map[string]any{}
		for _, m := range members {
			mm[short(m)] = refID(m)
		}
		return hot.WalkPath(mm, path)
	case attr == "removed_rsrc_list":
		l, _ := g.State.Data["skip"].([]any)
		if l == nil {
			l = []any{}
		}
		return hot.WalkPath(l, path)
	case attr == "attributes":
		if len(path) == 0 {
			return nil, fmt.Errorf("%w: attributes needs an attribute name", ErrInvalid)
		}
		an := fmt.Sprint(path[0])
		mm := map[string]any{}
		for _, m := range members {
			v, err := attribute(j, types, m.Name, an, path[1:])
			if err != nil {
				return nil, err
			}
			mm[short(m)] = v
		}
		return mm, nil
	case strings.HasPrefix(attr, "resource."):
		rest := strings.TrimPrefix(attr, "resource.")
		idx, sub, _ := strings.Cut(rest, ".")
		mname := g.Name + "/" + idx
		found := false
		for _, m := range members {
			found = found || m.Name == mname
		}
		if !found {
			return nil, nil
		}
		if sub == "" {
			if len(path) == 0 {
				return resourceRef(j, mname)
			}
			return attribute(j, types, mname, fmt.Sprint(path[0]), path[1:])
		}
		return attribute(j, types, mname, sub, path)
	case attr == "":
		return map[string]any{"refs": nil}, nil
	}
	l := make([]any, len(members))
	for i, m := range members {
		v, err := attribute(j, types, m.Name, attr, path)
		if err != nil {
			return nil, err
		}
		l[i] = v
	}
	return l, nil
}

// deploymentGroupAttribute maps each member's attribute by server name:
// deploy_stdouts, deploy_stderrs, deploy_status_codes, and any output name.
func deploymentGroupAttribute(j *journal, types *Types, g *resState, attr string, path []any) (any, error) {
	member := map[string]string{"deploy_stdouts": "deploy_stdout", "deploy_stderrs": "deploy_stderr",
		"deploy_status_codes": "deploy_status_code"}[attr]
	if member == "" {
		member = attr
	}
	out := map[string]any{}
	for _, m := range membersOf(j, g.Name) {
		v, err := attribute(j, types, m.Name, member, nil)
		if err != nil {
			return nil, err
		}
		out[strings.TrimPrefix(m.Name, g.Name+"/")] = v
	}
	return hot.WalkPath(out, path)
}
