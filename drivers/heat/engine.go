package heat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/orchestrate/hot"
)

// EngineOptions configure an [Engine]; nil or zero fields mean defaults.
type EngineOptions struct {
	// PollInterval is how often a running operation's stack is read;
	// 0 means 2 s.
	PollInterval time.Duration
	// Timeout is the stack timeout sent to Heat (timeout_mins, rounded up
	// to whole minutes); 0 leaves Heat's default (60 minutes).
	Timeout time.Duration
	// DisableRollback leaves a failed create or update FAILED instead of
	// rolling back (Heat's disable_rollback). Unlike Heat's API, whose
	// default is true, the default here is to roll back, as the embedded
	// engine does.
	DisableRollback bool
	// NestedDepth is how deep Show and Events look into nested stacks
	// (group members, template resources); 0 means 5.
	NestedDepth int
	// Logger receives a line per request and per operation; nil discards.
	// Tokens and hidden parameter values are never logged.
	Logger *slog.Logger
}

// Engine is an orchestrate.Engine (and orchestrate.StackActioner) on a
// real OpenStack Heat: one stack, named at Open or at Create, driven
// through Heat's REST API with a gophercloud client. See the package
// documentation for how each call maps onto Heat's API and where Heat
// differs from the embedded engine.
type Engine struct {
	c      *gophercloud.ServiceClient
	opts   EngineOptions
	log    *slog.Logger
	closed atomic.Bool

	mu      sync.Mutex
	name    string // the stack's name
	id      string // the stack's id; "" until found or created
	good    *orchestrate.Input
	plans   map[*orchestrate.Plan]mark
	secrets []string // hidden parameter values seen, scrubbed from errors
}

var (
	_ orchestrate.Engine         = (*Engine)(nil)
	_ orchestrate.StackActioner  = (*Engine)(nil)
	_ orchestrate.ResourceMarker = (*Engine)(nil)
)

// errClosed is returned by every call after Close.
var errClosed = errors.New("heat: engine closed")

// Open returns an engine for the stack named stack through c (a client
// from NoAuthClient or KeystoneClient). When the stack exists, the engine
// is bound to it; otherwise (or when stack is "") Create makes it. Open
// fails only when Heat cannot be asked.
func Open(ctx context.Context, c *gophercloud.ServiceClient, stack string, opts *EngineOptions) (*Engine, error) {
	if c == nil {
		return nil, fmt.Errorf("heat: nil client")
	}
	e := &Engine{c: c, name: stack, plans: map[*orchestrate.Plan]mark{}}
	if opts != nil {
		e.opts = *opts
	}
	if e.opts.PollInterval <= 0 {
		e.opts.PollInterval = 2 * time.Second
	}
	if e.opts.NestedDepth <= 0 {
		e.opts.NestedDepth = 5
	}
	e.log = e.opts.Logger
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if stack == "" {
		return e, nil
	}
	var r struct{ Stack stackDoc }
	err := e.do(ctx, "find stack "+stack, http.MethodGet, e.c.ServiceURL("stacks", url.PathEscape(stack)), nil, &r, 200)
	switch {
	case errors.Is(err, orchestrate.ErrNotFound):
		return e, nil
	case err != nil:
		return nil, err
	}
	e.id = r.Stack.ID
	return e, nil
}

// stackDoc is the part of Heat's stack document the driver reads.
type stackDoc struct {
	Name            string   `json:"stack_name"`
	ID              string   `json:"id"`
	Status          string   `json:"stack_status"`
	Reason          string   `json:"stack_status_reason"`
	Updated         *string  `json:"updated_time"`
	DisableRollback bool     `json:"disable_rollback"`
	Outputs         []output `json:"outputs"`
}

type output struct {
	Key   string `json:"output_key"`
	Value any    `json:"output_value"`
	Error string `json:"output_error"`
}

func (d *stackDoc) state() (orchestrate.Action, orchestrate.Status) {
	a, s := splitState(d.Status)
	return orchestrate.Action(a), orchestrate.Status(s)
}

func (d *stackDoc) updated() string {
	if d.Updated == nil {
		return ""
	}
	return *d.Updated
}

