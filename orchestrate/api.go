package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/tripleo-go/tripleo/orchestrate/hot"
)

// ChangeAction is what a plan does to one resource.
type ChangeAction string

// Plan change actions.
const (
	ChangeCreate  ChangeAction = "create"
	ChangeUpdate  ChangeAction = "update"
	ChangeReplace ChangeAction = "replace"
	ChangeDelete  ChangeAction = "delete"
	ChangeNoop    ChangeAction = "no-op"
)

// Change is one resource's planned change.
type Change struct {
	Resource string
	Type     string
	Action   ChangeAction
}

// Plan is what an Apply would do. It is bound to the state it was made
// against: Apply refuses it once the state has changed.
type Plan struct {
	Action  Action // ActionCreate or ActionUpdate
	Name    string
	Input   *Input
	Changes []Change // sorted by resource
	seq     uint64
}

// Summary counts the changes by action.
func (p *Plan) Summary() map[ChangeAction]int {
	m := map[ChangeAction]int{}
	for _, c := range p.Changes {
		m[c.Action]++
	}
	return m
}

// Plan computes the changes that creating (no stack yet; name names it) or
// updating the stack to in would make. Properties that depend on resources
// being changed are reported as update. On an existing stack, an Input
// without a template plans a PATCH update (see Patched); the plan's Input
// is then the merged one.
func (e *Embedded) Plan(ctx context.Context, name string, in *Input) (*Plan, error) {
	e.j.mu.Lock()
	seq := e.j.seq
	exists := e.j.st.ID != "" && !(e.j.st.Action == ActionDelete && e.j.st.Status == StatusComplete)
	sn, sid := e.j.st.Name, e.j.st.ID
	e.j.mu.Unlock()
	p := &Plan{Action: ActionUpdate, Name: sn, Input: in, seq: seq}
	if !exists {
		p.Action, p.Name, sn, sid = ActionCreate, name, name, ""
	} else {
		var err error
		if in, err = e.patched(in); err != nil {
			return nil, err
		}
		p.Input = in
	}
	st, err := e.build(in, sn, sid)
	if err != nil {
		return nil, err
	}
	o := &op{e: e, stack: st, desired: map[string]bool{}}
	wanted := map[string]bool{}
	for _, d := range st.Resources {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		wanted[d.Name] = true
		c := Change{Resource: d.Name, Type: d.Type}
		typName, err := st.Env.Registry.Resolve(d.Name, d.Type)
		if err != nil {
			return nil, err
		}
		c.Type = typName
		c.Action = o.planOne(d, typName)
		p.Changes = append(p.Changes, c)
		if typName == TypeResourceGroup {
			p.Changes = append(p.Changes, o.planGroup(d, wanted)...)
		}
	}
	if exists {
		e.j.mu.Lock()
		for id, r := range e.j.st.Resources {
			if !wanted[id] && !r.Retired && r.Parent == "" {
				p.Changes = append(p.Changes, Change{Resource: id, Type: r.Type, Action: ChangeDelete})
			}
		}
		e.j.mu.Unlock()
	}
	sort.Slice(p.Changes, func(i, j int) bool { return p.Changes[i].Resource < p.Changes[j].Resource })
	return p, nil
}

func (o *op) planOne(d *hot.Definition, typName string) ChangeAction {
	cur := o.current(d.Name)
	if cur == nil {
		return ChangeCreate
	}
	if cur.Type != typName || cur.Status == StatusFailed {
		return ChangeReplace
	}
	props, err := o.resolve(d.Properties)
	if err != nil {
		return ChangeUpdate
	}
	md, err := o.resolve(d.Metadata)
	if err != nil {
		return ChangeUpdate
	}
	if hot.IsTemplatePath(typName) {
		// The nested resources are not planned one by one yet.
		if cur.Status == StatusComplete && hot.Equal(cur.Properties, props) && hot.Equal(cur.Metadata, md) {
			return ChangeNoop
		}
		return ChangeUpdate
	}
	rt, err := o.e.types.Lookup(typName)
	if err != nil {
		return ChangeReplace
	}
	pm, err := rt.Schema().Validate(props.(map[string]any))
	if err != nil {
		return ChangeUpdate
	}
	if cur.Status == StatusComplete && hot.Equal(cur.Properties, pm) && hot.Equal(cur.Metadata, md) {
		return ChangeNoop
	}
	schema := rt.Schema()
	for _, k := range changedKeys(cur.Properties, pm) {
		if p := schema.Properties[k]; p == nil && !schema.AnyProperties || p != nil && !p.UpdateAllowed {
			return ChangeReplace
		}
	}
	return ChangeUpdate
}

