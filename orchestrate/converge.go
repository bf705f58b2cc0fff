package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tripleo-go/tripleo/orchestrate/hot"
)

// spec is one resource to converge: a template resource or a group member.
type spec struct {
	id             string // flat id: "name" or "group/index"
	scope          string // name used for per-resource registry scoping
	typ            string // type as written
	props          map[string]any
	md             any
	requires       []string
	parent         string
	index          int
	deletionPolicy string
	updatePolicy   map[string]any
	sc             *scope // where its properties are evaluated
}

func (o *op) converge(ctx context.Context) []error {
	return walk(ctx, o.stackTasks(o.top(), ""), o.e.parallelism(), &o.halt)
}

// stackTasks makes one task per resource of the stack in sc, wired by
// their dependencies; parent is the id of the resource that stands for a
// nested stack ("" at the top).
func (o *op) stackTasks(sc *scope, parent string) []*task {
	tasks := map[string]*task{}
	var list []*task
	for _, d := range sc.stack.Resources {
		reqs := make([]string, len(d.DependsOn))
		for i, dep := range d.DependsOn {
			reqs[i] = sc.prefix + dep
		}
		s := &spec{id: sc.prefix + d.Name, scope: d.Name, typ: d.Type, props: d.Properties, md: d.Metadata,
			requires: reqs, parent: parent, deletionPolicy: d.DeletionPolicy, updatePolicy: d.UpdatePolicy, sc: sc}
		t := o.newTask(s)
		tasks[d.Name] = t
		list = append(list, t)
	}
	for _, d := range sc.stack.Resources {
		for _, dep := range d.DependsOn {
			tasks[d.Name].dependOn(tasks[dep])
		}
	}
	return list
}

func (e *Embedded) parallelism() int {
	if e.opts.Parallelism > 0 {
		return e.opts.Parallelism
	}
	return 64
}

func (o *op) newTask(s *spec) *task {
	t := &task{id: s.id}
	t.run = func(ctx context.Context) ([]*task, error) { return o.runSpec(ctx, s, t) }
	return t
}

func (o *op) markDesired(id string) {
	o.mu.Lock()
	o.desired[id] = true
	o.mu.Unlock()
}

func (o *op) runSpec(ctx context.Context, s *spec, t *task) ([]*task, error) {
	o.markDesired(s.id)
	fail := func(err error) ([]*task, error) {
		return nil, fmt.Errorf("resources.%s: %w", s.id, err)
	}
	// Errors in the definition name the template file too.
	invalid := func(section string, err error) ([]*task, error) {
		return nil, fmt.Errorf("%s: resources.%s.%s: %w", s.sc.stack.Template.File, s.id, section, err)
	}
	typName, err := o.stack.Env.Registry.Resolve(s.scope, s.typ)
	if err != nil {
		return fail(err)
	}
	props, err := o.resolveIn(s.sc, s.props)
	if err != nil {
		return invalid("properties", err)
	}
	md, err := o.resolveIn(s.sc, s.md)
	if err != nil {
		return invalid("metadata", err)
	}
	pm, _ := props.(map[string]any)
	if hot.IsTemplatePath(typName) {
		if err := checkDeletionPolicy(typName, nil, s.deletionPolicy); err != nil {
			return invalid("deletion_policy", err)
		}
		ch, err := o.nestedRun(ctx, s, t, typName, pm, md)
		if err != nil {
			return fail(err)
		}
		return ch, nil
	}
	rt, err := o.e.types.Lookup(typName)
	if err != nil {
		return fail(err)
	}
	if err := checkDeletionPolicy(typName, rt, s.deletionPolicy); err != nil {
		return invalid("deletion_policy", err)
	}
	pm, err = rt.Schema().Validate(pm)
	if err != nil {
		return invalid("properties", err)
	}
	if isDeploymentGroup(typName) {
		ch, err := o.deploymentGroupRun(ctx, s, t, typName, pm, md)
		if err != nil {
			return fail(err)
		}
		return ch, nil
	}
	if isDeployment(typName) {
		if err := o.deployment(ctx, s, typName, pm, md); err != nil {
			return fail(err)
		}
		return nil, nil
	}
	if typName == TypeWaitCondition {
		if err := o.waitCondition(ctx, s, pm, md); err != nil {
			return fail(err)
		}
		return nil, nil
	}
	if typName == TypeResourceChain {
		ch, err := o.chainRun(ctx, s, t, pm, md)
		if err != nil {
			return fail(err)
		}
		return ch, nil
	}
	if typName == TypeResourceGroup {
		ch, err := o.groupRun(ctx, s, t, pm, md)
		if err != nil {
			return fail(err)
		}
		return ch, nil
	}
	if err := o.converge1(ctx, s, typName, rt, pm, md); err != nil {
		return fail(err)
	}
	if t.rolling {
		if err := o.deleteRetired(ctx, s.id); err != nil {
			return fail(err)
		}
	}
	return nil, nil
}