// ident returns the stack's "name/id", or ErrNotFound when there is none.
func (e *Engine) ident() (string, error) {
	if e.closed.Load() {
		return "", errClosed
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.id == "" {
		return "", fmt.Errorf("heat: stack %q: %w", e.name, orchestrate.ErrNotFound)
	}
	return e.name + "/" + e.id, nil
}

// stackURL returns the URL of the stack, followed by parts.
func (e *Engine) stackURL(ident string, parts ...string) string {
	all := []string{"stacks"}
	for _, p := range append(strings.SplitN(ident, "/", 2), parts...) {
		all = append(all, url.PathEscape(p))
	}
	return e.c.ServiceURL(all...)
}

// secretList returns the values to scrub: the client's token and the
// hidden parameter values seen.
func (e *Engine) secretList() []string {
	e.mu.Lock()
	s := append([]string(nil), e.secrets...)
	e.mu.Unlock()
	if e.c.ProviderClient != nil {
		if t := e.c.ProviderClient.Token(); t != "" {
			s = append(s, t)
		}
	}
	return s
}

// do sends one request: body as JSON, the answer decoded into out, ok the
// accepted statuses. Errors are mapped with mapError.
func (e *Engine) do(ctx context.Context, op, method, u string, body, out any, ok ...int) error {
	ro := &gophercloud.RequestOpts{JSONBody: body, JSONResponse: out, OkCodes: ok,
		MoreHeaders: map[string]string{"Accept": "application/json"}}
	if out == nil {
		ro.KeepResponseBody = false
	}
	resp, err := e.c.Request(ctx, method, u, ro)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	if c, _, isCode := responseCode(err); isCode {
		status = c
	}
	e.log.Debug("heat request", "op", op, "method", method, "url", scrubAll(u, e.secretList()), "status", status)
	if err != nil {
		return mapError(op, err, e.secretList())
	}
	return nil
}

// getStack reads the stack document.
func (e *Engine) getStack(ctx context.Context, ident string) (*stackDoc, error) {
	var r struct{ Stack stackDoc }
	if err := e.do(ctx, "show stack", http.MethodGet, e.stackURL(ident), nil, &r, 200); err != nil {
		return nil, err
	}
	return &r.Stack, nil
}

// body builds a create or update request from in: the template and the
// environments as JSON documents decoded by orchestrate/hot (never
// re-marshalled through YAML 1.1), the files and the parameters. A PATCH
// update (no template) carries no template.
func (e *Engine) body(in *orchestrate.Input) (map[string]any, error) {
	if in == nil {
		return nil, fmt.Errorf("heat: %w: no input", orchestrate.ErrInvalid)
	}
	if len(in.ClearParams) > 0 && !isPatch(in) {
		return nil, fmt.Errorf("heat: %w: ClearParams %v: only a PATCH update (no template) clears parameters", orchestrate.ErrInvalid, in.ClearParams)
	}
	b := map[string]any{"disable_rollback": e.opts.DisableRollback}
	if len(in.ClearParams) > 0 {
		b["clear_parameters"] = append([]string(nil), in.ClearParams...)
	}
	if e.opts.Timeout > 0 {
		b["timeout_mins"] = int((e.opts.Timeout + time.Minute - 1) / time.Minute)
	}
	var secrets []string
	if in.Template != "" || in.TemplateFile != "" {
		t, err := hot.Parse(in.TemplateFile, []byte(in.Template))
		if err != nil {
			return nil, err
		}
		doc, err := hot.Decode(in.TemplateFile, []byte(in.Template))
		if err != nil {
			return nil, err
		}
		b["template"] = doc
		for _, p := range t.Parameters {
			if p.Hidden {
				if v := in.Params[p.Name]; v != "" {
					secrets = append(secrets, v)
				}
				if s, ok := p.Default.(string); ok && s != "" {
					secrets = append(secrets, s)
				}
			}
		}
	}
	files := map[string]string{}
	for k, v := range in.Files {
		files[k] = v
	}
	var envFiles []string
	for i, f := range in.Environments {
		doc, err := hot.Decode(f.Name, []byte(f.Data))
		if err != nil {
			return nil, err
		}
		j, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("heat: environment %s: %w", f.Name, err)
		}
		name := f.Name
		if name == "" {
			name = fmt.Sprintf("environment-%d.json", i)
		}
		if _, dup := files[name]; dup {
			name = fmt.Sprintf("%s.%d", name, i)
		}
		files[name] = string(j)
		envFiles = append(envFiles, name)
	}
	if len(envFiles) > 0 {
		b["environment_files"] = envFiles
	}
	if len(files) > 0 {
		b["files"] = files
	}
	if len(in.Params) > 0 {
		p := map[string]any{}
		for k, v := range in.Params {
			p[k] = v
		}
		b["parameters"] = p
	}
	if len(secrets) > 0 {
		e.mu.Lock()
		for _, s := range secrets {
			if !containsString(e.secrets, s) {
				e.secrets = append(e.secrets, s)
			}
		}
		e.mu.Unlock()
	}
	return b, nil
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// isPatch reports whether in is a PATCH update (Heat's --existing).
func isPatch(in *orchestrate.Input) bool {
	return in != nil && in.Template == "" && in.TemplateFile == ""
}

// Create creates the stack named name from in and waits until Heat
// reports it COMPLETE or FAILED (rolled back unless
// EngineOptions.DisableRollback). A stack of that name that exists is
// ErrExists.
func (e *Engine) Create(ctx context.Context, name string, in *orchestrate.Input) error {
	if e.closed.Load() {
		return errClosed
	}
	if name == "" {
		return fmt.Errorf("heat: %w: the stack needs a name", orchestrate.ErrInvalid)
	}
	if isPatch(in) {
		return fmt.Errorf("heat: %w: create needs a template", orchestrate.ErrInvalid)
	}
	b, err := e.body(in)
	if err != nil {
		return err
	}
	return e.create(ctx, name, b)
}

func (e *Engine) create(ctx context.Context, name string, b map[string]any) error {
	b["stack_name"] = name
	var r struct {
		Stack struct {
			ID string `json:"id"`
		} `json:"stack"`
	}
	e.log.Info("stack create", "stack", name)
	if err := e.do(ctx, "create stack "+name, http.MethodPost, e.c.ServiceURL("stacks"), b, &r, 201); err != nil {
		return err
	}
	e.mu.Lock()
	e.name, e.id = name, r.Stack.ID
	e.mu.Unlock()
	return e.finish(ctx, orchestrate.ActionCreate, nil)
}

// Update updates the stack to in (PUT), or, when in has no template,
// merges in's parameters, environments and files into the deployed ones
// (PATCH, Heat's --existing), and waits for the outcome.
func (e *Engine) Update(ctx context.Context, in *orchestrate.Input) error {
	ident, err := e.ident()
	if err != nil {
		return err
	}
	b, err := e.body(in)
	if err != nil {
		return err
	}
	return e.update(ctx, ident, b, isPatch(in))
}

func (e *Engine) update(ctx context.Context, ident string, b map[string]any, patch bool) error {
	before, err := e.snapshot(ctx, ident)
	if err != nil {
		return err
	}
	method, op := http.MethodPut, "update stack "+ident
	if patch {
		method, op = http.MethodPatch, "patch-update stack "+ident
	}
	e.log.Info("stack update", "stack", ident, "patch", patch)
	if err := e.do(ctx, op, method, e.stackURL(ident), b, nil, 202); err != nil {
		return err
	}
	return e.finish(ctx, orchestrate.ActionUpdate, before)
}

// Delete deletes the stack and waits until Heat reports DELETE_COMPLETE
// (or FAILED). A stack already deleted is ErrNotFound.
func (e *Engine) Delete(ctx context.Context) error {
	ident, err := e.ident()
	if err != nil {
		return err
	}
	before, err := e.snapshot(ctx, ident)
	if err != nil {
		return err
	}
	if a, s := before.doc.state(); a == orchestrate.ActionDelete && s == orchestrate.StatusComplete {
		return fmt.Errorf("heat: stack %s: %w (deleted)", ident, orchestrate.ErrNotFound)
	}
	e.log.Info("stack delete", "stack", ident)
	if err := e.do(ctx, "delete stack "+ident, http.MethodDelete, e.stackURL(ident), nil, nil, 204); err != nil {
		return err
	}
	return e.finish(ctx, orchestrate.ActionDelete, before)
}

// Rollback returns the stack to the last template, environment and files
// that completed, by updating to them (Heat has no rollback call outside a
// failing update): those the engine read from Heat after its last
// successful operation, or at the first Rollback when the stack is
// COMPLETE. A stack whose create failed has no good template: Rollback
// updates it to an empty one, deleting every resource. A stack found
// UPDATE_FAILED (or otherwise FAILED) by an engine that saw no operation
// complete is refused with errors.ErrUnsupported: Heat does not expose the
// template before the failed update. Heat records the rollback as an
// UPDATE.
func (e *Engine) Rollback(ctx context.Context) error {
	ident, err := e.ident()
	if err != nil {
		return err
	}
	e.mu.Lock()
	good := e.good
	e.mu.Unlock()
	if good == nil {
		d, err := e.getStack(ctx, ident)
		if err != nil {
			return err
		}
		// A COMPLETE stack's template is good, except after the
		// rollback of a create (never updated), which deleted everything.
		// A stack whose create failed has nothing good: roll back to
		// nothing, as the embedded engine does. After a failed update
		// Heat keeps a merge of both templates and not the previous one:
		// without the engine's own record there is nothing safe to go to.
		a, s := d.state()
		createFailed := a == orchestrate.ActionCreate && s == orchestrate.StatusFailed ||
			a == orchestrate.ActionRollback && d.updated() == ""
		switch {
		case createFailed:
			good = &orchestrate.Input{TemplateFile: "empty.json", Template: `{"heat_template_version": "2013-05-23"}`}
		case s == orchestrate.StatusComplete && a != orchestrate.ActionDelete:
			if good, err = e.current(ctx, ident); err != nil {
				return err
			}
		default:
			return fmt.Errorf("heat: rollback %s: %w: the stack is %s and this engine saw no operation complete; update it to the template wanted",
				ident, errors.ErrUnsupported, d.Status)
		}
	}
	b, err := e.body(good)
	if err != nil {
		return err
	}
	return e.update(ctx, ident, b, false)
}

// current reads the deployed template, environment and files.
func (e *Engine) current(ctx context.Context, ident string) (*orchestrate.Input, error) {
	var tmpl, env map[string]any
	files := map[string]string{}
	if err := e.do(ctx, "get template", http.MethodGet, e.stackURL(ident, "template"), nil, &tmpl, 200); err != nil {
		return nil, err
	}
	if err := e.do(ctx, "get environment", http.MethodGet, e.stackURL(ident, "environment"), nil, &env, 200); err != nil {
		return nil, err
	}
	if err := e.do(ctx, "get files", http.MethodGet, e.stackURL(ident, "files"), nil, &files, 200); err != nil {
		return nil, err
	}
	t, err := json.Marshal(tmpl)
	if err != nil {
		return nil, err
	}
	// Heat adds empty sections the environment parser does not need.
	for k, v := range env {
		if m, ok := v.(map[string]any); ok && len(m) == 0 {
			delete(env, k)
		} else if l, ok := v.([]any); ok && len(l) == 0 {
			delete(env, k)
		}
	}
	in := &orchestrate.Input{TemplateFile: "template.json", Template: string(t), Files: files}
	if len(env) > 0 {
		j, err := json.Marshal(env)
		if err != nil {
			return nil, err
		}
		in.Environments = []orchestrate.File{{Name: "environment.json", Data: string(j)}}
	}
	return in, nil
}

// CheckStack runs Heat's CHECK action and waits: nil when the stack ends
// CHECK_COMPLETE, ErrFailed otherwise.
func (e *Engine) CheckStack(ctx context.Context) error {
	return e.action(ctx, "check", orchestrate.ActionCheck)
}

// CancelUpdate asks Heat to cancel the update in progress (cancel_update,
// which rolls it back) and waits until the stack settles: nil when it
// ends ROLLBACK_COMPLETE. A stack that is not updating is
// orchestrate.ErrNoUpdate (and ErrInvalid: Heat's 400 "Cancelling update
// when stack is …").
func (e *Engine) CancelUpdate(ctx context.Context) error {
	return e.action(ctx, "cancel_update", orchestrate.ActionRollback)
}

func (e *Engine) action(ctx context.Context, name string, want orchestrate.Action) error {
	ident, err := e.ident()
	if err != nil {
		return err
	}
	before, err := e.snapshot(ctx, ident)
	if err != nil {
		return err
	}
	e.log.Info("stack action", "stack", ident, "action", name)
	if err := e.do(ctx, name+" stack "+ident, http.MethodPost, e.stackURL(ident, "actions"), map[string]any{name: nil}, nil, 200); err != nil {
		var he *Error
		if name == "cancel_update" && errors.As(err, &he) && he.Status == http.StatusBadRequest {
			he.kind = append(he.kind, orchestrate.ErrNoUpdate) // "Cancelling update when stack is …"
		}
		return err
	}
	if want == orchestrate.ActionRollback {
		before = nil // the stack is IN_PROGRESS: any settled state is new
	}
	return e.finish(ctx, want, before)
}

// Close marks the engine closed; the stack on Heat is left as it is.
func (e *Engine) Close() error {
	e.closed.Store(true)
	return nil
}

// snap is the stack's state before an operation, to tell the outcome of
// the operation from the state it started from.
type snap struct {
	doc    *stackDoc
	marker string // the stack's last own event
}

func (e *Engine) snapshot(ctx context.Context, ident string) (*snap, error) {
	d, err := e.getStack(ctx, ident)
	if err != nil {
		return nil, err
	}
	s := &snap{doc: d}
	evs, err := e.stackEvents(ctx, ident, "", "desc", 1)
	if err != nil {
		return nil, err
	}
	if len(evs) > 0 {
		s.marker = evs[0].ID
	}
	return s, nil
}

// rawEvent is one entry of Heat's event list.
type rawEvent struct {
	ID       string `json:"id"`
	Time     string `json:"event_time"`
	Name     string `json:"resource_name"`
	Logical  string `json:"logical_resource_id"`
	Physical string `json:"physical_resource_id"`
	Status   string `json:"resource_status"`
	Reason   string `json:"resource_status_reason"`
	Type     string `json:"resource_type"`
	Links    []link `json:"links"`
}

// stackEvents lists the stack's own events (not its resources'), after
// marker, in dir order.
func (e *Engine) stackEvents(ctx context.Context, ident, marker, dir string, limit int) ([]rawEvent, error) {
	name, _, _ := strings.Cut(ident, "/")
	q := url.Values{"resource_name": {name}, "sort_keys": {"created_at"}, "sort_dir": {dir}}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	if marker != "" {
		q.Set("marker", marker)
	}
	var r struct{ Events []rawEvent }
	if err := e.do(ctx, "list events", http.MethodGet, e.stackURL(ident, "events")+"?"+q.Encode(), nil, &r, 200); err != nil {
		return nil, err
	}
	return r.Events, nil
}

// finish waits for the operation to settle (see wait) and turns the
// outcome into an error; on success it records the deployed input as the
// last good one.
func (e *Engine) finish(ctx context.Context, op orchestrate.Action, before *snap) error {
	ident, err := e.ident()
	if err != nil {
		return err
	}
	d, gone, err := e.wait(ctx, ident, before)
	if err != nil {
		return err
	}
	if gone {
		e.setGood(nil)
		return nil
	}
	a, s := d.state()
	e.log.Info("stack "+strings.ToLower(string(op))+" ended", "stack", ident, "state", d.Status)
	switch {
	case a == op && s == orchestrate.StatusComplete:
		if op == orchestrate.ActionDelete {
			e.setGood(nil)
			return nil
		}
		if op == orchestrate.ActionCheck {
			return nil
		}
		if good, err := e.current(ctx, ident); err == nil {
			e.setGood(good)
		}
		return nil
	case a == orchestrate.ActionRollback && s == orchestrate.StatusComplete:
		reason := d.Reason
		if before != nil {
			reason = e.failure(ctx, ident, before.marker, reason)
		}
		if op == orchestrate.ActionRollback {
			return nil
		}
		return fmt.Errorf("%w: %s %s: %s (rolled back)", orchestrate.ErrFailed, d.Name, op, scrubAll(reason, e.secretList()))
	}
	return fmt.Errorf("%w: %s %s: %s: %s", orchestrate.ErrFailed, d.Name, op, d.Status, scrubAll(d.Reason, e.secretList()))
}

func (e *Engine) setGood(in *orchestrate.Input) {
	e.mu.Lock()
	e.good = in
	e.mu.Unlock()
}

// failure returns the reason of the first FAILED event after marker, which
// a rolled-back stack no longer shows, or def.
func (e *Engine) failure(ctx context.Context, ident, marker, def string) string {
	evs, err := e.Events(ctx, &orchestrate.EventQuery{After: marker})
	if err != nil {
		return def
	}
	for _, ev := range evs {
		if ev.Status == orchestrate.StatusFailed && ev.StatusReason != "" {
			return ev.StatusReason
		}
	}
	return def
}

// rollbackGrace is how many polls a CREATE_FAILED stack with rollback
// enabled is watched for its rollback to begin (Heat stores CREATE_FAILED
// before it starts the rollback).
const rollbackGrace = 25

// wait polls the stack until the operation started after before has
// settled: its status is no longer IN_PROGRESS and it differs from before
// (or a new stack event with that state says it was reached again). gone
// is true when the stack disappeared (deleted). The poller stops on
// *_FAILED at once, except for a CREATE_FAILED that Heat is about to roll
// back.
func (e *Engine) wait(ctx context.Context, ident string, before *snap) (*stackDoc, bool, error) {
	t := time.NewTimer(0)
	defer t.Stop()
	failedPolls := 0
	for {
		select {
		case <-ctx.Done():
			return nil, false, fmt.Errorf("heat: waiting for stack %s: %w", ident, ctx.Err())
		case <-t.C:
		}
		t.Reset(e.opts.PollInterval)
		d, err := e.getStack(ctx, ident)
		if errors.Is(err, orchestrate.ErrNotFound) && before != nil {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		a, s := d.state()
		if s == orchestrate.StatusInProgress || s == "" || a == orchestrate.ActionInit {
			continue
		}
		if a == orchestrate.ActionCreate && s == orchestrate.StatusFailed && !d.DisableRollback && failedPolls < rollbackGrace {
			failedPolls++
			continue
		}
		if before == nil || d.Status != before.doc.Status || d.updated() != before.doc.updated() {
			return d, false, nil
		}
		// The same state as before: done only once a new stack event
		// says the state was reached again.
		evs, err := e.stackEvents(ctx, ident, before.marker, "asc", 0)
		if err != nil {
			return nil, false, err
		}
		for _, ev := range evs {
			if ev.Status == d.Status {
				return d, false, nil
			}
		}
	}
}

// Show describes the stack and its resources, those of nested stacks
// (group members) included under their flattened path ("group/0"),
// sorted by name. A stack never created (or unknown to Heat) is
// ErrNotFound; a deleted one is shown DELETE_COMPLETE with no resources.
func (e *Engine) Show(ctx context.Context) (*orchestrate.StackInfo, error) {
	ident, err := e.ident()
	if err != nil {
		return nil, err
	}
	d, err := e.getStack(ctx, ident)
	if err != nil {
		return nil, err
	}
	a, s := d.state()
	info := &orchestrate.StackInfo{Name: d.Name, ID: d.ID, Action: a, Status: s, Reason: scrubAll(d.Reason, e.secretList()),
		Resources: []orchestrate.ResourceInfo{}}
	if a == orchestrate.ActionDelete && s == orchestrate.StatusComplete {
		return info, nil
	}
	res, _, err := e.resources(ctx, ident)
	if err != nil {
		return nil, err
	}
	for _, r := range res {
		info.Resources = append(info.Resources, r.info)
	}
	sort.Slice(info.Resources, func(i, j int) bool { return info.Resources[i].Name < info.Resources[j].Name })
	return info, nil
}

// resource is one resource of the stack tree.
type resource struct {
	info  orchestrate.ResourceInfo
	stack string // "name/id" of the stack holding it
	name  string // its name in that stack
}

// resources lists the stack tree's resources with flattened names, and
// the namer that flattened them.
func (e *Engine) resources(ctx context.Context, ident string) ([]resource, *namer, error) {
	var r struct {
		Resources []struct {
			Name     string `json:"resource_name"`
			Type     string `json:"resource_type"`
			Status   string `json:"resource_status"`
			Reason   string `json:"resource_status_reason"`
			Physical string `json:"physical_resource_id"`
			Links    []link `json:"links"`
		} `json:"resources"`
	}
	u := e.stackURL(ident, "resources") + "?nested_depth=" + fmt.Sprint(e.opts.NestedDepth)
	if err := e.do(ctx, "list resources", http.MethodGet, u, nil, &r, 200); err != nil {
		return nil, nil, err
	}
	root, _, _ := strings.Cut(ident, "/")
	n := newNamer(root)
	// Parents before children: repeat until every nested stack is known.
	for changed := true; changed; {
		changed = false
		for _, x := range r.Resources {
			sn, _ := stackOf(x.Links, "stack")
			child, _ := stackOf(x.Links, "nested")
			if _, known := n.prefix[child]; child != "" && !known {
				if _, ok := n.prefix[sn]; ok {
					n.nested(sn, x.Name, child)
					changed = true
				}
			}
		}
	}
	var out []resource
	for _, x := range r.Resources {
		sn, sid := stackOf(x.Links, "stack")
		p, _ := n.path(sn, x.Name)
		a, s := splitState(x.Status)
		out = append(out, resource{info: orchestrate.ResourceInfo{Name: p, Type: x.Type, Action: orchestrate.Action(a),
			Status: orchestrate.Status(s), Reason: scrubAll(x.Reason, e.secretList()), PhysicalID: x.Physical},
			stack: sn + "/" + sid, name: x.Name})
	}
	return out, n, nil
}

// Outputs returns the stack outputs (output name → value) as Heat
// resolves them: null for an output whose condition is false. Outputs
// Heat could not resolve are null and named in the returned error.
func (e *Engine) Outputs(ctx context.Context) (map[string]any, error) {
	ident, err := e.ident()
	if err != nil {
		return nil, err
	}
	d, err := e.getStack(ctx, ident)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	var errs []error
	for _, o := range d.Outputs {
		out[o.Key] = o.Value
		if o.Error != "" {
			out[o.Key] = nil
			errs = append(errs, fmt.Errorf("outputs.%s: %s", o.Key, scrubAll(o.Error, e.secretList())))
		}
	}
	return out, errors.Join(errs...)
}

// eventPage is how many events are read per request.
const eventPage = 500

// Events lists the events of the stack and of its nested stacks (group
// members under their flattened path, as Show names them), oldest first,
// in the order Heat stored them. A nested stack's own events are left out
// (its parent resource has the same). Resource types are filled in from
// the current resources (Heat's event list does not carry them): the
// stack's own events have "OS::Heat::Stack", events of resources that no
// longer exist have "".
func (e *Engine) Events(ctx context.Context, q *orchestrate.EventQuery) ([]orchestrate.Event, error) {
	ident, err := e.ident()
	if err != nil {
		return nil, err
	}
	if q == nil {
		q = &orchestrate.EventQuery{}
	}
	root, rootID, _ := strings.Cut(ident, "/")
	types := map[string]string{root: "OS::Heat::Stack"}
	var n *namer
	res, n, err := e.resources(ctx, ident)
	if err != nil {
		if !errors.Is(err, orchestrate.ErrNotFound) {
			return nil, err
		}
		n = newNamer(root)
	}
	for _, r := range res {
		types[r.info.Name] = r.info.Type
	}
	var out []orchestrate.Event
	marker := q.After
	for {
		v := url.Values{"sort_keys": {"created_at"}, "sort_dir": {"asc"}, "limit": {fmt.Sprint(eventPage)},
			"nested_depth": {fmt.Sprint(e.opts.NestedDepth)}}
		if marker != "" {
			v.Set("marker", marker)
		}
		var r struct{ Events []rawEvent }
		if err := e.do(ctx, "list events", http.MethodGet, e.stackURL(ident, "events")+"?"+v.Encode(), nil, &r, 200); err != nil {
			return nil, err
		}
		for _, x := range r.Events {
			marker = x.ID
			sn, _ := stackOf(x.Links, "stack")
			p, own := n.path(sn, x.Name)
			if own {
				continue
			}
			if q.Resource != "" && p != q.Resource {
				continue
			}
			a, s := splitState(x.Status)
			t, _ := time.Parse(time.RFC3339, x.Time)
			ev := orchestrate.Event{ID: x.ID, Time: t, StackName: root, StackID: rootID, ResourceName: p, LogicalResourceID: p,
				PhysicalResourceID: x.Physical, ResourceType: types[p], Action: orchestrate.Action(a), Status: orchestrate.Status(s),
				StatusReason: scrubAll(x.Reason, e.secretList())}
			out = append(out, ev)
			if q.Limit > 0 && len(out) == q.Limit {
				return out, nil
			}
		}
		if len(r.Events) < eventPage {
			return out, nil
		}
	}
}

// Signal sends body to a resource (a SoftwareDeployment, a
// WaitConditionHandle; "group/0/handle" reaches a group member) through
// Heat's resource-signal call. A refusal matches orchestrate.ErrSignal
// (and ErrNotFound when there is no such resource).
func (e *Engine) Signal(ctx context.Context, resourceName string, body map[string]any) error {
	ident, err := e.ident()
	if err != nil {
		return err
	}
	stack, name, err := e.locate(ctx, ident, resourceName)
	if errors.Is(err, orchestrate.ErrNotFound) {
		return fmt.Errorf("heat: signal %s: %w: %w", resourceName, orchestrate.ErrSignal, err)
	} else if err != nil {
		return err
	}
	if body == nil {
		body = map[string]any{}
	}
	e.log.Info("resource signal", "stack", ident, "resource", resourceName)
	err = e.do(ctx, "signal "+resourceName, http.MethodPost, resourceURL(e.c, stack, name, "signal"), body, nil, 200)
	var he *Error
	if errors.As(err, &he) && (he.Status == http.StatusBadRequest || he.Status == http.StatusNotFound) {
		he.kind = append(he.kind, orchestrate.ErrSignal)
	}
	return err
}

// MarkUnhealthy marks a resource CHECK_FAILED with reason (Heat's
// `openstack stack resource mark unhealthy`: PATCH of the resource with
// mark_unhealthy and resource_status_reason), so that the next update
// replaces it. A nested resource ("group/0", "group/0/server") is marked
// in the nested stack that holds it. No such resource is ErrNotFound; a
// resource Heat has locked for an operation is ErrLocked.
func (e *Engine) MarkUnhealthy(ctx context.Context, resourceName, reason string) error {
	ident, err := e.ident()
	if err != nil {
		return err
	}
	stack, name, err := e.locate(ctx, ident, resourceName)
	if err != nil {
		return fmt.Errorf("heat: mark %s unhealthy: %w", resourceName, err)
	}
	e.log.Info("resource mark unhealthy", "stack", ident, "resource", resourceName)
	return e.do(ctx, "mark unhealthy "+resourceName, http.MethodPatch, resourceURL(e.c, stack, name),
		map[string]any{"mark_unhealthy": true, "resource_status_reason": reason}, nil, 200)
}

// locate returns the stack ("name/id") holding the resource at path and
// its name there: the root stack for a top-level name, the nested stack
// for a path such as "group/0/server" (ErrNotFound when none holds it).
func (e *Engine) locate(ctx context.Context, ident, path string) (stack, name string, err error) {
	if !strings.Contains(path, "/") {
		return ident, path, nil
	}
	res, _, err := e.resources(ctx, ident)
	if err != nil {
		return "", "", err
	}
	for _, r := range res {
		if r.info.Name == path {
			return r.stack, r.name, nil
		}
	}
	return "", "", fmt.Errorf("%w: no such resource", orchestrate.ErrNotFound)
}
