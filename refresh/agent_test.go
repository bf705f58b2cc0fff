package refresh_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/refresh"
)

// signalSink records the signals it receives; it can fail the first N.
type signalSink struct {
	mu      sync.Mutex
	got     []map[string]any
	methods []string
	fail    int // answer 503 to this many requests first
	status  int // answer this status (non-retryable) when set
	got1    chan struct{}
}

func newSignalSink(t *testing.T) (*signalSink, string) {
	s := &signalSink{got1: make(chan struct{}, 100)}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL + "/signal?signature=SECRET"
}

func (s *signalSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	if s.status != 0 {
		http.Error(w, "no", s.status)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	s.got = append(s.got, m)
	s.methods = append(s.methods, r.Method)
	s.got1 <- struct{}{}
}

func (s *signalSink) signals() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.got...)
}

func deploymentWith(t testing.TB, inputs string) refresh.Deployment {
	md := mustJSON(t, `{"deployments": [{"id": "d1", "name": "dep", "group": "os-apply-config", "config": {}, "inputs": `+inputs+`}]}`)
	return refresh.Deployments(md.(*config.Object), nil)[0]
}

func TestHTTPSignalerRetriesAndBody(t *testing.T) {
	sink, url := newSignalSink(t)
	sink.fail = 2
	s := refresh.NewHTTPSignaler(&refresh.HTTPSignalerOptions{Backoff: time.Millisecond})
	d := deploymentWith(t, `[{"name": "deploy_signal_id", "value": "`+url+`"}]`)
	if err := s.Signal(t.Context(), d, refresh.Signal{StatusCode: 0, Stdout: "done\n"}); err != nil {
		t.Fatal(err)
	}
	got := sink.signals()
	if len(got) != 1 || got[0]["deploy_status_code"] != float64(0) || got[0]["deploy_stdout"] != "done\n" || sink.methods[0] != "POST" {
		t.Fatalf("signals %v %v", got, sink.methods)
	}
	// PUT for a Swift temp URL.
	d = deploymentWith(t, `[{"name": "deploy_signal_id", "value": "`+url+`"}, {"name": "deploy_signal_verb", "value": "PUT"}]`)
	if err := s.Signal(t.Context(), d, refresh.Signal{StatusCode: 2}); err != nil || sink.methods[1] != "PUT" {
		t.Fatalf("PUT: %v %v", err, sink.methods)
	}
	// A 4xx is not retried, and the error hides the URL's signature.
	sink.status = 403
	err := s.Signal(t.Context(), d, refresh.Signal{})
	var se *refresh.SignalError
	if !errors.As(err, &se) || se.Status != 403 || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("403: %v", err)
	}
	if err := s.Signal(t.Context(), deploymentWith(t, `[]`), refresh.Signal{}); !errors.Is(err, refresh.ErrNoTransport) {
		t.Fatalf("no signal id: %v", err)
	}
}

