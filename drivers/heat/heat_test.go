package heat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/drivers/heat"
	"github.com/tripleo-go/tripleo/refresh"
	"github.com/tripleo-go/tripleo/refresh/collectortest"
)

// stack is one test stack on the real Heat, driven with raw JSON
// requests (templates as JSON, never through gophercloud's YAML).
type stack struct {
	t    *testing.T
	c    *gophercloud.ServiceClient
	name string
	id   string // "name/uuid" once created
}

func newStack(t *testing.T, name string) *stack {
	url := needHeat(t)
	c, err := heat.NoAuthClient(url)
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, c: c, name: fmt.Sprintf("%s-%d", name, time.Now().UnixNano()%1e9)}
	t.Cleanup(func() {
		if s.id != "" {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s.c.Delete(ctx, s.c.ServiceURL("stacks", s.id), nil)
		}
	})
	return s
}

// apply creates the stack with template, or updates it, and waits until
// Heat reports the action complete (or want, when not empty).
func (s *stack) apply(template map[string]any, want string) map[string]any {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	body := map[string]any{"template": template}
	if s.id == "" {
		body["stack_name"] = s.name
		var r struct{ Stack struct{ ID string } }
		if _, err := s.c.Post(ctx, s.c.ServiceURL("stacks"), body, &r, &gophercloud.RequestOpts{OkCodes: []int{201}}); err != nil {
			s.t.Fatal(err)
		}
		s.id = s.name + "/" + r.Stack.ID
		if want == "" {
			want = "CREATE_COMPLETE"
		}
	} else {
		if _, err := s.c.Put(ctx, s.c.ServiceURL("stacks", s.id), body, nil, &gophercloud.RequestOpts{OkCodes: []int{202}}); err != nil {
			s.t.Fatal(err)
		}
		if want == "" {
			want = "UPDATE_COMPLETE"
		}
	}
	return s.wait(ctx, want)
}

