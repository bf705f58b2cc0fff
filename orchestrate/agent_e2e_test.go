package orchestrate_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/refresh"
)

// The whole software-deployment loop with no fake on either side: the
// engine publishes the server's metadata on refresh's MetadataServer, the
// node agent (refresh.Agent) long-polls it, renders the deployment's
// configuration with os-apply-config's dialect, runs the phase scripts and
// signals back over HTTP to the engine's SignalHandler, and the stack
// completes. Then an update changes the configuration and the agent, still
// watching, re-renders and signals the update.
const agentTemplate = `heat_template_version: queens
parameters:
  ntp: {type: string}
resources:
  server:
    type: OS::Heat::DeployedServer
    properties: {name: overcloud-controller-0}
  config:
    type: OS::Heat::StructuredConfig
    properties:
      group: os-apply-config
      config:
        ntp: {server: {get_input: ntp_server}}
  dep:
    type: OS::Heat::StructuredDeployment
    properties:
      config: {get_resource: config}
      server: {get_resource: server}
      input_values: {ntp_server: {get_param: ntp}}
outputs:
  status: {value: {get_attr: [dep, deploy_status_code]}}
`

// publisher forwards the engine's metadata documents to the server and
// reports the path of each one published.
type publisher struct {
	*refresh.MetadataServer
	paths chan string
}

func (p *publisher) SetJSON(path string, data []byte) error {
	err := p.MetadataServer.SetJSON(path, data)
	select {
	case p.paths <- path:
	default:
	}
	return err
}

func TestAgentCompletesDeployment(t *testing.T) {
	dir := t.TempDir()
	ms := refresh.NewMetadataServer(nil)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()

	pub := &publisher{MetadataServer: ms, paths: make(chan string, 16)}
	e, err := orchestrate.Open(t.Context(), filepath.Join(dir, "stack.state"), &orchestrate.Options{
		DisableRollback: true,
		Metadata:        pub,
		MetadataURL:     srv.URL + "/metadata",
		SignalURL:       srv.URL + "/signal",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	mux.Handle("/metadata/", http.StripPrefix("/metadata", ms))
	mux.Handle("/signal/", http.StripPrefix("/signal", e.SignalHandler()))

	// What the golden image ships: a template and a phase script.
	write := func(rel, body string, mode os.FileMode) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("templates/etc/chrony.conf", "server {{ntp.server}} iburst\n", 0o644)
	write("phases/post-configure.d/50-restart", "#!/bin/sh\necho restarted >> \""+filepath.Join(dir, "restarts")+"\"\n", 0o755)

	create := make(chan error, 1)
	go func() {
		create <- e.Create(t.Context(), "overcloud", &orchestrate.Input{
			TemplateFile: "overcloud.yaml", Template: agentTemplate, Params: map[string]string{"ntp": "0.pool.ntp.org"}})
	}()
	// The node learns its metadata URL from its user data; here, from the
	// first document the engine publishes.
	var path string
	select {
	case path = <-pub.paths:
	case err := <-create:
		t.Fatalf("create ended before any metadata was published: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no metadata published")
	}

	// The node: it knows only its metadata URL (from its user data).
	signalled := make(chan refresh.AgentEvent, 4)
	agent, err := refresh.NewAgent(
		[]refresh.Collector{refresh.NewWatch(srv.URL+"/metadata"+path, &refresh.WatchOptions{Wait: 5 * time.Second})},
		refresh.NewCache(filepath.Join(dir, "cache"), &refresh.CacheOptions{NoSync: true}),
		&refresh.AgentOptions{
			Applier:  &refresh.ConfigApplier{TemplatesDir: filepath.Join(dir, "templates"), OutputDir: filepath.Join(dir, "root"), NoSync: true},
			Phases:   refresh.NewPhaseRunner(filepath.Join(dir, "phases"), &refresh.PhaseOptions{Stdout: io.Discard, Stderr: io.Discard}),
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
	ctx, cancel := context.WithCancel(t.Context())
	agentDone := make(chan error, 1)
	go func() { agentDone <- agent.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-agentDone; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("agent: %v", err)
		}
	}()

	waitSignal := func() {
		t.Helper()
		select {
		case ev := <-signalled:
			if ev.Kind != refresh.AgentSignaled || ev.StatusCode != 0 {
				t.Fatalf("agent: %+v", ev)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the agent did not signal")
		}
	}
	waitSignal()
	select {
	case err := <-create:
		if err != nil {
			t.Fatalf("create: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stack did not complete after the signal")
	}
	checkFile := func(want string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "root/etc/chrony.conf"))
		if err != nil || string(b) != want {
			t.Fatalf("chrony.conf = %q, %v; want %q", b, err, want)
		}
	}
	checkFile("server 0.pool.ntp.org iburst\n")

	// An update of the parameter reaches the running agent, which
	// re-renders, re-runs the phases and signals the update.
	update := make(chan error, 1)
	go func() {
		update <- e.Update(t.Context(), &orchestrate.Input{
			TemplateFile: "overcloud.yaml", Template: agentTemplate, Params: map[string]string{"ntp": "ntp.example.com"}})
	}()
	waitSignal()
	select {
	case err := <-update:
		if err != nil {
			t.Fatalf("update: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the update did not complete after the signal")
	}
	checkFile("server ntp.example.com iburst\n")
	out, err := e.Outputs(t.Context())
	if err != nil || out["status"] == nil {
		t.Errorf("outputs = %v, %v", out, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "restarts")); string(b) != "restarted\nrestarted\n" {
		t.Errorf("phase script ran %q, want twice", b)
	}
}
