package enginetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/orchestrate"
)

// Harness tells Run how to make engines and where they differ.
type Harness struct {
	// New returns an engine bound to no stack yet (Create names it). The
	// suite closes it at the end of the case, after deleting the stack.
	New func(t *testing.T) orchestrate.Engine
	// Quirks are the engine's documented differences.
	Quirks Quirks
	// Skip maps a case name (as in t.Run) to the reason it is skipped on
	// this engine: a feature the engine lacks yet.
	Skip map[string]string
	// Parallel runs the cases in parallel (each has its own stack).
	Parallel bool
	// Wait bounds each wait for a state the case expects (a resource
	// waiting for its signal, an update in progress); 0 means 2 minutes.
	Wait time.Duration
}

// Quirks are known, documented differences between an engine and Heat's
// behaviour that the cases accept.
type Quirks struct {
	// RollbackAsUpdate: Rollback runs as an update to the last good
	// template, so its events and final state say UPDATE, not ROLLBACK
	// (drivers/heat: Heat has no rollback call outside a failing update).
	RollbackAsUpdate bool
	// ReplacedDeletedAside: the resource a replacement supersedes is
	// deleted outside the stack's events (Heat's legacy engine moves it
	// into a backup stack and deletes it there), so no DELETE event of the
	// old resource is listed.
	ReplacedDeletedAside bool
}

// Run runs every case on engines from h.
func Run(t *testing.T, h Harness) {
	if h.New == nil {
		t.Fatal("enginetest: Harness.New is nil")
	}
	if h.Wait <= 0 {
		h.Wait = 2 * time.Minute
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if why, ok := h.Skip[c.name]; ok {
				t.Skip(why)
			}
			if h.Parallel {
				t.Parallel()
			}
			c.fn(t, newSuite(t, h))
		})
	}
}

// Cases returns the names of the cases Run runs, in order (the keys of
// Harness.Skip).
func Cases() []string {
	out := make([]string, len(cases))
	for i, c := range cases {
		out[i] = c.name
	}
	return out
}

var cases = []struct {
	name string
	fn   func(*testing.T, *suite)
}{
	{"CreateParamsOutputs", testCreateParamsOutputs},
	{"Events", testEvents},
	{"Errors", testErrors},
	{"PlanApply", testPlanApply},
	{"UpdateInPlaceVsReplace", testUpdateInPlaceVsReplace},
	{"PatchUpdate", testPatchUpdate},
	{"ClearParams", testClearParams},
	{"GroupScale", testGroupScale},
	{"RollingUpdate", testRollingUpdate},
	{"AutoRollback", testAutoRollback},
	{"Rollback", testRollback},
	{"Delete", testDelete},
	{"SignalWaitCondition", testSignalWaitCondition},
	{"SignalDeployment", testSignalDeployment},
	{"CheckStack", testCheckStack},
	{"CancelUpdate", testCancelUpdate},
	{"MarkUnhealthy", testMarkUnhealthy},
}

// suite is one case's engine and stack.
type suite struct {
	t    *testing.T
	h    Harness
	e    orchestrate.Engine
	name string
}

var nameChars = regexp.MustCompile(`[^a-z0-9]+`)

func newSuite(t *testing.T, h Harness) *suite {
	e := h.New(t)
	last := t.Name()[strings.LastIndexByte(t.Name(), '/')+1:]
	s := &suite{t: t, h: h, e: e,
		name: fmt.Sprintf("et-%s-%06d", nameChars.ReplaceAllString(strings.ToLower(last), "-"), rand.IntN(1e6))}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if info, err := e.Show(ctx); err == nil && info.State() != "DELETE_COMPLETE" {
			if err := e.Delete(ctx); err != nil && !errors.Is(err, orchestrate.ErrNotFound) {
				t.Logf("cleanup: delete %s: %v", s.name, err)
			}
		}
		e.Close()
	})
	return s
}

// tmpl is a template input.
func tmpl(body string, params map[string]string) *orchestrate.Input {
	return &orchestrate.Input{TemplateFile: "template.yaml", Template: "heat_template_version: 2016-10-14\n" + body, Params: params}
}

func (s *suite) create(in *orchestrate.Input) {
	s.t.Helper()
	if err := s.e.Create(s.t.Context(), s.name, in); err != nil {
		s.t.Fatalf("create: %v", err)
	}
	s.state("CREATE_COMPLETE")
}

func (s *suite) update(in *orchestrate.Input) {
	s.t.Helper()
	if err := s.e.Update(s.t.Context(), in); err != nil {
		s.t.Fatalf("update: %v", err)
	}
	s.state("UPDATE_COMPLETE")
}

// show returns the stack and its resources by name.
func (s *suite) show() (*orchestrate.StackInfo, map[string]orchestrate.ResourceInfo) {
	s.t.Helper()
	info, err := s.e.Show(s.t.Context())
	if err != nil {
		s.t.Fatalf("show: %v", err)
	}
	m := map[string]orchestrate.ResourceInfo{}
	for _, r := range info.Resources {
		m[r.Name] = r
	}
	return info, m
}

func (s *suite) state(want string) {
	s.t.Helper()
	if info, _ := s.show(); info.State() != want {
		s.t.Fatalf("stack is %s (%s), want %s", info.State(), info.Reason, want)
	}
}

