package heat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/orchestrate/hot"
)

// maxPlans bounds the plans an engine remembers for Apply.
const maxPlans = 64

// mark is the stack's state a plan was made against.
type mark struct {
	exists  bool
	id      string
	status  string
	updated string
	event   string // the stack's last own event
}

// markOf reads the stack's current mark (the zero mark when there is no
// stack, or a deleted one).
func (e *Engine) markOf(ctx context.Context) (mark, *stackDoc, error) {
	e.mu.Lock()
	sn, sid := e.name, e.id
	e.mu.Unlock()
	if sid == "" {
		return mark{}, nil, nil
	}
	ident := sn + "/" + sid
	d, err := e.getStack(ctx, ident)
	if errors.Is(err, orchestrate.ErrNotFound) {
		return mark{}, nil, nil
	}
	if err != nil {
		return mark{}, nil, err
	}
	if a, s := d.state(); a == orchestrate.ActionDelete && s == orchestrate.StatusComplete {
		return mark{}, nil, nil
	}
	m := mark{exists: true, id: sid, status: d.Status, updated: d.updated()}
	evs, err := e.stackEvents(ctx, ident, "", "desc", 1)
	if err != nil {
		return mark{}, nil, err
	}
	if len(evs) > 0 {
		m.event = evs[0].ID
	}
	return m, d, nil
}

// previewResource is one resource of Heat's preview answers.
type previewResource struct {
	Name   string `json:"resource_name"`
	Type   string `json:"resource_type"`
	Parent string `json:"parent_resource"`
	Stack  string `json:"stack_name"`
	Nested *struct {
		Stack string `json:"stack_name"`
	} `json:"nested_stack_id"`
}

// Plan asks Heat what creating the stack (none yet: POST /stacks/preview)
// or updating it to in (PUT, or PATCH for an input without template, to
// …/preview?show_nested=true) would change. Group members appear under
// their flattened path ("group/2"). Heat's preview of a create lists no
// nested stack's parent on its own: the parent is reported as created with
// the type its template gives.
func (e *Engine) Plan(ctx context.Context, name string, in *orchestrate.Input) (*orchestrate.Plan, error) {
	if e.closed.Load() {
		return nil, errClosed
	}
	b, err := e.body(in)
	if err != nil {
		return nil, err
	}
	m, d, err := e.markOf(ctx)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	sn, sid := e.name, e.id
	e.mu.Unlock()
	p := &orchestrate.Plan{Action: orchestrate.ActionUpdate, Name: sn, Input: in}
	if d == nil {
		if isPatch(in) {
			return nil, fmt.Errorf("heat: %w: create needs a template", orchestrate.ErrInvalid)
		}
		p.Action, p.Name = orchestrate.ActionCreate, name
		b["stack_name"] = name
		var r struct {
			Stack struct {
				Resources []any `json:"resources"`
			} `json:"stack"`
		}
		if err := e.do(ctx, "preview create "+name, http.MethodPost, e.c.ServiceURL("stacks", "preview"), b, &r, 200); err != nil {
			return nil, err
		}
		tmpl, _ := hot.Parse(in.TemplateFile, []byte(in.Template))
		p.Changes = previewCreate(r.Stack.Resources, "", tmpl, nil)
	} else {
		ident := sn + "/" + sid
		method := http.MethodPut
		if isPatch(in) {
			method = http.MethodPatch
		}
		var r struct {
			Changes map[string][]previewResource `json:"resource_changes"`
		}
		if err := e.do(ctx, "preview update "+ident, method, e.stackURL(ident, "preview")+"?show_nested=true", b, &r, 200); err != nil {
			return nil, err
		}
		p.Changes = previewUpdate(sn, r.Changes)
	}
	sort.Slice(p.Changes, func(i, j int) bool { return p.Changes[i].Resource < p.Changes[j].Resource })
	e.mu.Lock()
	if len(e.plans) >= maxPlans {
		for k := range e.plans {
			delete(e.plans, k)
			break
		}
	}
	e.plans[p] = m
	e.mu.Unlock()
	return p, nil
}

// previewCreate flattens the nested lists of a create preview.
func previewCreate(list []any, prefix string, tmpl *hot.Template, out []orchestrate.Change) []orchestrate.Change {
	for _, x := range list {
		switch v := x.(type) {
		case map[string]any:
			n, _ := v["resource_name"].(string)
			t, _ := v["resource_type"].(string)
			out = append(out, orchestrate.Change{Resource: prefix + n, Type: t, Action: orchestrate.ChangeCreate})
		case []any:
			parent := ""
			for _, y := range v {
				if m, ok := y.(map[string]any); ok {
					parent, _ = m["parent_resource"].(string)
					break
				}
			}
			if parent == "" {
				continue
			}
			t := ""
			if prefix == "" && tmpl != nil {
				if r := tmpl.Resource(parent); r != nil {
					t = r.Type
				}
			}
			out = append(out, orchestrate.Change{Resource: prefix + parent, Type: t, Action: orchestrate.ChangeCreate})
			out = previewCreate(v, prefix+parent+"/", nil, out)
		}
	}
	return out
}

// previewActions maps Heat's preview categories to plan actions.
var previewActions = map[string]orchestrate.ChangeAction{
	"added": orchestrate.ChangeCreate, "deleted": orchestrate.ChangeDelete, "replaced": orchestrate.ChangeReplace,
	"updated": orchestrate.ChangeUpdate, "unchanged": orchestrate.ChangeNoop,
}

// previewUpdate flattens an update preview.
func previewUpdate(root string, changes map[string][]previewResource) []orchestrate.Change {
	n := newNamer(root)
	for changed := true; changed; {
		changed = false
		for _, l := range changes {
			for _, r := range l {
				if r.Nested == nil || r.Nested.Stack == "" {
					continue
				}
				if _, known := n.prefix[r.Nested.Stack]; known {
					continue
				}
				if _, ok := n.prefix[r.Stack]; ok {
					n.nested(r.Stack, r.Name, r.Nested.Stack)
					changed = true
				}
			}
		}
	}
	var out []orchestrate.Change
	for cat, l := range changes {
		a, ok := previewActions[cat]
		if !ok {
			continue
		}
		for _, r := range l {
			path := r.Name
			if _, ok := n.prefix[r.Stack]; ok {
				path, _ = n.path(r.Stack, r.Name)
			} else if r.Parent != "" {
				path = r.Parent + "/" + r.Name
			}
			out = append(out, orchestrate.Change{Resource: path, Type: r.Type, Action: a})
		}
	}
	return out
}

// Apply runs a plan this engine made. It fails with
// orchestrate.ErrStalePlan when the stack changed since (another create,
// update or delete: Heat's stack status or updated_time differ), as the
// embedded engine does.
func (e *Engine) Apply(ctx context.Context, p *orchestrate.Plan) error {
	if e.closed.Load() {
		return errClosed
	}
	if p == nil {
		return fmt.Errorf("heat: %w: nil plan", orchestrate.ErrInvalid)
	}
	e.mu.Lock()
	m, ok := e.plans[p]
	delete(e.plans, p)
	e.mu.Unlock()
	if !ok {
		return fmt.Errorf("heat: %w: the plan was not made by this engine (or was applied already)", orchestrate.ErrStalePlan)
	}
	now, _, err := e.markOf(ctx)
	if err != nil {
		return err
	}
	if now != m {
		return orchestrate.ErrStalePlan
	}
	if p.Action == orchestrate.ActionCreate {
		return e.Create(ctx, p.Name, p.Input)
	}
	return e.Update(ctx, p.Input)
}
