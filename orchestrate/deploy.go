package orchestrate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tripleo-go/tripleo/orchestrate/hot"
)

// Software deployment types.
const (
	TypeSoftwareDeployment   = "OS::Heat::SoftwareDeployment"
	TypeStructuredDeployment = "OS::Heat::StructuredDeployment"
)

func isDeployment(t string) bool {
	return t == TypeSoftwareDeployment || t == TypeStructuredDeployment
}

// MetadataPublisher receives every server's metadata document (the
// "deployments" list and the "os-collect-config" section, in Heat's shape)
// whenever it changes, at path "/" + the server's token. The refresh
// package's MetadataServer implements it; a node agent polls or watches
// {Options.MetadataURL}/{token}.
type MetadataPublisher interface {
	SetJSON(path string, data []byte) error
	Delete(path string)
}

// serverMeta is what the engine keeps per server (by physical id) for
// software deployments.
type serverMeta struct {
	Token       string `json:"token"`
	Deployments []any  `json:"deployments"`
}

// deploymentType marks the deployment types, which the engine runs itself:
// they change a server's metadata and wait for the agent's signal.
type deploymentType struct {
	groupType
	structured bool
}

func (d deploymentType) Schema() *Schema {
	s := &Schema{Properties: map[string]*Property{
		"config":           {Type: TypeString, UpdateAllowed: true},
		"server":           {Type: TypeString, Required: true},
		"input_values":     {Type: TypeMap, Default: map[string]any{}, UpdateAllowed: true},
		"actions":          {Type: TypeList, Default: []any{"CREATE", "UPDATE"}, UpdateAllowed: true},
		"signal_transport": {Type: TypeString, Default: "HEAT_SIGNAL", AllowedValues: []any{"CFN_SIGNAL", "TEMP_URL_SIGNAL", "HEAT_SIGNAL", "NO_SIGNAL", "ZAQAR_SIGNAL"}},
		"name":             {Type: TypeString},
	}, Attributes: map[string]string{"deploy_stdout": "", "deploy_stderr": "", "deploy_status_code": ""}, AnyProperties: false}
	if d.structured {
		s.Properties["input_key"] = &Property{Type: TypeString, Default: "get_input"}
		s.Properties["input_values_validate"] = &Property{Type: TypeString, Default: "LAX", AllowedValues: []any{"LAX", "STRICT"}}
	}
	return s
}

func randomToken() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// findConfig returns the state of the software config whose id is ref.
func (o *op) findConfig(ref string) (*resState, error) {
	o.e.j.mu.Lock()
	defer o.e.j.mu.Unlock()
	for _, r := range o.e.j.st.Resources {
		switch r.Type {
		case TypeSoftwareConfig, TypeStructuredConfig, TypeMultipartMime:
			if !r.Retired && r.State.PhysicalID == ref {
				return r.clone(), nil
			}
		}
	}
	return nil, fmt.Errorf("%w: software config %s", ErrNotFound, ref)
}

// deployment runs a SoftwareDeployment or StructuredDeployment: it puts the
// derived config (config + input values + deploy_* inputs) in the server's
// metadata and, unless NO_SIGNAL, stays IN_PROGRESS until the server
// signals; a non-zero deploy_status_code fails it with deploy_stderr.
func (o *op) deployment(ctx context.Context, s *spec, typName string, props map[string]any, md any) error {
	cur := o.current(s.id)
	if cur != nil && cur.Status == StatusComplete && cur.Type == typName && hot.Equal(cur.Properties, props) {
		return nil
	}
	resuming := cur != nil && cur.Status == StatusInProgress && hot.Equal(cur.Properties, props)
	r, action := o.ownState(s, cur, typName, props, md)
	hook := "-" + strings.ToLower(string(action))
	if resuming {
		r = cur
	} else if err := o.pause(ctx, s.id, typName, cur, "pre"+hook); err != nil {
		return err
	}
	if err := o.deployAction(ctx, r, typName, props, action, resuming); err != nil {
		return err
	}
	return o.pause(ctx, s.id, typName, o.current(s.id), "post"+hook)
}

