package tripleo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo"
	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/refresh"
)

const agentTemplate = `heat_template_version: queens
resources:
  server:
    type: OS::TripleO::ComputeServer
    properties: {name: compute-0, flavor: compute}
  config:
    type: OS::Heat::StructuredConfig
    properties:
      group: os-apply-config
      config:
        nova: {host: {get_input: host}}
  dep:
    type: OS::Heat::StructuredDeployment
    properties:
      config: {get_resource: config}
      server: {get_resource: server}
      input_values: {host: {get_attr: [server, name]}}
outputs:
  metadata_url: {value: {get_attr: [server, metadata_url]}}
  node: {value: {get_attr: [server, node]}}
`

// The Cloud's HTTP service carries a deployment end to end: a bare-metal
// server is deployed on a simulated node, the node agent (refresh.Agent)
// reads its metadata at the server's metadata_url attribute (the Cloud
// redirects it to the document the engine publishes), renders it and
// signals the stack's engine through the Cloud, and the stack completes.
func TestCloudCarriesDeployment(t *testing.T) {
	ctx := t.Context()
	started := make(chan struct{}, 1)
	c, _, _ := newCloud(t, 2, &tripleo.Options{Engine: orchestrate.Options{
		DisableRollback: true,
		Events: func(ev orchestrate.Event) {
			if ev.ResourceName == "dep" && ev.Status == orchestrate.StatusInProgress {
				select {
				case started <- struct{}{}:
				default:
				}
			}
		},
	}})
	e, err := c.Stack(ctx, "overcloud")
	if err != nil {
		t.Fatal(err)
	}
	create := make(chan error, 1)
	go func() {
		create <- e.Create(ctx, "overcloud", &orchestrate.Input{TemplateFile: "overcloud.yaml", Template: agentTemplate,
			Environments: []orchestrate.File{{Name: "env.yaml", Data: groupEnv}}})
	}()
	select {
	case <-started:
	case err := <-create:
		t.Fatalf("create ended before the deployment started: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the deployment did not start")
	}
	info, err := e.Show(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := ""
	for _, r := range info.Resources {
		if r.Name == "server" {
			id = r.PhysicalID
		}
	}
	mdURL := c.URL() + "/servers/" + id

	dir := t.TempDir()
	tmpl := filepath.Join(dir, "templates/etc/nova/nova.conf")
	if err := os.MkdirAll(filepath.Dir(tmpl), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmpl, []byte("host = {{nova.host}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	signalled := make(chan refresh.AgentEvent, 4)
	agent, err := refresh.NewAgent(
		[]refresh.Collector{refresh.NewWatch(mdURL, &refresh.WatchOptions{Wait: 5 * time.Second})},
		refresh.NewCache(filepath.Join(dir, "cache"), &refresh.CacheOptions{NoSync: true}),
		&refresh.AgentOptions{
			Applier:  &refresh.ConfigApplier{TemplatesDir: filepath.Join(dir, "templates"), OutputDir: filepath.Join(dir, "root"), NoSync: true},
			Signaler: refresh.NewHTTPSignaler(nil),
			OnEvent: func(ev refresh.AgentEvent) {
				if ev.Kind == refresh.AgentSignaled || ev.Kind == refresh.AgentRunFailed {
					signalled <- ev
				}
			},
		})
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithCancel(ctx)
	agentDone := make(chan error, 1)
	go func() { agentDone <- agent.Run(actx) }()
	defer func() {
		cancel()
		if err := <-agentDone; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("agent: %v", err)
		}
	}()
	select {
	case ev := <-signalled:
		if ev.Kind != refresh.AgentSignaled || ev.StatusCode != 0 {
			t.Fatalf("agent: %+v", ev)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the agent did not signal")
	}
	select {
	case err := <-create:
		if err != nil {
			t.Fatalf("create: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the stack did not complete after the signal")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "root/etc/nova/nova.conf")); err != nil || string(b) != "host = compute-0\n" {
		t.Errorf("nova.conf = %q, %v", b, err)
	}
	out, err := e.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out["metadata_url"] != mdURL {
		t.Errorf("metadata_url attribute = %v, want %s", out["metadata_url"], mdURL)
	}
	if out["node"] != "node-0" {
		t.Errorf("node = %v, want node-0", out["node"])
	}
}