// ownedByLive reports whether a live (not retired) resource has r's key,
// i.e. owns the same physical resource.
func (o *op) ownedByLive(r *resState) bool {
	o.e.j.mu.Lock()
	defer o.e.j.mu.Unlock()
	for _, x := range o.e.j.st.Resources {
		if !x.Retired && x.Key == r.Key && x.Name != r.Name {
			return true
		}
	}
	return false
}

// checkDeletionPolicy refuses the Snapshot policy on a type whose plug-in
// (nil for the types the engine runs itself) cannot snapshot.
func checkDeletionPolicy(typName string, rt ResourceType, policy string) error {
	if policy != "Snapshot" {
		return nil
	}
	if _, ok := rt.(Snapshotter); ok && !engineRun(typName) {
		return nil
	}
	return fmt.Errorf("%w: \"Snapshot\" deletion policy not supported (type %s)", ErrInvalid, typName)
}

// deleteMember deletes a group member and what is nested under it.
func (o *op) deleteMember(ctx context.Context, id string) error {
	o.e.j.mu.Lock()
	var ids []string
	for rid := range o.e.j.st.Resources {
		if rid == id || strings.HasPrefix(rid, id+"/") || strings.HasPrefix(rid, id+"@") {
			ids = append(ids, rid)
		}
	}
	o.e.j.mu.Unlock()
	sort.Strings(ids)
	return errors.Join(o.deleteAll(ctx, ids, false)...)
}

// deleteRetired deletes the replaced copies of id and of the resources
// nested under it (a rolling update keeps no old member past its batch).
func (o *op) deleteRetired(ctx context.Context, id string) error {
	o.e.j.mu.Lock()
	var ids []string
	for rid, r := range o.e.j.st.Resources {
		if r.Retired && (strings.HasPrefix(rid, id+"@") || strings.HasPrefix(rid, id+"/")) {
			ids = append(ids, rid)
		}
	}
	o.e.j.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	sort.Strings(ids)
	return errors.Join(o.deleteAll(ctx, ids, false)...)
}

// resolve evaluates what is left of an expression of the top-level stack
// now that its resources exist.
func (o *op) resolve(v any) (any, error) { return o.resolveIn(o.top(), v) }

// resolveIn evaluates v in the (nested) stack of sc.
func (o *op) resolveIn(sc *scope, v any) (any, error) {
	out, complete, err := hot.Eval(sc.stack.Template.Version, v, sc)
	if err != nil {
		return nil, err
	}
	if !complete {
		return nil, fmt.Errorf("%w: refers to a resource that is not ready", ErrInvalid)
	}
	return out, nil
}