// deployAction runs action on deployment r: when its actions include it,
// the derived config goes into the server's metadata and, unless
// NO_SIGNAL, the deployment stays IN_PROGRESS until the server signals.
// resuming skips the publication (done before a restart).
func (o *op) deployAction(ctx context.Context, r *resState, typName string, props map[string]any, action Action, resuming bool) error {
	wanted := false
	actions, _ := props["actions"].([]any)
	for _, a := range actions {
		wanted = wanted || a == string(action)
	}
	server := fmt.Sprint(props["server"])
	transport, _ := props["signal_transport"].(string)
	if !resuming {
		token, _ := r.State.Data["token"].(string)
		if token == "" {
			var err error
			if token, err = randomToken(); err != nil {
				return err
			}
		}
		r.State.Data = map[string]any{"token": token, "signals": []any{}}
		r.Action, r.Status, r.Reason = action, StatusInProgress, ""
		if err := o.record(r); err != nil {
			return err
		}
		o.resEvent(r, action, StatusInProgress, "state changed")
		if wanted {
			derived, err := o.derivedConfig(r, typName, props, action, token)
			if err != nil {
				return o.outcome(r, action, nil, err)
			}
			if err := o.e.putDeployment(server, derived); err != nil {
				return o.outcome(r, action, nil, err)
			}
		}
	}
	if !wanted || transport == "NO_SIGNAL" {
		return o.outcome(r, action, &State{PhysicalID: r.State.PhysicalID, Data: r.State.Data,
			Attributes: map[string]any{"deploy_stdout": nil, "deploy_stderr": nil, "deploy_status_code": nil}}, nil)
	}
	for {
		changed := o.e.j.signalled()
		if cur := o.current(r.Name); cur != nil {
			if l, _ := cur.State.Data["signals"].([]any); len(l) > 0 {
				sig, _ := l[len(l)-1].(map[string]any)
				return o.deployOutcome(r, action, cur.State.Data, sig)
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return o.outcome(r, action, nil, ctx.Err())
		}
	}
}

// deleteDeployment deletes deployment r: when its actions include DELETE,
// a DELETE derived config is published and (unless NO_SIGNAL) its signal
// awaited first, as Heat does; then the deployment leaves the server's
// metadata.
func (o *op) deleteDeployment(ctx context.Context, r *resState) error {
	resuming := r.Action == ActionDelete && r.Status == StatusInProgress && r.State.Data["token"] != nil
	if err := o.deployAction(ctx, r, r.Type, r.Properties, ActionDelete, resuming); err != nil {
		return fmt.Errorf("resources.%s: %w", r.Name, err)
	}
	if err := o.e.removeDeployment(fmt.Sprint(r.Properties["server"]), r.State.PhysicalID); err != nil {
		return fmt.Errorf("resources.%s: %w", r.Name, err)
	}
	return o.e.j.append(&record{T: "del", ID: r.Name})
}

func (o *op) deployOutcome(r *resState, action Action, data map[string]any, sig map[string]any) error {
	attrs := map[string]any{}
	for k, v := range sig {
		attrs[k] = v
	}
	for _, k := range []string{"deploy_stdout", "deploy_stderr", "deploy_status_code"} {
		if _, ok := attrs[k]; !ok {
			attrs[k] = nil
		}
	}
	code := attrs["deploy_status_code"]
	if f, ok := number(code); ok && f != 0 || code != nil && !ok && fmt.Sprint(code) != "0" {
		stderr := fmt.Sprint(attrs["deploy_stderr"])
		r.State.Attributes = attrs
		//lint:ignore ST1005 Heat's exact text, which users grep for
		return o.outcome(r, action, nil, fmt.Errorf("Deployment to server failed: deploy_status_code : Deployment exited with non-zero status code: %s: %s",
			hot.PyStr(code), strings.TrimSpace(stderr)))
	}
	return o.outcome(r, action, &State{PhysicalID: r.State.PhysicalID, Data: data, Attributes: attrs}, nil)
}

// derivedConfig builds the deployment's entry of the server's deployments
// list, as Heat does: the config, its inputs with their values plus the
// deploy_* inputs, outputs, options and creation time.
func (o *op) derivedConfig(r *resState, typName string, props map[string]any, action Action, token string) (map[string]any, error) {
	cfgRef, _ := props["config"].(string)
	cfg := map[string]any{"group": "Heat::Ungrouped", "config": "", "options": map[string]any{}, "inputs": []any{}, "outputs": []any{}}
	if cfgRef != "" {
		c, err := o.findConfig(cfgRef)
		if err != nil {
			return nil, err
		}
		for _, k := range []string{"group", "config", "options", "inputs", "outputs"} {
			if v, ok := c.Properties[k]; ok && v != nil {
				cfg[k] = v
			}
		}
		if c.Type == TypeMultipartMime {
			cfg["config"] = c.State.Attributes["config"]
		}
	}
	values, _ := props["input_values"].(map[string]any)
	var inputs []any
	seen := map[string]bool{}
	for _, in := range cfg["inputs"].([]any) {
		im, _ := in.(map[string]any)
		name := fmt.Sprint(im["name"])
		e := map[string]any{"name": name, "type": "String", "description": nil, "default": nil}
		for k, v := range im {
			e[k] = v
		}
		if v, ok := values[name]; ok {
			e["value"] = v
		} else {
			e["value"] = e["default"]
		}
		seen[name] = true
		inputs = append(inputs, e)
	}
	for _, k := range sortedNames(values) {
		if !seen[k] {
			inputs = append(inputs, map[string]any{"name": k, "type": "String", "value": values[k], "description": nil, "default": nil})
		}
	}
	o.e.j.mu.Lock()
	stackID := o.e.j.st.ID
	o.e.j.mu.Unlock()
	signalID := ""
	if o.e.opts.SignalURL != "" {
		signalID = strings.TrimRight(o.e.opts.SignalURL, "/") + "/" + token
	}
	extra := []struct{ name, desc, value string }{
		{"deploy_server_id", "ID of the server being deployed to", fmt.Sprint(props["server"])},
		{"deploy_action", "Name of the current action being deployed", string(action)},
		{"deploy_stack_id", "ID of the stack this deployment belongs to", stackID},
		{"deploy_resource_name", "Name of this deployment resource in the stack", r.Name},
		{"deploy_signal_transport", "How the server should signal to heat with the deployment output values.", "TEMP_URL_SIGNAL"},
		{"deploy_signal_id", "ID of signal to use for signaling output values", signalID},
		{"deploy_signal_verb", "HTTP verb to use for signaling outputvalues", "POST"},
	}
	for _, x := range extra {
		inputs = append(inputs, map[string]any{"name": x.name, "description": x.desc, "type": "String", "value": x.value})
	}
	config := cfg["config"]
	if typName == TypeStructuredDeployment {
		key, _ := props["input_key"].(string)
		config = substituteInputs(config, key, values)
	}
	name, _ := props["name"].(string)
	if name == "" {
		name = r.Name
	}
	return map[string]any{
		"id": r.State.PhysicalID, "name": name, "group": cfg["group"], "config": config,
		"inputs": inputs, "outputs": cfg["outputs"], "options": cfg["options"],
		"creation_time": time.Now().UTC().Format("2006-01-02T15:04:05Z"),
	}, nil
}

// substituteInputs replaces {input_key: NAME} maps in a structured config
// by the input's value.
func substituteInputs(v any, key string, values map[string]any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = substituteInputs(e, key, values)
		}
		return out
	case map[string]any:
		if len(x) == 1 {
			if name, ok := x[key].(string); ok {
				return values[name]
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = substituteInputs(e, key, values)
		}
		return out
	}
	return v
}

