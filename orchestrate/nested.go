package orchestrate

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/tripleo-go/tripleo/orchestrate/hot"
)

// templateCache parses each nested template once per operation.
type templateCache struct {
	mu sync.Mutex
	m  map[string]*hot.Template
	// errs keeps parse errors so that every user reports the same one.
	errs map[string]error
}

func (o *op) nestedTemplate(path string) (*hot.Template, error) {
	c := &o.templates
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.m[path]; ok {
		return t, nil
	}
	if err, ok := c.errs[path]; ok {
		return nil, err
	}
	if c.m == nil {
		c.m, c.errs = map[string]*hot.Template{}, map[string]error{}
	}
	src, err := o.stack.File(path)
	if err == nil {
		var t *hot.Template
		t, err = hot.Parse(path, []byte(src))
		if err == nil {
			c.m[path] = t
			return t, nil
		}
	}
	c.errs[path] = err
	return nil, err
}

// nestedRun expands a template resource (a type mapped to a template file)
// into the resources of its template, which join the same graph under ids
// prefixed with the resource's id. Its properties are the nested stack's
// parameters; the environment's parameter_defaults reach it too. When
// every nested resource is complete, the nested outputs become the
// resource's attributes, and an output named OS::stack_id its
// get_resource value, as in Heat.
func (o *op) nestedRun(ctx context.Context, s *spec, t *task, path string, props map[string]any, md any) ([]*task, error) {
	tmpl, err := o.nestedTemplate(path)
	if err != nil {
		return nil, err
	}
	// The nested stack's id is the resource's physical id: the current one,
	// or the one beginParent will give a new generation.
	stackID := keyID(o.key(s.id, 1))
	if cur := o.current(s.id); cur != nil {
		stackID = cur.State.PhysicalID
		if cur.Type != path {
			stackID = keyID(o.key(s.id, cur.Gen+1))
		}
	}
	params := map[string]any{}
	for k, v := range props {
		if v != nil {
			params[k] = v
		}
	}
	env := &hot.Environment{Parameters: params, ParameterDefaults: o.stack.Env.ParameterDefaults,
		Registry: o.stack.Env.Registry}
	o.e.j.mu.Lock()
	stackName := o.e.j.st.Name
	o.e.j.mu.Unlock()
	nested, err := hot.Instantiate(tmpl, hot.Options{
		StackName: stackName + "-" + strings.ReplaceAll(s.id, "/", "-"),
		StackID:   stackID,
		ProjectID: o.stack.Params[hot.PseudoProjectID].(string),
		Env:       env, Files: o.stack.Files(), Loader: o.e.opts.Loader,
		Facade: map[string]any{"metadata": md, "deletion_policy": s.deletionPolicy, "update_policy": s.updatePolicy},
	})
	if err == nil {
		err = nested.CheckCustom(ctx, o.e.types.lookupConstraint)
	}
	if err != nil {
		return nil, fmt.Errorf("nested stack %s: %w", path, err)
	}
	o.addHidden(nested.Hidden())
	p, err := o.beginParent(ctx, s, path, props, md, nil)
	if err != nil {
		return nil, err
	}
	sc := &scope{o: o, stack: nested, prefix: s.id + "/", facade: map[string]any{
		"metadata": md, "deletion_policy": s.deletionPolicy, "update_policy": s.updatePolicy}}
	finish := func(ctx context.Context) error {
		attrs := map[string]any{}
		for _, od := range nested.Outputs {
			if !od.Enabled {
				attrs[od.Name] = nil
				continue
			}
			v, err := o.resolveIn(sc, od.Value)
			if err != nil {
				return fmt.Errorf("resources.%s: outputs.%s: %w", s.id, od.Name, err)
			}
			attrs[od.Name] = v
		}
		if t.rolling {
			if err := o.deleteRetired(ctx, s.id); err != nil {
				return err
			}
		}
		if p.unchanged && hot.Equal(p.cur.State.Attributes, attrs) {
			return nil
		}
		st := p.r.State
		st.Attributes = attrs
		if v, ok := attrs["OS::stack_id"]; ok {
			st.RefID = v
		}
		return o.outcome(p.r, p.action, &st, nil)
	}
	children := o.stackTasks(sc, s.id)
	if len(children) == 0 {
		return nil, finish(ctx)
	}
	t.join = finish
	return children, nil
}

func (o *op) addHidden(h []string) {
	if len(h) == 0 {
		return
	}
	o.mu.Lock()
	o.hidden = append(o.hidden, h...)
	o.mu.Unlock()
}
