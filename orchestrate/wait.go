package orchestrate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tripleo-go/tripleo/orchestrate/hot"
)

// Wait condition types.
const (
	TypeWaitConditionHandle = "OS::Heat::WaitConditionHandle"
	TypeWaitCondition       = "OS::Heat::WaitCondition"
)

// waitHandleType is OS::Heat::WaitConditionHandle. Its token is random
// (unguessable) and its signals are recorded by Engine.Signal in the
// journal, so they survive a restart.
type waitHandleType struct{}

func (waitHandleType) Schema() *Schema {
	return &Schema{Properties: map[string]*Property{},
		Attributes: map[string]string{"endpoint": "", "token": "", "curl_cli": "", "signal": ""}}
}

func (w waitHandleType) Create(_ context.Context, r *Request) (*State, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	token := hex.EncodeToString(b[:])
	endpoint := ""
	if r.SignalURL != "" {
		endpoint = strings.TrimRight(r.SignalURL, "/") + "/" + token
	}
	return &State{PhysicalID: keyID(r.Key), Attributes: map[string]any{
		"token": token, "endpoint": endpoint,
		"curl_cli": "curl -i -X POST -H 'Content-Type: application/json' " + endpoint,
		"signal":   map[string]any{"url": endpoint, "token": token},
	}, Data: map[string]any{"token": token, "signals": []any{}}}, nil
}
func (waitHandleType) Update(_ context.Context, r *Request) (*State, error) { return r.Prior, nil }
func (waitHandleType) Delete(context.Context, *Request) error               { return nil }

// Check never finds a handle: one interrupted before its outcome was
// recorded was never shown to anyone, so a new token is made.
func (waitHandleType) Check(context.Context, *Request) (*State, error) { return nil, ErrNotFound }

// waitConditionType marks OS::Heat::WaitCondition, which the engine runs
// itself (it waits for signals recorded in the journal).
type waitConditionType struct{ groupType }

func (waitConditionType) Schema() *Schema {
	return &Schema{Properties: map[string]*Property{
		"handle":  {Type: TypeString, Required: true},
		"count":   {Type: TypeInteger, Default: int64(1), Min: ptr(1), UpdateAllowed: true},
		"timeout": {Type: TypeNumber, Required: true, Min: ptr(1), Max: ptr(43200), UpdateAllowed: true},
	}, Attributes: map[string]string{"data": "JSON of the signals' data by id"}}
}

// ErrSignal: a signal was refused (unknown token or resource, bad body).
var ErrSignal = errors.New("signal refused")

// Signal records a signal for a WaitConditionHandle (given by its path in
// the stack, e.g. "handle" or "group/0/handle"), durably, and wakes what
// waits for it. The body follows Heat's wait condition signal: status
// (SUCCESS, the default, or FAILURE), reason, data and id (default: the
// signal's number). It may be called while an operation runs. A body
// {"unset_hook": HOOK} clears a registry hook instead (ClearHook), for any
// resource.
func (e *Embedded) Signal(ctx context.Context, resource string, body map[string]any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if h, ok := body["unset_hook"]; ok {
		return e.ClearHook(ctx, resource, fmt.Sprint(h))
	}
	e.j.mu.Lock()
	r := e.j.st.Resources[resource]
	var n int
	if r != nil {
		l, _ := r.State.Data["signals"].([]any)
		n = len(l)
	}
	e.j.mu.Unlock()
	if r == nil {
		return fmt.Errorf("%w: no resource %s", ErrSignal, resource)
	}
	switch {
	case r.Type == TypeWaitConditionHandle && r.Status == StatusComplete:
		sig, err := waitSignal(body, n)
		if err != nil {
			return err
		}
		return e.j.append(&record{T: "sig", ID: resource, Signal: sig})
	case isDeployment(r.Type) && r.Status == StatusInProgress:
		sig := map[string]any{}
		for k, v := range body {
			sig[k] = v
		}
		return e.j.append(&record{T: "sig", ID: resource, Signal: sig})
	}
	return fmt.Errorf("%w: %s (%s %s_%s) is not waiting for a signal", ErrSignal, resource, r.Type, r.Action, r.Status)
}

// waitSignal normalises a wait condition handle signal as Heat does.
func waitSignal(body map[string]any, n int) (map[string]any, error) {
	sig := map[string]any{}
	for k, v := range body {
		sig[k] = v
	}
	status, _ := sig["status"].(string)
	switch status {
	case "":
		status = "SUCCESS"
	case "SUCCESS", "FAILURE":
	default:
		return nil, fmt.Errorf("%w: status must be SUCCESS or FAILURE, got %q", ErrSignal, status)
	}
	sig["status"] = status
	if id, ok := sig["id"]; !ok || id == nil {
		sig["id"] = strconv.Itoa(n + 1)
	} else {
		sig["id"] = hot.PyStr(id)
	}
	if _, ok := sig["reason"]; !ok {
		sig["reason"] = fmt.Sprintf("Signal %d received", n+1)
	}
	if _, ok := sig["data"]; !ok {
		sig["data"] = nil
	}
	return sig, nil
}

