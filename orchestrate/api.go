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
		if err := in.clearOnlyPatch(); err != nil {
			return nil, err
		}
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
	if err := st.CheckCustom(ctx, e.types.lookupConstraint); err != nil {
		return nil, err
	}
	o := &op{e: e, stack: st, desired: map[string]bool{}}
	pl := &planner{o: o, wanted: map[string]bool{}, expanded: map[string]bool{"": true}}
	if err := pl.stack(ctx, o.top()); err != nil {
		return nil, err
	}
	p.Changes = pl.changes
	if exists {
		e.j.mu.Lock()
		for id, r := range e.j.st.Resources {
			if !pl.wanted[id] && !r.Retired && pl.expanded[r.Parent] {
				p.Changes = append(p.Changes, Change{Resource: id, Type: r.Type, Action: ChangeDelete})
			}
		}
		e.j.mu.Unlock()
	}
	sort.Slice(p.Changes, func(i, j int) bool { return p.Changes[i].Resource < p.Changes[j].Resource })
	return p, nil
}

// planner lists the changes of a plan, descending into groups and
// template resources (nested stacks) as the walk would.
type planner struct {
	o       *op
	changes []Change
	wanted  map[string]bool // resource ids the template wants
	// expanded holds the parents whose members were planned one by one
	// ("" for the top level): their other members are deleted.
	expanded map[string]bool
}

// stack plans the resources of the (nested) stack of sc.
func (pl *planner) stack(ctx context.Context, sc *scope) error {
	for _, d := range sc.stack.Resources {
		if err := ctx.Err(); err != nil {
			return err
		}
		typName, err := sc.stack.Env.Registry.Resolve(d.Name, d.Type)
		if err != nil {
			return err
		}
		props, perr := pl.o.resolveIn(sc, d.Properties)
		md, merr := pl.o.resolveIn(sc, d.Metadata)
		pm, _ := props.(map[string]any)
		var unknown map[string]bool
		if perr != nil {
			// What is known yet still shows a new resource's members or
			// nested resources, as Heat's preview does.
			pm, unknown = pl.o.knownProps(sc, d.Properties)
		}
		if err := pl.one(ctx, sc, sc.prefix+d.Name, typName, pm, md, perr == nil && merr == nil, unknown,
			d.UpdatePolicy, d.DeletionPolicy); err != nil {
			return err
		}
	}
	return nil
}

// one plans resource id of type typName; resolved is false when its
// properties or metadata depend on resources that change.
func (pl *planner) one(ctx context.Context, sc *scope, id, typName string, props map[string]any, md any, resolved bool,
	unknown map[string]bool, updatePolicy map[string]any, deletionPolicy string) error {
	pl.wanted[id] = true
	action := pl.o.planOne(id, typName, props, md, resolved)
	pl.changes = append(pl.changes, Change{Resource: id, Type: typName, Action: action})
	if !resolved && action != ChangeCreate {
		// Nested changes of a changing resource are not known yet.
		return nil
	}
	switch {
	case typName == TypeResourceGroup && !unknown["count"] && !unknown["resource_def"]:
		return pl.group(ctx, sc, id, props)
	case hot.IsTemplatePath(typName):
		return pl.nested(ctx, sc, id, typName, props, md, len(unknown) > 0, updatePolicy, deletionPolicy)
	}
	return nil
}

func (o *op) planOne(id, typName string, props map[string]any, md any, resolved bool) ChangeAction {
	cur := o.current(id)
	if cur == nil {
		return ChangeCreate
	}
	if cur.Type != typName || cur.Status == StatusFailed {
		return ChangeReplace
	}
	if !resolved {
		return ChangeUpdate
	}
	if hot.IsTemplatePath(typName) {
		// The nested resources are planned one by one after this line.
		if cur.Status == StatusComplete && hot.Equal(cur.Properties, props) && hot.Equal(cur.Metadata, md) {
			return ChangeNoop
		}
		return ChangeUpdate
	}
	rt, err := o.e.types.Lookup(typName)
	if err != nil {
		return ChangeReplace
	}
	if props == nil {
		props = map[string]any{}
	}
	pm, err := rt.Schema().Validate(props)
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

// group plans the members of a ResourceGroup: the ones the count wants
// (skipping removed names) one by one; the others are deleted.
func (pl *planner) group(ctx context.Context, sc *scope, id string, props map[string]any) error {
	pm, err := groupType{}.Schema().Validate(props)
	if err != nil {
		return nil
	}
	count := int(pm["count"].(int64))
	indexVar, _ := pm["index_var"].(string)
	def, _ := pm["resource_def"].(map[string]any)
	mtype, _ := def["type"].(string)
	names, _ := pl.o.groupNames(id, pl.o.current(id), pm, count)
	pl.expanded[id] = true
	for _, name := range names {
		typName, err := sc.stack.Env.Registry.Resolve(name, mtype)
		if err != nil {
			return err
		}
		mprops, _ := replaceIndex(def["properties"], indexVar, name).(map[string]any)
		md := replaceIndex(def["metadata"], indexVar, name)
		if err := pl.one(ctx, sc, id+"/"+name, typName, mprops, md, true, nil, nil, "Delete"); err != nil {
			return err
		}
	}
	return nil
}

// knownProps evaluates the properties of sc's resource one by one: the
// values known yet, and the names of the others (they need a resource
// that is not ready).
func (o *op) knownProps(sc *scope, props map[string]any) (map[string]any, map[string]bool) {
	out, unknown := map[string]any{}, map[string]bool{}
	for k, v := range props {
		if rv, err := o.resolveIn(sc, v); err == nil {
			out[k] = rv
		} else {
			unknown[k] = true
		}
	}
	return out, unknown
}

// nested plans the resources of a template resource's nested stack.
func (pl *planner) nested(ctx context.Context, sc *scope, id, path string, props map[string]any, md any,
	partial bool, updatePolicy map[string]any, deletionPolicy string) error {
	o := pl.o
	tmpl, err := o.nestedTemplate(path)
	if err != nil {
		return err
	}
	if partial {
		// A new nested stack whose parameters are not all known yet: its
		// resources (whatever their conditions) will be created.
		for _, r := range tmpl.Resources {
			pl.changes = append(pl.changes, Change{Resource: id + "/" + r.Name, Type: r.Type, Action: ChangeCreate})
		}
		return nil
	}
	params := map[string]any{}
	for k, v := range props {
		if v != nil {
			params[k] = v
		}
	}
	stackID := ""
	if cur := o.current(id); cur != nil {
		stackID = cur.State.PhysicalID
	}
	facade := map[string]any{"metadata": md, "deletion_policy": deletionPolicy, "update_policy": updatePolicy}
	nested, err := hot.Instantiate(tmpl, hot.Options{
		StackName: o.stack.Params[hot.PseudoStackName].(string) + "-" + strings.ReplaceAll(id, "/", "-"),
		StackID:   stackID, ProjectID: o.stack.Params[hot.PseudoProjectID].(string),
		Env: &hot.Environment{Parameters: params, ParameterDefaults: o.stack.Env.ParameterDefaults,
			Registry: o.stack.Env.Registry},
		Files: o.stack.Files(), Loader: o.e.opts.Loader, Facade: facade,
	})
	if err == nil {
		err = nested.CheckCustom(ctx, o.e.types.lookupConstraint)
	}
	if err != nil {
		return fmt.Errorf("resources.%s: nested stack %s: %w", id, path, err)
	}
	pl.expanded[id] = true
	return pl.stack(ctx, &scope{o: o, stack: nested, prefix: id + "/", facade: facade})
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