func sortedNames(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// putDeployment adds (or replaces, by id) a derived config in the server's
// metadata, durably, and publishes the document.
func (e *Embedded) putDeployment(server string, derived map[string]any) error {
	return e.changeServer(server, func(m *serverMeta) {
		out := []any{}
		for _, d := range m.Deployments {
			if dm, _ := d.(map[string]any); dm["id"] != derived["id"] {
				out = append(out, d)
			}
		}
		m.Deployments = append(out, derived)
	})
}

// removeDeployment drops a deployment from its server's metadata.
func (e *Embedded) removeDeployment(server, id string) error {
	return e.changeServer(server, func(m *serverMeta) {
		out := []any{}
		for _, d := range m.Deployments {
			if dm, _ := d.(map[string]any); dm["id"] != id {
				out = append(out, d)
			}
		}
		m.Deployments = out
	})
}

func (e *Embedded) changeServer(server string, change func(*serverMeta)) error {
	e.srvMu.Lock()
	defer e.srvMu.Unlock()
	e.j.mu.Lock()
	var m serverMeta
	if cur := e.j.st.Servers[server]; cur != nil {
		m = serverMeta{Token: cur.Token, Deployments: append([]any{}, cur.Deployments...)}
	}
	e.j.mu.Unlock()
	if m.Token == "" {
		t, err := randomToken()
		if err != nil {
			return err
		}
		m.Token = t
	}
	change(&m)
	if err := e.j.append(&record{T: "md", ID: server, Meta: &m}); err != nil {
		return err
	}
	return e.publish(&m)
}

// ServerMetadata returns the metadata document of a server (by physical
// id) as served to its agent, and the token in its URL.
func (e *Embedded) ServerMetadata(server string) (doc map[string]any, token string, err error) {
	e.j.mu.Lock()
	m := e.j.st.Servers[server]
	e.j.mu.Unlock()
	if m == nil {
		return nil, "", fmt.Errorf("%w: no metadata for server %s", ErrNotFound, server)
	}
	return e.metadataDoc(m), m.Token, nil
}

func (e *Embedded) metadataDoc(m *serverMeta) map[string]any {
	url := ""
	if e.opts.MetadataURL != "" {
		url = strings.TrimRight(e.opts.MetadataURL, "/") + "/" + m.Token
	}
	deps := m.Deployments
	if deps == nil {
		deps = []any{}
	}
	return map[string]any{
		"deployments": deps,
		"os-collect-config": map[string]any{
			"collectors": []any{"request", "local"},
			"request":    map[string]any{"metadata_url": url},
		},
	}
}

func (e *Embedded) publish(m *serverMeta) error {
	if e.opts.Metadata == nil {
		return nil
	}
	b, err := json.Marshal(e.metadataDoc(m))
	if err != nil {
		return err
	}
	return e.opts.Metadata.SetJSON("/"+m.Token, b)
}

// publishAll republishes every server's document (after Open).
func (e *Embedded) publishAll() error {
	e.j.mu.Lock()
	var all []*serverMeta
	for _, m := range e.j.st.Servers {
		all = append(all, m)
	}
	e.j.mu.Unlock()
	for _, m := range all {
		if err := e.publish(m); err != nil {
			return err
		}
	}
	return nil
}

// Deployment group types: one deployment per server of the servers map.
const (
	TypeSoftwareDeployments   = "OS::Heat::SoftwareDeploymentGroup"
	TypeStructuredDeployments = "OS::Heat::StructuredDeploymentGroup"
	// Older names of the same types.
	typeSoftwareDeploymentsOld   = "OS::Heat::SoftwareDeployments"
	typeStructuredDeploymentsOld = "OS::Heat::StructuredDeployments"
)

func isDeploymentGroup(t string) bool {
	switch t {
	case TypeSoftwareDeployments, TypeStructuredDeployments, typeSoftwareDeploymentsOld, typeStructuredDeploymentsOld:
		return true
	}
	return false
}

type deploymentGroupType struct {
	groupType
	member deploymentType
}

func (d deploymentGroupType) Schema() *Schema {
	s := d.member.Schema()
	props := map[string]*Property{}
	for k, v := range s.Properties {
		props[k] = v
	}
	delete(props, "server")
	props["servers"] = &Property{Type: TypeMap, Required: true, UpdateAllowed: true}
	return &Schema{Properties: props, Attributes: map[string]string{
		"deploy_stdouts": "", "deploy_stderrs": "", "deploy_status_codes": ""}}
}

func registerDeploymentGroups(t *Types) {
	sw := deploymentGroupType{member: deploymentType{}}
	st := deploymentGroupType{member: deploymentType{structured: true}}
	t.m[TypeSoftwareDeployments], t.m[typeSoftwareDeploymentsOld] = sw, sw
	t.m[TypeStructuredDeployments], t.m[typeStructuredDeploymentsOld] = st, st
}

// deploymentGroupRun expands a deployment group into one deployment per
// server, named by the servers map's keys.
func (o *op) deploymentGroupRun(ctx context.Context, s *spec, t *task, typName string, props map[string]any, md any) ([]*task, error) {
	servers, _ := props["servers"].(map[string]any)
	mtype := TypeSoftwareDeployment
	if typName == TypeStructuredDeployments || typName == typeStructuredDeploymentsOld {
		mtype = TypeStructuredDeployment
	}
	names := sortedNames(servers)
	nl := make([]any, len(names))
	for i, n := range names {
		nl[i] = n
	}
	p, err := o.beginParent(ctx, s, typName, props, md, map[string]any{"members": nl})
	if err != nil {
		return nil, err
	}
	var children []*task
	for i, n := range names {
		mp := map[string]any{}
		for k, v := range props {
			if k != "servers" {
				mp[k] = hot.Clone(v)
			}
		}
		mp["server"] = servers[n]
		if _, ok := mp["name"]; !ok {
			mp["name"] = n
		}
		ms := &spec{id: s.id + "/" + n, scope: n, typ: mtype, props: mp, requires: []string{},
			parent: s.id, index: i, deletionPolicy: "Delete", sc: s.sc}
		children = append(children, o.newTask(ms))
	}
	return p.expand(ctx, t, children)
}