// planGroup lists member creations and deletions when the count is known.
func (o *op) planGroup(d *hot.Definition, wanted map[string]bool) []Change {
	props, err := o.resolve(d.Properties)
	if err != nil {
		return nil
	}
	pm, err := groupType{}.Schema().Validate(props.(map[string]any))
	if err != nil {
		return nil
	}
	count := int(pm["count"].(int64))
	cur := o.current(d.Name)
	skip := map[string]bool{}
	if cur != nil {
		if l, ok := cur.State.Data["skip"].([]any); ok {
			for _, n := range l {
				skip[fmt.Sprint(n)] = true
			}
		}
	}
	var out []Change
	n := 0
	for i := 0; n < count; i++ {
		name := fmt.Sprint(i)
		if skip[name] {
			continue
		}
		n++
		id := d.Name + "/" + name
		wanted[id] = true
		if o.current(id) == nil {
			def, _ := pm["resource_def"].(map[string]any)
			t, _ := def["type"].(string)
			out = append(out, Change{Resource: id, Type: t, Action: ChangeCreate})
		}
	}
	for _, m := range o.members(d.Name) {
		if !wanted[m.Name] {
			out = append(out, Change{Resource: m.Name, Type: m.Type, Action: ChangeDelete})
		}
	}
	return out
}

// Apply runs a plan. It fails with ErrStalePlan when the stack changed
// since the plan was made.
func (e *Embedded) Apply(ctx context.Context, p *Plan) error {
	if err := e.begin(); err != nil {
		return err
	}
	defer e.opMu.Unlock()
	e.j.mu.Lock()
	seq := e.j.seq
	e.j.mu.Unlock()
	if seq != p.seq {
		return ErrStalePlan
	}
	return e.runNew(ctx, p.Action, p.Name, p.Input)
}

// ResourceInfo describes one resource of the stack.
type ResourceInfo struct {
	Name       string `json:"resource_name"`
	Type       string `json:"resource_type"`
	Action     Action `json:"resource_action"`
	Status     Status `json:"resource_status"`
	Reason     string `json:"resource_status_reason,omitempty"`
	PhysicalID string `json:"physical_resource_id"`
}

// StackInfo describes the stack.
type StackInfo struct {
	Name      string         `json:"stack_name"`
	ID        string         `json:"id"`
	Action    Action         `json:"stack_action"`
	Status    Status         `json:"stack_status"`
	Reason    string         `json:"stack_status_reason,omitempty"`
	Resources []ResourceInfo `json:"resources"`
}

// State returns ACTION_STATUS, e.g. CREATE_COMPLETE.
func (s *StackInfo) State() string { return string(s.Action) + "_" + string(s.Status) }

// Show returns the stack and its resources (sorted by name); ErrNotFound
// when the file holds no stack.
func (e *Embedded) Show(_ context.Context) (*StackInfo, error) {
	e.j.mu.Lock()
	defer e.j.mu.Unlock()
	st := e.j.st
	if st.ID == "" {
		return nil, fmt.Errorf("%w: no stack in %s", ErrNotFound, e.path)
	}
	info := &StackInfo{Name: st.Name, ID: st.ID, Action: st.Action, Status: st.Status, Reason: st.Reason,
		Resources: []ResourceInfo{}}
	for _, r := range st.Resources {
		info.Resources = append(info.Resources, ResourceInfo{Name: r.Name, Type: r.Type, Action: r.Action,
			Status: r.Status, Reason: r.Reason, PhysicalID: r.State.PhysicalID})
	}
	sort.Slice(info.Resources, func(i, j int) bool { return info.Resources[i].Name < info.Resources[j].Name })
	return info, nil
}

// Outputs evaluates the stack outputs of the deployed template: output name
// → value, null for outputs whose condition is false. Values of hidden
// parameters are masked as ******. Outputs that cannot be evaluated are
// null and named in the returned error.
func (e *Embedded) Outputs(ctx context.Context) (map[string]any, error) {
	e.j.mu.Lock()
	in, name, id := e.j.st.Input, e.j.st.Name, e.j.st.ID
	if e.j.st.Op != nil && e.j.st.Op.Input != nil {
		in = e.j.st.Op.Input
	}
	e.j.mu.Unlock()
	if in == nil {
		return map[string]any{}, nil
	}
	st, err := e.build(in, name, id)
	if err != nil {
		return nil, err
	}
	o := &op{e: e, stack: st, hidden: st.Hidden()}
	out := map[string]any{}
	var errs []error
	for _, od := range st.Outputs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !od.Enabled {
			out[od.Name] = nil
			continue
		}
		v, err := o.resolve(od.Value)
		if err != nil {
			out[od.Name] = nil
			errs = append(errs, fmt.Errorf("outputs.%s: %w", od.Name, err))
			continue
		}
		out[od.Name] = o.maskValue(v)
	}
	return out, errors.Join(errs...)
}

func (o *op) maskValue(v any) any {
	switch x := v.(type) {
	case string:
		return o.mask(x)
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = o.maskValue(e)
		}
		return l
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = o.maskValue(e)
		}
		return m
	}
	for _, h := range o.hidden {
		if h == hot.PyStr(v) {
			return "******"
		}
	}
	return v
}

// String renders a plan one change per line.
func (p *Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", p.Action, p.Name)
	for _, c := range p.Changes {
		fmt.Fprintf(&b, "  %-8s %s (%s)\n", c.Action, c.Resource, c.Type)
	}
	return b.String()
}