// wait polls the stack until its status is want, failing on any other
// settled status.
func (s *stack) wait(ctx context.Context, want string) map[string]any {
	s.t.Helper()
	for {
		var r struct{ Stack map[string]any }
		if _, err := s.c.Get(ctx, s.c.ServiceURL("stacks", s.id), &r, nil); err != nil {
			s.t.Fatal(err)
		}
		st, _ := r.Stack["stack_status"].(string)
		if st == want {
			return r.Stack
		}
		if !strings.HasSuffix(st, "_IN_PROGRESS") || want == "" {
			s.t.Fatalf("stack %s is %s (want %s): %v", s.name, st, want, r.Stack["stack_status_reason"])
		}
		select {
		case <-ctx.Done():
			s.t.Fatalf("stack %s still %s: %v", s.name, st, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// deployTemplate is a server (DeployedServer polling Heat) with one
// structured os-apply-config deployment named "md" holding config, or no
// server at all when config is nil.
func deployTemplate(cfg any, transport string) map[string]any {
	res := map[string]any{}
	tmpl := map[string]any{"heat_template_version": "2016-10-14", "resources": res}
	if cfg != nil {
		res["server"] = map[string]any{"type": "OS::Heat::DeployedServer", "properties": map[string]any{"software_config_transport": "POLL_SERVER_HEAT"}}
		res["cfg"] = map[string]any{"type": "OS::Heat::StructuredConfig", "properties": map[string]any{
			"group": "os-apply-config", "config": cfg, "outputs": []any{map[string]any{"name": "result"}}}}
		res["dep"] = map[string]any{"type": "OS::Heat::StructuredDeployment", "properties": map[string]any{
			"config": map[string]any{"get_resource": "cfg"}, "server": map[string]any{"get_resource": "server"},
			"signal_transport": transport, "name": "md"}}
		tmpl["outputs"] = map[string]any{
			"stdout": map[string]any{"value": map[string]any{"get_attr": []any{"dep", "deploy_stdout"}}},
			"result": map[string]any{"value": map[string]any{"get_attr": []any{"dep", "result"}}},
		}
	}
	return tmpl
}

// waitDeployment reads the server's metadata through our Collector until
// Heat has put the deployment in it (the deployment is then waiting for
// its signal).
func (s *stack) waitDeployment(ctx context.Context) refresh.Deployment {
	s.t.Helper()
	for deadline := time.Now().Add(time.Minute); ; {
		outs, err := heat.NewCollector(s.c, s.id, "server", nil).Collect(ctx)
		if err == nil {
			if deps := refresh.Deployments(outs[0].Content.(*config.Object), nil); len(deps) > 0 {
				return deps[0]
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no deployment in the server's metadata: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// plain converts a config.Object into plain Go values for JSON.
func plain(t *testing.T, o *config.Object) any {
	var v any
	if err := json.Unmarshal(config.AppendJSON(nil, o), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCollectorConformance runs refresh/collectortest against a real Heat:
// the metadata set is the config of a structured deployment to a
// DeployedServer, which Heat writes into the server's metadata.
func TestCollectorConformance(t *testing.T) {
	s := newStack(t, "test-collector")
	collectortest.Run(t, collectortest.Harness{
		New: func(t *testing.T) refresh.Collector {
			return heat.NewCollector(s.c, s.id, "server", nil)
		},
		Set: func(t *testing.T, md *config.Object) {
			s.apply(deployTemplate(plain(t, md), "NO_SIGNAL"), "")
		},
		Break: func(t *testing.T) {
			s.apply(deployTemplate(nil, ""), "")
		},
	})
}

// TestSoftwareDeploymentSignalled: a deployment with the HEAT_SIGNAL
// transport keeps the stack in CREATE_IN_PROGRESS until our Signaler
// posts the result read from the server's metadata through our
// Collector; Heat then completes the stack and exposes the outputs.
func TestSoftwareDeploymentSignalled(t *testing.T) {
	s := newStack(t, "test-signal")
	ctx := t.Context()
	s.apply(deployTemplate(map[string]any{"hostname": "node-1"}, "HEAT_SIGNAL"), "CREATE_IN_PROGRESS")
	d := s.waitDeployment(ctx)
	if tr, _ := d.Input("deploy_signal_transport"); tr != "HEAT_SIGNAL" || d.Name != "md" {
		t.Fatalf("deployment %v transport %q", d, tr)
	}
	password, _ := d.Input("deploy_password")
	var logs strings.Builder
	sig := heat.NewSignaler(&heat.SignalerOptions{Client: s.c, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	// Another transport is refused so that signalers chain.
	if err := sig.Signal(ctx, refresh.Deployment{Inputs: config.NewObject()}, refresh.Signal{}); err != refresh.ErrNoTransport {
		t.Fatalf("deployment without HEAT_SIGNAL: %v", err)
	}
	out := config.NewObject()
	out.Set("result", "hello node-1")
	if err := sig.Signal(ctx, d, refresh.Signal{StatusCode: 0, Stdout: "configured", Outputs: out}); err != nil {
		t.Fatal(err)
	}
	st := s.wait(ctx, "CREATE_COMPLETE")
	got := map[string]any{}
	for _, o := range st["outputs"].([]any) {
		o := o.(map[string]any)
		got[o["output_key"].(string)] = o["output_value"]
	}
	if got["stdout"] != "configured" || got["result"] != "hello node-1" {
		t.Errorf("outputs %v", got)
	}
	if password == "" || strings.Contains(logs.String(), password) || !strings.Contains(logs.String(), "Signaled deployment") {
		t.Errorf("password of %d bytes: want one, and not in the log:\n%s", len(password), logs.String())
	}
}

// TestSignalFailure: a non-zero deploy_status_code fails the deployment
// and the stack.
func TestSignalFailure(t *testing.T) {
	s := newStack(t, "test-signal-fail")
	ctx := t.Context()
	s.apply(deployTemplate(map[string]any{"k": "v"}, "HEAT_SIGNAL"), "CREATE_IN_PROGRESS")
	d := s.waitDeployment(ctx)
	if err := heat.NewSignaler(&heat.SignalerOptions{Client: s.c}).Signal(ctx, d, refresh.Signal{StatusCode: 3, Stderr: "boom"}); err != nil {
		t.Fatal(err)
	}
	st := s.wait(ctx, "CREATE_FAILED")
	if reason := fmt.Sprint(st["stack_status_reason"]); !strings.Contains(reason, "status code: 3") {
		t.Errorf("reason %q", reason)
	}
}

// TestSignalToMissingResource is a SignalError with Heat's status.
func TestSignalToMissingResource(t *testing.T) {
	c, err := heat.NoAuthClient(needHeat(t))
	if err != nil {
		t.Fatal(err)
	}
	d := refresh.Deployment{Name: "x", Inputs: config.NewObject()}
	d.Inputs.Set("deploy_signal_transport", "HEAT_SIGNAL")
	d.Inputs.Set("deploy_stack_id", "no-such-stack/00000000-0000-0000-0000-000000000000")
	d.Inputs.Set("deploy_resource_name", "dep")
	d.Inputs.Set("deploy_password", "very-secret-pw")
	err = heat.NewSignaler(&heat.SignalerOptions{Client: c}).Signal(t.Context(), d, refresh.Signal{})
	se, ok := err.(*refresh.SignalError)
	if !ok || se.Status != http.StatusNotFound {
		t.Fatalf("err = %v, want a SignalError with 404", err)
	}
}