// outputs returns the outputs, normalised through JSON (numbers are
// float64 on every engine).
func (s *suite) outputs() map[string]any {
	s.t.Helper()
	out, err := s.e.Outputs(s.t.Context())
	if err != nil {
		s.t.Fatalf("outputs: %v", err)
	}
	return norm(s.t, out).(map[string]any)
}

func norm(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// events lists every event.
func (s *suite) events() []orchestrate.Event {
	s.t.Helper()
	evs, err := s.e.Events(s.t.Context(), nil)
	if err != nil {
		s.t.Fatalf("events: %v", err)
	}
	return evs
}

// waitFor polls Show until ok holds, failing after Harness.Wait.
func (s *suite) waitFor(what string, ok func(*orchestrate.StackInfo, map[string]orchestrate.ResourceInfo) bool) {
	s.t.Helper()
	deadline := time.Now().Add(s.h.Wait)
	for {
		info, err := s.e.Show(s.t.Context())
		if err == nil {
			m := map[string]orchestrate.ResourceInfo{}
			for _, r := range info.Resources {
				m[r.Name] = r
			}
			if ok(info, m) {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %s: gave up (last: %v %v)", what, info, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// op is an operation running in a goroutine.
type op struct {
	done chan struct{}
	err  error
}

// async runs f in a goroutine.
func async(f func() error) *op {
	o := &op{done: make(chan struct{})}
	go func() {
		defer close(o.done)
		o.err = f()
	}()
	return o
}

// wait waits for the operation's error.
func (o *op) wait() error { <-o.done; return o.err }

// signalUntil signals resource until the operation o ends, a few seconds
// apart: a resource may show IN_PROGRESS before it can take its signal
// (Heat drops a deployment's signal that arrives before the deployment
// is stored, "deployment_id must be specified").
func (s *suite) signalUntil(o *op, resource string, body map[string]any) error {
	s.t.Helper()
	deadline := time.Now().Add(s.h.Wait)
	for {
		if err := s.e.Signal(s.t.Context(), resource, body); err != nil {
			select {
			case <-o.done: // signalled in time by an earlier try
			default:
				s.t.Fatalf("signal %s: %v", resource, err)
			}
		}
		select {
		case <-o.done:
			return o.err
		case <-time.After(2 * time.Second):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("signal %s: the operation did not end", resource)
		}
	}
}

// base strips the generation suffix the embedded engine gives a replaced
// resource ("group/5@1"): Heat keeps the name.
func base(name string) string {
	if i := strings.IndexByte(name, '@'); i >= 0 {
		return name[:i]
	}
	return name
}

var (
	actions  = []orchestrate.Action{"INIT", "CREATE", "UPDATE", "DELETE", "ROLLBACK", "CHECK", "ADOPT", "SUSPEND", "RESUME", "SNAPSHOT"}
	statuses = []orchestrate.Status{"IN_PROGRESS", "COMPLETE", "FAILED"}
)

// checkOrder checks that every event uses Heat's vocabulary and that each
// resource's COMPLETE or FAILED for an action follows an IN_PROGRESS for
// that action; it returns the stack's own events.
func checkOrder(t *testing.T, stack string, evs []orchestrate.Event) []orchestrate.Event {
	t.Helper()
	open := map[string]int{}
	var own []orchestrate.Event
	for i, ev := range evs {
		if !slices.Contains(actions, ev.Action) || !slices.Contains(statuses, ev.Status) {
			t.Errorf("event %d %s: %s is not Heat's vocabulary", i, ev.ResourceName, ev.State())
		}
		if ev.ID == "" || ev.ResourceName == "" {
			t.Errorf("event %d without id or resource: %+v", i, ev)
		}
		if ev.ResourceName == stack {
			own = append(own, ev)
		}
		k := base(ev.ResourceName) + " " + string(ev.Action)
		switch ev.Status {
		case orchestrate.StatusInProgress:
			open[k]++
		default:
			if ev.Action == orchestrate.ActionCheck || ev.Action == orchestrate.ActionInit {
				continue // Heat reports some checks without IN_PROGRESS
			}
			if open[k] == 0 {
				t.Errorf("event %d: %s %s without %s_IN_PROGRESS before it", i, ev.ResourceName, ev.State(), ev.Action)
				continue
			}
			open[k]--
		}
	}
	return own
}

// index returns the position of the first event of resource in state, or
// -1.
func index(evs []orchestrate.Event, resource, state string) int {
	return slices.IndexFunc(evs, func(ev orchestrate.Event) bool {
		return base(ev.ResourceName) == resource && ev.State() == state
	})
}

// last returns the position of the last such event, or -1.
func last(evs []orchestrate.Event, resource, state string) int {
	for i := len(evs) - 1; i >= 0; i-- {
		if base(evs[i].ResourceName) == resource && evs[i].State() == state {
			return i
		}
	}
	return -1
}

// members returns the group's member names, sorted by index.
func members(res map[string]orchestrate.ResourceInfo, group string) []string {
	var out []string
	for n, r := range res {
		rest, ok := strings.CutPrefix(n, group+"/")
		if ok && !strings.Contains(rest, "/") && !strings.Contains(rest, "@") && rstate(r) != "DELETE_COMPLETE" {
			out = append(out, rest)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(a) - len(b) + strings.Compare(a, b)*btoi(len(a) == len(b)) })
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rstate returns a resource's ACTION_STATUS.
func rstate(r orchestrate.ResourceInfo) string { return string(r.Action) + "_" + string(r.Status) }
