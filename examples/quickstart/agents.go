package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tripleo-go/tripleo"
	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/refresh"
)

// nodeAgents plays the part of the overcloud's machines once their image
// is deployed: for every server of the watched stack it runs the node
// agent (refresh.Agent: collect the server's metadata from the Cloud's
// service, render the image's os-apply-config templates, run its
// os-refresh-config phase scripts with $ROOT set to the node's root, and
// signal each deployment). Each node's root is DIR/NODE/root and is kept
// across redeploys, as the node's persistent volume; "booting" writes the
// image's /etc/toy-release into it.
//
// This stands in for drivers/sim booting its machines from their disks,
// which is to come; the agent, the metadata and the signals are the real
// ones.
type nodeAgents struct {
	ctx     context.Context
	cloud   *tripleo.Cloud
	stack   string
	dir     string
	assets  string                   // the image's files (templates, phase scripts)
	release func(node string) string // the image version a node booted
	out     *progress

	mu        sync.Mutex
	running   map[string]*agentRun // by server physical id
	all       []*agentRun
	signalled map[string]int // node → deployments signalled
	failed    []error
	wg        sync.WaitGroup
}

type agentRun struct {
	node   string
	cancel context.CancelFunc
	done   chan struct{}
}

// newNodeAgents writes the image's element files to DIR/image (the
// templates and phase scripts every node runs) and returns the agents of
// stack's servers.
func newNodeAgents(ctx context.Context, cloud *tripleo.Cloud, stack, dir string, release func(string) string, out *progress) (*nodeAgents, error) {
	a := &nodeAgents{ctx: ctx, cloud: cloud, stack: stack, dir: dir, assets: filepath.Join(dir, "image"),
		release: release, out: out, running: map[string]*agentRun{}, signalled: map[string]int{}}
	el, err := toyElement()
	if err != nil {
		return nil, err
	}
	err = fs.WalkDir(el.Overlay, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := fs.ReadFile(el.Overlay, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(a.assets, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, info.Mode().Perm())
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// root is node's root directory.
func (a *nodeAgents) root(node string) string { return filepath.Join(a.dir, node, "root") }

// event follows the stack's servers: one agent per server created, stopped
// when the server is deleted. It is an orchestrate.Options.Events hook.
func (a *nodeAgents) event(ev orchestrate.Event) {
	if ev.StackName != a.stack || ev.ResourceType != tripleo.TypeServer {
		return
	}
	switch {
	case ev.Action == orchestrate.ActionCreate && ev.Status == orchestrate.StatusComplete:
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := a.start(ev.StackID, ev.ResourceName, ev.PhysicalResourceID); err != nil {
				a.fail(fmt.Errorf("agent of %s: %w", ev.ResourceName, err))
			}
		}()
	case ev.Action == orchestrate.ActionDelete && ev.Status == orchestrate.StatusInProgress:
		a.stop(ev.PhysicalResourceID)
	}
}

func (a *nodeAgents) fail(err error) {
	a.mu.Lock()
	a.failed = append(a.failed, err)
	a.mu.Unlock()
	a.out.printf("agent: %v", err)
}

// start boots the node holding server id and runs its agent.
func (a *nodeAgents) start(stackID, resource, id string) error {
	nodes, err := a.cloud.Inventory().List(a.ctx)
	if err != nil {
		return err
	}
	node := ""
	for _, n := range nodes {
		if strings.HasPrefix(n.Properties[tripleo.PropClaim], stackID+"/"+resource+"/") {
			node = n.Name
		}
	}
	if node == "" {
		return errors.New("no node holds its claim")
	}
	root := a.root(node)
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "etc/toy-release"), []byte(a.release(node)+"\n"), 0o644); err != nil {
		return err
	}
	state := filepath.Join(a.dir, node, "agent-"+id)
	agent, err := refresh.NewAgent(
		[]refresh.Collector{refresh.NewWatch(a.cloud.URL()+"/servers/"+id, &refresh.WatchOptions{Wait: 30 * time.Second})},
		refresh.NewCache(filepath.Join(state, "cache"), &refresh.CacheOptions{NoSync: true}),
		&refresh.AgentOptions{
			Applier: &refresh.ConfigApplier{TemplatesDir: filepath.Join(a.assets, "usr/libexec/os-apply-config/templates"),
				OutputDir: root, NoSync: true},
			Phases: refresh.NewPhaseRunner(filepath.Join(a.assets, "usr/libexec/os-refresh-config"),
				&refresh.PhaseOptions{Env: append(os.Environ(), "ROOT="+root), Timeout: time.Minute}),
			Signaler:    refresh.NewHTTPSignaler(nil),
			MinInterval: 50 * time.Millisecond, MaxInterval: 3 * time.Second,
			OnEvent: func(ev refresh.AgentEvent) {
				switch ev.Kind {
				case refresh.AgentSignaled:
					a.mu.Lock()
					a.signalled[node]++
					a.mu.Unlock()
					a.out.printf("node %s: agent signalled deployment %s (status %d)", node, ev.Deployment, ev.StatusCode)
				case refresh.AgentRunFailed, refresh.AgentSignalFailed:
					a.out.printf("node %s: agent: %s: %v", node, ev.Kind, ev.Err)
				}
			},
		})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(a.ctx)
	r := &agentRun{node: node, cancel: cancel, done: make(chan struct{})}
	a.mu.Lock()
	a.running[id] = r
	a.all = append(a.all, r)
	a.mu.Unlock()
	a.out.printf("node %s: booted %s, agent watching server %s", node, a.release(node), id)
	go func() {
		defer close(r.done)
		if err := agent.Run(ctx); err != nil && ctx.Err() == nil {
			a.fail(fmt.Errorf("node %s: %w", node, err))
		}
	}()
	return nil
}

// stop ends the agent of server id, if one runs. It does not wait (it
// runs inside the engine's event hook, and the agent may be signalling
// the engine); close does.
func (a *nodeAgents) stop(id string) {
	a.mu.Lock()
	r := a.running[id]
	delete(a.running, id)
	a.mu.Unlock()
	if r != nil {
		r.cancel()
	}
}

// stopNode ends the agent running on node (the machine died).
func (a *nodeAgents) stopNode(node string) {
	a.mu.Lock()
	var ids []string
	for id, r := range a.running {
		if r.node == node {
			ids = append(ids, id)
		}
	}
	a.mu.Unlock()
	for _, id := range ids {
		a.stop(id)
	}
}

// signals returns the number of deployments node's agents signalled.
func (a *nodeAgents) signals(node string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.signalled[node]
}

// close stops every agent and returns the errors they met.
func (a *nodeAgents) close() error {
	a.wg.Wait()
	a.mu.Lock()
	all := a.all
	a.mu.Unlock()
	for _, r := range all {
		r.cancel()
		<-r.done
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return errors.Join(a.failed...)
}