func TestSignalBodyTrimmed(t *testing.T) {
	big := strings.Repeat("o", 2_000_000)
	s := refresh.Signal{StatusCode: 1, Stdout: "START" + big + "END-OUT", Stderr: "é" + strings.Repeat("e", 500_000) + "END-ERR"}
	body := s.Body(0)
	if len(body) > refresh.MaxSignalBytes {
		t.Fatalf("body %d bytes", len(body))
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(m["deploy_stdout"].(string), "END-OUT") || !strings.HasSuffix(m["deploy_stderr"].(string), "END-ERR") || m["deploy_status_code"] != float64(1) {
		t.Errorf("trimmed body lost its tails or status")
	}
}

// agentRig is a node: a metadata server, the agent's collector, templates,
// a phase tree and a signal sink.
type agentRig struct {
	t        *testing.T
	ms       *refresh.MetadataServer
	url      string
	root     string
	out      string
	runsLog  string
	sink     *signalSink
	sinkURL  string
	events   chan refresh.AgentEvent
	cacheDir string
}

func newAgentRig(t *testing.T) *agentRig {
	r := &agentRig{t: t, root: t.TempDir(), events: make(chan refresh.AgentEvent, 100)}
	r.ms = refresh.NewMetadataServer(nil)
	srv := httptest.NewServer(r.ms)
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/node-0"
	r.sink, r.sinkURL = newSignalSink(t)
	r.out = filepath.Join(r.root, "out")
	r.runsLog = filepath.Join(r.root, "runs")
	r.cacheDir = filepath.Join(r.root, "cache")
	mk := func(rel, body string, mode os.FileMode) {
		p := filepath.Join(r.root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	mk("templates/etc/motd", "welcome to {{hostname}}\n", 0o644)
	mk("phases/configure.d/10-record", "#!/bin/sh\necho \"configure $(cat "+r.out+"/etc/motd)\" >> "+r.runsLog+"\n[ -f "+r.root+"/fail ] && { echo broken >&2; exit 7; }\n[ -f "+r.root+"/hang ] && sleep 1000\nexit 0\n", 0o755)
	mk("phases/post-configure.d/90-files", "#!/bin/sh\necho \"post $OS_CONFIG_FILES\" >> "+r.runsLog+"\n", 0o755)
	return r
}

func (r *agentRig) metadata(hostname, depConfig string) {
	r.ms.Set("/node-0", mustJSON(r.t, fmt.Sprintf(`{"hostname": %q, "deployments": [
		{"id": "dep-1", "name": "motd", "group": "os-apply-config", "config": %s,
		 "inputs": [{"name": "deploy_signal_id", "value": %q}]},
		{"id": "dep-2", "name": "script", "group": "script", "config": "echo",
		 "inputs": [{"name": "deploy_signal_id", "value": %q}]}]}`, hostname, depConfig, r.sinkURL, r.sinkURL)))
}

func (r *agentRig) agent(oneTime bool) *refresh.Agent {
	a, err := refresh.NewAgent([]refresh.Collector{refresh.NewWatch(r.url, nil)}, refresh.NewCache(r.cacheDir, &refresh.CacheOptions{NoSync: true}), &refresh.AgentOptions{
		Applier:  &refresh.ConfigApplier{TemplatesDir: filepath.Join(r.root, "templates"), OutputDir: r.out, NoSync: true},
		Phases:   refresh.NewPhaseRunner(filepath.Join(r.root, "phases"), &refresh.PhaseOptions{Logger: testLogger(r.t)}),
		Signaler: refresh.NewHTTPSignaler(&refresh.HTTPSignalerOptions{Backoff: time.Millisecond}),
		OneTime:  oneTime,
		Logger:   testLogger(r.t),
		OnEvent:  func(e refresh.AgentEvent) { r.events <- e },
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return a
}

// waitEvent returns the next event of kind k (others are skipped).
func (r *agentRig) waitEvent(k refresh.AgentEventKind) refresh.AgentEvent {
	r.t.Helper()
	for {
		select {
		case e := <-r.events:
			if e.Kind == k {
				return e
			}
		case <-r.t.Context().Done():
			r.t.Fatalf("no %v event", k)
		}
	}
}

func (r *agentRig) runs() string {
	b, _ := os.ReadFile(r.runsLog)
	return string(b)
}

func TestAgentEndToEnd(t *testing.T) {
	r := newAgentRig(t)
	r.metadata("node-0", `{"a": 1}`)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.agent(false).Run(ctx) }()

	r.waitEvent(refresh.AgentRunSucceeded)
	if e := r.waitEvent(refresh.AgentSignaled); e.Deployment != "dep-1" || e.StatusCode != 0 {
		t.Errorf("signal event %+v", e)
	}
	if b, _ := os.ReadFile(filepath.Join(r.out, "etc/motd")); string(b) != "welcome to node-0\n" {
		t.Errorf("rendered motd %q", b)
	}
	if !strings.Contains(r.runs(), "configure welcome to node-0") || !strings.Contains(r.runs(), "post "+r.cacheDir+"/watch.json:"+r.cacheDir+"/motd.json") {
		t.Errorf("phase runs:\n%s", r.runs())
	}

	// A change: the phases re-run with the new configuration, and the
	// changed deployment is signalled again; dep-2 (group script) never.
	r.metadata("node-0-renamed", `{"a": 2}`)
	r.waitEvent(refresh.AgentRunSucceeded)
	r.waitEvent(refresh.AgentSignaled)
	if !strings.Contains(r.runs(), "configure welcome to node-0-renamed") {
		t.Errorf("phases did not re-run with the new metadata:\n%s", r.runs())
	}

	// A failing phase: signalled as a failure with the script's status,
	// never as a success.
	if err := os.WriteFile(filepath.Join(r.root, "fail"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r.metadata("node-0", `{"a": 3}`)
	if e := r.waitEvent(refresh.AgentRunFailed); e.Err == nil {
		t.Error("run failure without an error")
	}
	r.waitEvent(refresh.AgentSignaled)
	cancel()
	<-done
	sigs := r.sink.signals()
	if len(sigs) != 3 {
		t.Fatalf("%d signals, want 3: %v", len(sigs), sigs)
	}
	if sigs[0]["deploy_status_code"] != float64(0) || sigs[1]["deploy_status_code"] != float64(0) {
		t.Errorf("success signals %v", sigs[:2])
	}
	if sigs[2]["deploy_status_code"] != float64(7) || !strings.Contains(sigs[2]["deploy_stderr"].(string), "broken") {
		t.Errorf("failure signal %v", sigs[2])
	}
}

// A crash between apply and the .last commit (here: the agent stopped
// while a phase script hangs) is run again by the next agent.
func TestAgentReappliesAfterCrash(t *testing.T) {
	r := newAgentRig(t)
	r.metadata("node-0", `{"a": 1}`)
	if err := os.WriteFile(filepath.Join(r.root, "hang"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.agent(false).Run(ctx) }()
	r.waitEvent(refresh.AgentApplied)
	for !strings.Contains(r.runs(), "configure") { // the hanging script started
		if t.Context().Err() != nil {
			t.Fatal("the phase script never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if _, err := os.Stat(filepath.Join(r.cacheDir, "watch.json.last")); err == nil {
		t.Fatal(".last committed although the run did not finish")
	}
	if len(r.sink.signals()) != 0 {
		t.Fatal("signalled although the run did not finish")
	}
	if err := os.Remove(filepath.Join(r.root, "hang")); err != nil {
		t.Fatal(err)
	}
	if err := r.agent(true).Run(t.Context()); err != nil {
		t.Fatalf("restarted agent: %v", err)
	}
	if strings.Count(r.runs(), "configure") != 2 {
		t.Errorf("phases after restart:\n%s", r.runs())
	}
	if _, err := os.Stat(filepath.Join(r.cacheDir, "watch.json.last")); err != nil {
		t.Errorf(".last not committed after the successful rerun: %v", err)
	}
	if len(r.sink.signals()) != 1 {
		t.Errorf("signals after restart: %v", r.sink.signals())
	}
	// Nothing changed: a further run does nothing and signals nothing.
	if err := r.agent(true).Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if strings.Count(r.runs(), "configure") != 2 || len(r.sink.signals()) != 1 {
		t.Errorf("an unchanged round re-ran or re-signalled")
	}
}

func TestDeploymentRedacted(t *testing.T) {
	d := deploymentWith(t, `[{"name": "deploy_signal_id", "value": "http://h/?sig=SECRET"}, {"name": "deploy_password", "value": "SECRET"}]`)
	var b strings.Builder
	fmt.Fprintf(&b, "%v %+v %s %#v", d, d, d, d)
	if strings.Contains(b.String(), "SECRET") {
		t.Errorf("deployment printed its inputs: %s", b.String())
	}
}

// The older completion: instance-id + completion-handle (PUT) and
// completion-signal (POST), after a successful run only.
func TestAgentCompletionSignal(t *testing.T) {
	sink, url := newSignalSink(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(v int) {
		md := fmt.Sprintf(`{"v": %d, "instance-id": "i-42", "completion-handle": %q, "completion-signal": %q}`, v, url, url)
		if err := os.WriteFile(filepath.Join(data, "md.json"), []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	phases := filepath.Join(dir, "phases")
	if err := os.MkdirAll(filepath.Join(phases, "configure.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	agent := func() *refresh.Agent {
		a, err := refresh.NewAgent([]refresh.Collector{refresh.NewLocal([]string{data}, nil)}, refresh.NewCache(filepath.Join(dir, "cache"), &refresh.CacheOptions{NoSync: true}), &refresh.AgentOptions{
			Phases:   refresh.NewPhaseRunner(phases, nil),
			Signaler: refresh.NewHTTPSignaler(&refresh.HTTPSignalerOptions{Backoff: time.Millisecond}),
			OneTime:  true,
		})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	write(1)
	if err := agent().Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := sink.signals()
	if len(got) != 2 || sink.methods[0] != "PUT" || sink.methods[1] != "POST" ||
		got[0]["Status"] != "SUCCESS" || got[0]["UniqueId"] != "i-42" || got[0]["Data"] != "Finished os-refresh-config." {
		t.Fatalf("completion signals %v %v", sink.methods, got)
	}
	// A failed run sends nothing.
	if err := os.WriteFile(filepath.Join(phases, "configure.d", "10-fail"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(2)
	if err := agent().Run(t.Context()); err == nil {
		t.Fatal("the failing run succeeded")
	}
	if len(sink.signals()) != 2 {
		t.Errorf("a failed run sent a completion: %v", sink.signals())
	}
}