// SignalHandler serves POST {prefix}/{token} with a JSON signal body, for
// the endpoint a WaitConditionHandle hands out (Options.SignalURL). An
// unknown token is 404.
func (e *Embedded) SignalHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			http.Error(w, "POST or PUT a JSON signal", http.StatusMethodNotAllowed)
			return
		}
		token := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		e.j.mu.Lock()
		resource := ""
		for id, res := range e.j.st.Resources {
			if (res.Type == TypeWaitConditionHandle || isDeployment(res.Type)) && token != "" && res.State.Data["token"] == token {
				resource = id
			}
		}
		e.j.mu.Unlock()
		if resource == "" {
			http.Error(w, "unknown token", http.StatusNotFound)
			return
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body := map[string]any{}
		if len(strings.TrimSpace(string(b))) > 0 {
			v, err := hot.Decode("signal.json", b)
			if err != nil {
				http.Error(w, "the body must be a JSON object", http.StatusBadRequest)
				return
			}
			body = v
		}
		if err := e.Signal(r.Context(), resource, body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// waitCondition waits until the handle has count successful signals, fails
// on a FAILURE signal, and times out after timeout seconds.
func (o *op) waitCondition(ctx context.Context, s *spec, props map[string]any, md any) error {
	cur := o.current(s.id)
	if cur != nil && cur.Status == StatusComplete && hot.Equal(cur.Properties, props) {
		return nil
	}
	r, action := o.ownState(s, cur, TypeWaitCondition, props, md)
	r.Action, r.Status = action, StatusInProgress
	if err := o.record(r); err != nil {
		return err
	}
	o.resEvent(r, action, StatusInProgress, "state changed")
	handle := fmt.Sprint(props["handle"])
	count := int(props["count"].(int64))
	secs, _ := number(props["timeout"])
	timer := time.NewTimer(time.Duration(secs * float64(time.Second)))
	defer timer.Stop()
	for {
		changed := o.e.j.signalled()
		sigs, err := o.handleSignals(handle)
		if err != nil {
			return o.outcome(r, action, nil, err)
		}
		ok := 0
		data := map[string]any{}
		for _, sg := range sigs {
			m, _ := sg.(map[string]any)
			if m["status"] == "FAILURE" {
				return o.outcome(r, action, nil, fmt.Errorf("WaitCondition failed: %v", m["reason"]))
			}
			ok++
			data[fmt.Sprint(m["id"])] = m["data"]
		}
		if ok >= count {
			return o.outcome(r, action, &State{PhysicalID: r.State.PhysicalID,
				Attributes: map[string]any{"data": hot.PyJSON(data, true)}}, nil)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return o.outcome(r, action, nil, ctx.Err())
		case <-timer.C:
			return o.outcome(r, action, nil, fmt.Errorf("WaitCondition timed out: %d of %d signals after %gs", ok, count, secs))
		}
	}
}

// handleSignals finds the handle whose reference id is ref and returns its
// signals in order.
func (o *op) handleSignals(ref string) ([]any, error) {
	o.e.j.mu.Lock()
	defer o.e.j.mu.Unlock()
	var ids []string
	for id, r := range o.e.j.st.Resources {
		if r.Type == TypeWaitConditionHandle && !r.Retired && fmt.Sprint(refID(r)) == ref {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no wait condition handle %s", ErrNotFound, ref)
	}
	sort.Strings(ids)
	l, _ := o.e.j.st.Resources[ids[0]].State.Data["signals"].([]any)
	return l, nil
}

// ownState starts the state of a resource the engine runs itself (wait
// conditions, deployments): the current key and generation, or the first.
func (o *op) ownState(s *spec, cur *resState, typName string, props map[string]any, md any) (*resState, Action) {
	r := &resState{Name: s.id, Type: typName, Properties: props, Metadata: md,
		Requires: s.requires, Parent: s.parent, Index: s.index, DeletionPolicy: s.deletionPolicy}
	action := ActionCreate
	if cur != nil {
		r.Key, r.Gen, r.State = cur.Key, cur.Gen, cur.State
		if cur.Action != ActionCreate || cur.Status == StatusComplete {
			action = ActionUpdate
		}
	} else {
		r.Key, r.Gen = o.key(s.id, 1), 1
		r.State = State{PhysicalID: keyID(r.Key)}
	}
	return r, action
}
