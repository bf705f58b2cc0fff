package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tripleo-go/tripleo/refresh"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "node-agent:", err)
		os.Exit(1)
	}
}

// node is the temporary node's layout.
type node struct {
	root, metadata, templates, output, phases, cache string
}

func (n *node) write(rel, body string, mode os.FileMode) error {
	p := filepath.Join(n.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(body), mode)
}

// setMetadata writes the node's metadata: a hostname, an NTP server, and
// one deployment whose completion is signalled to signalURL.
func (n *node) setMetadata(hostname, ntp, signalURL string) error {
	md := fmt.Sprintf(`{
  "hostname": %q,
  "ntp": {"server": %q},
  "deployments": [
    {"id": "5f2c-motd", "name": "motd", "group": "os-apply-config",
     "config": {"ntp": {"server": %q}},
     "inputs": [{"name": "deploy_signal_id", "value": %q}]}
  ]
}`, hostname, ntp, ntp, signalURL)
	if err := os.MkdirAll(filepath.Dir(n.metadata), 0o755); err != nil {
		return err
	}
	// A dotfile is never read by the local collector; the rename is atomic.
	tmp := filepath.Join(filepath.Dir(n.metadata), ".node.json.tmp")
	if err := os.WriteFile(tmp, []byte(md), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, n.metadata) // the agent never sees a half-written file
}

// signalReceiver stands in for the orchestrator: it records the signals.
type signalReceiver struct {
	mu   sync.Mutex
	got  []map[string]any
	recv chan map[string]any
}

func (s *signalReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.got = append(s.got, body)
	s.mu.Unlock()
	s.recv <- body
}

// prefixWriter indents the phase scripts' output.
type prefixWriter struct {
	w   io.Writer
	mu  sync.Mutex
	buf []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		fmt.Fprintf(p.w, "      | %s\n", p.buf[:i])
		p.buf = p.buf[i+1:]
	}
}

func run() error {
	root, err := os.MkdirTemp("", "node-agent-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	n := &node{
		root:      root,
		metadata:  filepath.Join(root, "local-data", "node.json"),
		templates: filepath.Join(root, "templates"),
		output:    filepath.Join(root, "rootfs"),
		phases:    filepath.Join(root, "os-refresh-config"),
		cache:     filepath.Join(root, "cache"),
	}
	fmt.Println("node directory:", root)

	// What the image ships: templates and phase scripts.
	files := []struct {
		rel, body string
		mode      os.FileMode
	}{
		{"templates/etc/chrony.conf", "# rendered for {{hostname}}\nserver {{ntp.server}} iburst\n", 0o644},
		{"os-refresh-config/environment.d/10-paths", "export ROOTFS=" + n.output + "\n", 0o644},
		{"os-refresh-config/configure.d/20-show-chrony", "#!/bin/sh\necho \"chrony.conf is now: $(tail -1 $ROOTFS/etc/chrony.conf)\"\n", 0o755},
		{"os-refresh-config/post-configure.d/50-restart-chrony", "#!/bin/sh\necho \"(restarting chronyd)\"\n", 0o755},
	}
	for _, f := range files {
		if err := n.write(f.rel, f.body, f.mode); err != nil {
			return err
		}
	}

	// The orchestrator's signal endpoint, on loopback.
	recv := &signalReceiver{recv: make(chan map[string]any, 10)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: recv, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	signalURL := "http://" + ln.Addr().String() + "/v1/signal/5f2c-motd"

	if err := n.setMetadata("overcloud-controller-0", "0.pool.ntp.org", signalURL); err != nil {
		return err
	}

	out := &prefixWriter{w: os.Stdout}
	signaled := make(chan struct{}, 10)
	start := time.Now()
	// The agent reads the local metadata directory, caches it in
	// os-collect-config's layout, renders the templates, runs the phases
	// and signals the deployment.
	local := refresh.NewLocal([]string{filepath.Dir(n.metadata)}, nil)
	cache := refresh.NewCache(n.cache, &refresh.CacheOptions{NoSync: true})
	agent, err := refresh.NewAgent([]refresh.Collector{local}, cache, &refresh.AgentOptions{
		Applier: &refresh.ConfigApplier{TemplatesDir: n.templates, OutputDir: n.output, NoSync: true},
		Phases: refresh.NewPhaseRunner(n.phases, &refresh.PhaseOptions{
			Stdout: out,
			Stderr: io.Discard,
			OnEvent: func(e refresh.Event) {
				if e.Kind == refresh.ScriptStarted {
					fmt.Printf("  [%6.3fs] phase %s: running %s\n", time.Since(start).Seconds(), e.Run.Phase, e.Run.Script)
				}
			},
		}),
		Signaler: refresh.NewHTTPSignaler(nil),
		// A local file has no change notification: poll it often.
		MinInterval: 100 * time.Millisecond,
		MaxInterval: 500 * time.Millisecond,
		OnEvent: func(e refresh.AgentEvent) {
			switch e.Kind {
			case refresh.AgentChanged:
				fmt.Printf("  [%6.3fs] metadata changed: %s\n", time.Since(start).Seconds(), strings.Join(e.Changed, ", "))
			case refresh.AgentApplied:
				fmt.Printf("  [%6.3fs] configuration rendered: %d file(s)\n", time.Since(start).Seconds(), len(e.Changed))
			case refresh.AgentRunFailed:
				fmt.Printf("  [%6.3fs] run FAILED: %v\n", time.Since(start).Seconds(), e.Err)
			case refresh.AgentSignaled:
				fmt.Printf("  [%6.3fs] signalled deployment %s (status %d)\n", time.Since(start).Seconds(), e.Deployment, e.StatusCode)
				signaled <- struct{}{}
			}
		},
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitSignal := func() (map[string]any, error) {
		timeout := time.After(30 * time.Second)
		var body map[string]any
		select {
		case body = <-recv.recv:
		case <-timeout:
			return nil, fmt.Errorf("no signal within 30s")
		}
		select {
		case <-signaled:
			return body, nil
		case <-timeout:
			return nil, fmt.Errorf("the agent did not report its signal within 30s")
		}
	}

	fmt.Println("\n1. first boot: the agent collects, renders, runs the phases and signals")
	s1, err := waitSignal()
	if err != nil {
		return err
	}
	fmt.Printf("  orchestrator received: deploy_status_code=%v\n", s1["deploy_status_code"])

	fmt.Println("\n2. the orchestrator changes the NTP server in the metadata")
	if err := n.setMetadata("overcloud-controller-0", "ntp.example.com", signalURL); err != nil {
		return err
	}
	s2, err := waitSignal()
	if err != nil {
		return err
	}
	fmt.Printf("  orchestrator received: deploy_status_code=%v\n", s2["deploy_status_code"])

	rendered, err := os.ReadFile(filepath.Join(n.output, "etc/chrony.conf"))
	if err != nil {
		return err
	}
	fmt.Printf("\nsummary:\n  signals received: %d (both status %v and %v)\n  final %s:\n", len(recv.got), s1["deploy_status_code"], s2["deploy_status_code"], "etc/chrony.conf")
	for _, l := range strings.Split(strings.TrimRight(string(rendered), "\n"), "\n") {
		fmt.Println("    " + l)
	}
	fmt.Printf("  cache (os-collect-config layout): %s\n", n.cache)
	ents, _ := os.ReadDir(n.cache)
	for _, e := range ents {
		fmt.Println("    " + e.Name())
	}
	return nil
}