func (o *op) converge1(ctx context.Context, s *spec, typName string, rt ResourceType, props map[string]any, md any) error {
	cur := o.current(s.id)
	want := &resState{Name: s.id, Type: typName, Properties: props, Metadata: md, Requires: s.requires,
		Parent: s.parent, Index: s.index, DeletionPolicy: s.deletionPolicy}
	if cur == nil {
		if err := o.pause(ctx, s.id, typName, nil, "pre-create"); err != nil {
			return err
		}
		if err := o.create(ctx, rt, want, 1, ""); err != nil {
			return err
		}
		return o.pause(ctx, s.id, typName, o.current(s.id), "post-create")
	}
	if cur.Status == StatusInProgress {
		// Interrupted by a crash: find out what exists.
		cctx, cancel := o.callCtx(ctx)
		st, err := rt.Check(cctx, o.request(cur))
		cancel()
		switch {
		case errors.Is(err, ErrNotFound):
			if cur.Action == ActionCreate {
				return o.create(ctx, rt, want, cur.Gen, cur.Key)
			}
			return o.replace(ctx, rt, cur, want)
		case err != nil:
			return fmt.Errorf("check after restart: %w", err)
		}
		cur.State = *st
		if cur.Action == ActionUpdate {
			// The update may or may not have happened: redo it (plug-in
			// updates are idempotent).
			return o.update(ctx, rt, cur, want)
		}
		cur.Action, cur.Status, cur.Reason = ActionCreate, StatusComplete, "adopted after restart"
		if err := o.record(cur); err != nil {
			return err
		}
		o.resEvent(cur, ActionCreate, StatusComplete, "state adopted after restart")
	}
	if cur.Type != typName || cur.Status == StatusFailed {
		return o.replace(ctx, rt, cur, want)
	}
	if hot.Equal(cur.Properties, props) && hot.Equal(cur.Metadata, md) {
		if !equalStrings(cur.Requires, want.Requires) {
			cur.Requires = want.Requires
			return o.record(cur)
		}
		return nil
	}
	schema := rt.Schema()
	inPlace := true
	for _, k := range changedKeys(cur.Properties, props) {
		p := schema.Properties[k]
		if p != nil && p.Immutable {
			return fmt.Errorf("%w: property %s is immutable", ErrInvalid, k)
		}
		if p == nil && !schema.AnyProperties || p != nil && !p.UpdateAllowed {
			inPlace = false
		}
	}
	if err := o.pause(ctx, s.id, typName, cur, "pre-update"); err != nil {
		return err
	}
	var err error
	if inPlace {
		err = o.update(ctx, rt, cur, want)
	} else {
		err = o.replace(ctx, rt, cur, want)
	}
	if err != nil {
		return err
	}
	return o.pause(ctx, s.id, typName, o.current(s.id), "post-update")
}

func changedKeys(a, b map[string]any) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || !hot.Equal(v, w) {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (o *op) create(ctx context.Context, rt ResourceType, r *resState, gen int, key string) error {
	r.Gen = gen
	r.Key = key
	if key == "" {
		r.Key = o.key(r.Name, gen)
	}
	r.Action, r.Status, r.Reason = ActionCreate, StatusInProgress, ""
	r.State = State{}
	if err := o.record(r); err != nil {
		return err
	}
	o.resEvent(r, ActionCreate, StatusInProgress, "state changed")
	req := o.request(r)
	req.Prior = nil
	cctx, cancel := o.callCtx(ctx)
	st, err := rt.Create(cctx, req)
	cancel()
	return o.outcome(r, ActionCreate, st, err)
}

// outcome records the result of a plug-in call.
func (o *op) outcome(r *resState, a Action, st *State, err error) error {
	r.Action = a
	if err != nil {
		r.Status, r.Reason = StatusFailed, o.mask(err.Error())
		o.halt.Store(true)
		if jerr := o.record(r); jerr != nil {
			return jerr
		}
		o.resEvent(r, a, StatusFailed, r.Reason)
		return err
	}
	if st != nil {
		r.State = *st
	}
	r.Status, r.Reason = StatusComplete, "state changed"
	if err := o.record(r); err != nil {
		return err
	}
	o.resEvent(r, a, StatusComplete, "state changed")
	return nil
}

func (o *op) update(ctx context.Context, rt ResourceType, cur, want *resState) error {
	r := want.clone()
	r.Key, r.Gen, r.State = cur.Key, cur.Gen, cur.State
	r.Action, r.Status, r.Reason = ActionUpdate, StatusInProgress, ""
	if err := o.record(r); err != nil {
		return err
	}
	o.resEvent(r, ActionUpdate, StatusInProgress, "state changed")
	req := o.request(r)
	req.PriorProperties = cur.Properties
	cctx, cancel := o.callCtx(ctx)
	st, err := rt.Update(cctx, req)
	cancel()
	if errors.Is(err, ErrReplace) {
		return o.replace(ctx, rt, cur, want)
	}
	return o.outcome(r, ActionUpdate, st, err)
}

// replace creates a new resource (next generation, new key) and retires the
// old one, which the cleanup phase deletes; a type whose schema says
// DeleteFirst is deleted first. A retired copy that matches the wanted
// state (a rollback to it) is restored instead.
func (o *op) replace(ctx context.Context, rt ResourceType, cur, want *resState) error {
	if done, err := o.restore(cur, want); done || err != nil {
		return err
	}
	if rt.Schema().DeleteFirst {
		if err := o.deleteRes(ctx, cur.clone()); err != nil {
			return err
		}
		return o.create(ctx, rt, want, cur.Gen+1, "")
	}
	old := cur.clone()
	old.Name = fmt.Sprintf("%s@%d", cur.Name, cur.Gen)
	old.Retired = true
	if err := o.e.j.append(&record{T: "res", ID: old.Name, Res: old}); err != nil {
		return err
	}
	return o.create(ctx, rt, want, cur.Gen+1, "")
}

// undesired lists the recorded resources the template no longer wants,
// and retired (replaced) ones.
func (o *op) undesired() []string {
	o.e.j.mu.Lock()
	defer o.e.j.mu.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for id, r := range o.e.j.st.Resources {
		if r.Retired || !o.desired[id] {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// deleteAll deletes the given resources (all of them when all is set),
// each after everything that requires it.
func (o *op) deleteAll(ctx context.Context, ids []string, all bool) []error {
	o.e.j.mu.Lock()
	if all {
		for id := range o.e.j.st.Resources {
			ids = append(ids, id)
		}
		sort.Strings(ids)
	}
	tasks := map[string]*task{}
	var list []*task
	reqs := map[string][]string{}
	for _, id := range ids {
		r := o.e.j.st.Resources[id]
		if r == nil {
			continue
		}
		req := append([]string{}, r.Requires...)
		if r.Parent != "" {
			req = append(req, r.Parent)
		}
		reqs[id] = req
		id := id
		t := &task{id: id}
		t.run = func(ctx context.Context) ([]*task, error) {
			r := o.current(id)
			if r == nil {
				return nil, nil
			}
			return nil, o.deleteRes(ctx, r)
		}
		tasks[id] = t
		list = append(list, t)
	}
	o.e.j.mu.Unlock()
	for id, req := range reqs {
		for _, x := range req {
			if tx := tasks[x]; tx != nil && x != id {
				tx.dependOn(tasks[id])
			}
		}
	}
	return walk(ctx, list, o.e.parallelism(), &o.halt)
}

func (o *op) deleteRes(ctx context.Context, r *resState) (err error) {
	if r.Retired && o.ownedByLive(r) {
		// A restored backup (see restore) whose retired record a crash
		// left behind: the live resource owns it, so only forget it.
		return o.e.j.append(&record{T: "del", ID: r.Name})
	}
	if r.DeletionPolicy == "Retain" {
		if err := o.e.j.append(&record{T: "del", ID: r.Name}); err != nil {
			return err
		}
		o.resEvent(r, ActionDelete, StatusComplete, "resource retained (deletion_policy Retain)")
		return nil
	}
	if hot.IsTemplatePath(r.Type) {
		// A nested stack's resources are gone (they went first): forget it.
		o.resEvent(r, ActionDelete, StatusInProgress, "state changed")
		if err := o.e.j.append(&record{T: "del", ID: r.Name}); err != nil {
			return err
		}
		o.resEvent(r, ActionDelete, StatusComplete, "state changed")
		return nil
	}
	if !r.Retired && (!engineRun(r.Type) || isDeployment(r.Type)) {
		if err := o.pause(ctx, r.Name, r.Type, r, "pre-delete"); err != nil {
			return err
		}
		defer func() {
			if err == nil {
				err = o.pause(ctx, r.Name, r.Type, r, "post-delete")
			}
		}()
	}
	if isDeployment(r.Type) {
		return o.deleteDeployment(ctx, r)
	}
	rt, err := o.e.types.Lookup(r.Type)
	if err != nil {
		return fmt.Errorf("resources.%s: %w", r.Name, err)
	}
	r.Action, r.Status, r.Reason = ActionDelete, StatusInProgress, ""
	if err := o.record(r); err != nil {
		return err
	}
	o.resEvent(r, ActionDelete, StatusInProgress, "state changed")
	cctx, cancel := o.callCtx(ctx)
	if sn, ok := rt.(Snapshotter); ok && r.DeletionPolicy == "Snapshot" {
		err = sn.Snapshot(cctx, o.request(r))
	}
	if err == nil {
		err = rt.Delete(cctx, o.request(r))
	}
	cancel()
	if err != nil && !errors.Is(err, ErrNotFound) {
		r.Status, r.Reason = StatusFailed, o.mask(err.Error())
		o.halt.Store(true)
		if jerr := o.record(r); jerr != nil {
			return jerr
		}
		o.resEvent(r, ActionDelete, StatusFailed, r.Reason)
		return fmt.Errorf("resources.%s: %w", r.Name, err)
	}
	if err := o.e.j.append(&record{T: "del", ID: r.Name}); err != nil {
		return err
	}
	o.resEvent(r, ActionDelete, StatusComplete, "state changed")
	return nil
}

// groupRun expands a ResourceGroup into its members, which join the walk.
func (o *op) groupRun(ctx context.Context, s *spec, t *task, props map[string]any, md any) ([]*task, error) {
	cur := o.current(s.id)
	count := int(props["count"].(int64))
	indexVar, _ := props["index_var"].(string)
	def, _ := props["resource_def"].(map[string]any)
	mtype, _ := def["type"].(string)
	if mtype == "" {
		return nil, fmt.Errorf("%w: resource_def needs a type", ErrInvalid)
	}
	for k := range def {
		if k != "type" && k != "properties" && k != "metadata" {
			return nil, fmt.Errorf("%w: resource_def: unknown key %q", ErrInvalid, k)
		}
	}
	members := o.members(s.id)
	names, skipList := o.groupNames(s.id, cur, props, count)
	sl := make([]any, len(skipList))
	for i, n := range skipList {
		sl[i] = n
	}
	nl := make([]any, len(names))
	for i, n := range names {
		nl[i] = n
	}
	p, err := o.beginParent(ctx, s, TypeResourceGroup, props, md, map[string]any{"skip": sl, "members": nl})
	if err != nil {
		return nil, err
	}
	mprops, _ := def["properties"].(map[string]any)
	var children []*task
	byIndex := make([]*task, len(names))
	for i, n := range names {
		idx, _ := strconv.Atoi(n)
		ms := &spec{id: s.id + "/" + n, scope: n, typ: mtype,
			props:    replaceIndex(mprops, indexVar, n).(map[string]any),
			md:       replaceIndex(def["metadata"], indexVar, n),
			requires: []string{}, parent: s.id, index: idx, deletionPolicy: "Delete", sc: s.sc}
		if ms.props == nil {
			ms.props = map[string]any{}
		}
		byIndex[i] = o.newTask(ms)
		children = append(children, byIndex[i])
	}
	var batches [][]*task
	var pause time.Duration
	if bc, ok := s.updatePolicy["batch_create"].(map[string]any); ok && cur == nil && len(names) > 0 {
		pause = time.Duration(floatOf(bc["pause_time"], 0) * float64(time.Second))
		prev := 0
		for _, b := range Batches(len(names), 0, intOf(bc["max_batch_size"], 1), 0) {
			batches = append(batches, byIndex[prev:b.Capacity])
			prev = b.Capacity
		}
	}
	if ru, ok := s.updatePolicy["rolling_update"].(map[string]any); ok && cur != nil && len(names) > 0 {
		pause = time.Duration(floatOf(ru["pause_time"], 0) * float64(time.Second))
		batches = o.rollingBatches(s, names, byIndex, mtype, def, indexVar,
			intOf(ru["max_batch_size"], 1), intOf(ru["min_in_service"], 0))
		// Members no longer wanted go first, as in Heat.
		wanted := map[string]bool{}
		for _, n := range names {
			wanted[s.id+"/"+n] = true
		}
		var removals []*task
		for _, m := range members {
			if wanted[m.Name] {
				continue
			}
			m := m
			rt := &task{id: m.Name + "#remove"}
			rt.run = func(ctx context.Context) ([]*task, error) { return nil, o.deleteMember(ctx, m.Name) }
			removals = append(removals, rt)
		}
		if len(batches) > 0 {
			for _, b := range batches[0] {
				for _, r := range removals {
					b.dependOn(r)
				}
			}
		}
		children = append(children, removals...)
		if t := o.e.opts.Timeout; t > 0 && len(batches) > 1 && pause*time.Duration(len(batches)-1) >= t {
			return nil, fmt.Errorf("%w: rolling_update pause_time × (batches-1) = %s is not less than the stack timeout %s",
				ErrInvalid, pause*time.Duration(len(batches)-1), t)
		}
	}
	children = append(children, chainBatches(s.id, batches, pause)...)
	return p.expand(ctx, t, children)
}

// groupNames returns the member names of group id that count wants
// (skipping removed ones; removal_policies name members by name or
// reference) and the skip list to keep.
func (o *op) groupNames(id string, cur *resState, props map[string]any, count int) (names, skipList []string) {
	skip := map[string]bool{}
	addSkip := func(n string) {
		if !skip[n] {
			skip[n] = true
			skipList = append(skipList, n)
		}
	}
	if cur != nil && props["removal_policies_mode"] != "update" {
		if l, ok := cur.State.Data["skip"].([]any); ok {
			for _, n := range l {
				addSkip(fmt.Sprint(n))
			}
		}
	}
	members := o.members(id)
	for _, p := range props["removal_policies"].([]any) {
		pm, _ := p.(map[string]any)
		l, _ := pm["resource_list"].([]any)
		for _, x := range l {
			name := fmt.Sprint(x)
			for _, m := range members {
				if fmt.Sprint(refID(m)) == name {
					name = strings.TrimPrefix(m.Name, id+"/")
				}
			}
			addSkip(name)
		}
	}
	for i := 0; len(names) < count; i++ {
		if n := strconv.Itoa(i); !skip[n] {
			names = append(names, n)
		}
	}
	return names, skipList
}

// chainBatches makes each batch wait for the previous one (and the pause
// after it) and returns the barrier tasks it added.
func chainBatches(id string, batches [][]*task, pause time.Duration) []*task {
	var barriers []*task
	var barrier *task
	for i, batch := range batches {
		if barrier != nil {
			for _, m := range batch {
				m.dependOn(barrier)
			}
		}
		if i == len(batches)-1 {
			break
		}
		nb := &task{id: fmt.Sprintf("%s#batch%d", id, i)}
		nb.run = func(ctx context.Context) ([]*task, error) { return nil, sleepCtx(ctx, pause) }
		for _, m := range batch {
			nb.dependOn(m)
		}
		barriers = append(barriers, nb)
		barrier = nb
	}
	return barriers
}

// rollingBatches orders the members that change for a rolling update, as
// Heat does: new members first, then existing ones highest index first;
// batch sizes follow Batches(target, current, batchSize, minInService).
// Members of a rolling batch delete their replaced copies before the next
// batch starts.
func (o *op) rollingBatches(s *spec, names []string, byIndex []*task, mtype string, def map[string]any,
	indexVar string, batchSize, minInService int) [][]*task {
	var fresh, changed []*task
	existing := 0
	for i, n := range names {
		id := s.id + "/" + n
		cur := o.current(id)
		if cur != nil {
			existing++
		}
		if cur == nil {
			fresh = append(fresh, byIndex[i])
			continue
		}
		props := replaceIndex(def["properties"], indexVar, n)
		md := replaceIndex(def["metadata"], indexVar, n)
		if o.memberChanged(cur, n, mtype, props, md) {
			changed = append(changed, byIndex[i])
		}
	}
	for i, j := 0, len(changed)-1; i < j; i, j = i+1, j-1 {
		changed[i], changed[j] = changed[j], changed[i]
	}
	queue := append(fresh, changed...)
	for _, t := range queue {
		t.rolling = true
	}
	var out [][]*task
	for _, b := range Batches(len(names), existing, batchSize, minInService) {
		if len(queue) == 0 {
			break
		}
		if b.Updated == 0 {
			continue
		}
		k := min(b.Updated, len(queue))
		out = append(out, queue[:k])
		queue = queue[k:]
	}
	if len(queue) > 0 {
		out = append(out, queue)
	}
	return out
}

// memberChanged reports whether a group member's recorded state differs
// from its definition.
func (o *op) memberChanged(cur *resState, scopeName, mtype string, props, md any) bool {
	typName, err := o.stack.Env.Registry.Resolve(scopeName, mtype)
	if err != nil || cur.Type != typName || cur.Status != StatusComplete {
		return true
	}
	pm, _ := props.(map[string]any)
	if pm == nil {
		pm = map[string]any{}
	}
	if !hot.IsTemplatePath(typName) {
		rt, err := o.e.types.Lookup(typName)
		if err != nil {
			return true
		}
		if pm, err = rt.Schema().Validate(pm); err != nil {
			return true
		}
	}
	return !hot.Equal(cur.Properties, pm) || !hot.Equal(cur.Metadata, md)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

func intOf(v any, def int) int {
	if f, ok := number(v); ok {
		return int(f)
	}
	if s, ok := v.(string); ok {
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
	}
	return def
}

func floatOf(v any, def float64) float64 {
	if f, ok := number(v); ok {
		return f
	}
	return def
}

func replaceIndex(v any, indexVar, name string) any {
	if indexVar == "" {
		return hot.Clone(v)
	}
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, indexVar, name)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = replaceIndex(e, indexVar, name)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[strings.ReplaceAll(k, indexVar, name)] = replaceIndex(e, indexVar, name)
		}
		return out
	}
	return v
}

// members returns the live members of group id in index order.
func (o *op) members(id string) []*resState {
	return membersOf(o.e.j, id)
}

func membersOf(j *journal, id string) []*resState {
	j.mu.Lock()
	defer j.mu.Unlock()
	g := j.st.Resources[id]
	var out []*resState
	if g != nil {
		if l, ok := g.State.Data["members"].([]any); ok {
			for _, n := range l {
				if m := j.st.Resources[id+"/"+fmt.Sprint(n)]; m != nil && !m.Retired {
					out = append(out, m.clone())
				}
			}
			return out
		}
	}
	for _, r := range j.st.Resources {
		if r.Parent == id && !r.Retired {
			out = append(out, r.clone())
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Index < out[b].Index })
	return out
}

func refID(r *resState) any {
	if r.State.RefID != nil {
		return r.State.RefID
	}
	return r.State.PhysicalID
}

// restore swaps back a retired copy of cur that already has the wanted
// type, properties and metadata (the backup kept until the end of the
// operation that replaced it, as Heat's rollback does).
func (o *op) restore(cur, want *resState) (bool, error) {
	o.e.j.mu.Lock()
	var back *resState
	for rid, r := range o.e.j.st.Resources {
		if r.Retired && strings.HasPrefix(rid, cur.Name+"@") && r.Status == StatusComplete &&
			r.Type == want.Type && hot.Equal(r.Properties, want.Properties) && hot.Equal(r.Metadata, want.Metadata) {
			back = r.clone()
			break
		}
	}
	o.e.j.mu.Unlock()
	if back == nil {
		return false, nil
	}
	backID := back.Name
	old := cur.clone()
	old.Name, old.Retired = fmt.Sprintf("%s@%d", cur.Name, cur.Gen), true
	if err := o.e.j.append(&record{T: "res", ID: old.Name, Res: old}); err != nil {
		return true, err
	}
	back.Name, back.Retired = cur.Name, false
	back.Requires, back.Parent, back.Index, back.DeletionPolicy = want.Requires, want.Parent, want.Index, want.DeletionPolicy
	if err := o.record(back); err != nil {
		return true, err
	}
	if err := o.e.j.append(&record{T: "del", ID: backID}); err != nil {
		return true, err
	}
	o.resEvent(back, o.action, StatusComplete, "restored the replaced resource")
	return true, nil
}

// chainRun expands a ResourceChain: member i has the i-th type and the
// common resource_properties; without concurrent each waits for the
// previous one.
func (o *op) chainRun(ctx context.Context, s *spec, t *task, props map[string]any, md any) ([]*task, error) {
	types, _ := props["resources"].([]any)
	names := make([]any, len(types))
	for i := range types {
		names[i] = strconv.Itoa(i)
	}
	p, err := o.beginParent(ctx, s, TypeResourceChain, props, md, map[string]any{"members": names})
	if err != nil {
		return nil, err
	}
	rp, _ := props["resource_properties"].(map[string]any)
	concurrent, _ := props["concurrent"].(bool)
	var children []*task
	for i, ty := range types {
		typ, ok := ty.(string)
		if !ok || typ == "" {
			return nil, fmt.Errorf("%w: resources[%d] must be a type name", ErrInvalid, i)
		}
		n := strconv.Itoa(i)
		ms := &spec{id: s.id + "/" + n, scope: n, typ: typ, props: hot.Clone(rp).(map[string]any),
			requires: []string{}, parent: s.id, index: i, deletionPolicy: "Delete", sc: s.sc}
		if ms.props == nil {
			ms.props = map[string]any{}
		}
		ct := o.newTask(ms)
		if !concurrent && i > 0 {
			ct.dependOn(children[i-1])
			ms.requires = []string{s.id + "/" + strconv.Itoa(i-1)}
		}
		children = append(children, ct)
	}
	return p.expand(ctx, t, children)
}

// parentRes is a resource that expands into children (group, chain,
// deployment group, template resource). It is recorded IN_PROGRESS when it
// changes and COMPLETE once its children are.
type parentRes struct {
	o         *op
	r         *resState
	cur       *resState
	action    Action
	unchanged bool
}

// beginParent records a parent resource about to expand; data is kept in
// its State.Data (member lists, skip lists) and part of the change check.
// A changing parent first pauses at its pre-create or pre-update hook.
func (o *op) beginParent(ctx context.Context, s *spec, typName string, props map[string]any, md any, data map[string]any) (*parentRes, error) {
	cur := o.current(s.id)
	r := &resState{Name: s.id, Type: typName, Properties: props, Metadata: md,
		Requires: s.requires, Parent: s.parent, Index: s.index, DeletionPolicy: s.deletionPolicy}
	p := &parentRes{o: o, r: r, cur: cur, action: ActionCreate}
	if cur != nil && cur.Type == typName {
		r.Key, r.Gen, r.State = cur.Key, cur.Gen, cur.State
		p.action = ActionUpdate
	} else {
		gen := 1
		if cur != nil {
			gen = cur.Gen + 1
		}
		r.Key, r.Gen = o.key(s.id, gen), gen
		r.State = State{PhysicalID: keyID(r.Key)}
	}
	if data != nil {
		r.State.Data = data
	}
	p.unchanged = cur != nil && cur.Type == typName && cur.Status == StatusComplete &&
		hot.Equal(cur.Properties, props) && hot.Equal(cur.Metadata, md) && hot.Equal(cur.State.Data, r.State.Data)
	if !p.unchanged {
		hook := "pre-update"
		if cur == nil {
			hook = "pre-create"
		}
		if err := o.pause(ctx, s.id, typName, cur, hook); err != nil {
			return nil, err
		}
		r.Action, r.Status = p.action, StatusInProgress
		if err := o.record(r); err != nil {
			return nil, err
		}
		o.resEvent(r, p.action, StatusInProgress, "state changed")
	}
	return p, nil
}

// finish records the parent COMPLETE (with attrs when not nil), unless
// nothing changed.
func (p *parentRes) finish(attrs map[string]any) error {
	if p.unchanged && (attrs == nil || hot.Equal(p.cur.State.Attributes, attrs)) {
		return nil
	}
	var st *State
	if attrs != nil {
		c := p.r.State
		c.Attributes = attrs
		st = &c
	}
	return p.o.outcome(p.r, p.action, st, nil)
}

// expand hands the children to the walk, or finishes at once without any.
func (p *parentRes) expand(ctx context.Context, t *task, children []*task) ([]*task, error) {
	if len(children) == 0 {
		return nil, p.finish(nil)
	}
	t.join = func(context.Context) error { return p.finish(nil) }
	return children, nil
}
