package provision_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/provision"
)

func newTestProvisioner(t *testing.T, o *provision.Options) (*provision.Provisioner, *fakeFleet) {
	t.Helper()
	inv, err := provision.OpenFileInventory(filepath.Join(t.TempDir(), "inventory.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	fleet := newFleet()
	if o == nil {
		o = &provision.Options{}
	}
	o.OpenBMC = fleet.open
	if o.BMC.PollInterval == 0 {
		o.BMC.PollInterval = time.Millisecond
	}
	p := provision.NewProvisioner(inv, o)
	t.Cleanup(func() { p.Close() })
	return p, fleet
}

type recordStep struct {
	mu  sync.Mutex
	ran []string
	err error
}

func (s *recordStep) Name() string { return "record" }
func (s *recordStep) Run(ctx context.Context, n *provision.Node, b *provision.BMC) error {
	st, err := b.PowerState(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ran = append(s.ran, n.Name+" "+st.String())
	return s.err
}

func TestLifecycle(t *testing.T) {
	ctx := t.Context()
	var trs []string
	p, fleet := newTestProvisioner(t, &provision.Options{OnTransition: func(node string, tr provision.Transition) {
		trs = append(trs, tr.To.String())
	}})
	n, err := p.Enroll(ctx, &provision.Node{Name: "n0", BMCAddress: "fake://n0", Credentials: provision.NewCredentials("admin", "pw")})
	if err != nil || n.ProvisionState != provision.StateManageable || n.PowerState != provision.PowerOff {
		t.Fatalf("Enroll = %+v, %v", n, err)
	}
	d := fleet.get("fake://n0")
	d.inv = &provision.HardwareInventory{CPUs: 4, MemoryMiB: 8192, MACs: []string{"52:54:00:00:00:01"}}
	if n, err = p.Inspect(ctx, "n0"); err != nil || n.Inventory.CPUs != 4 || n.MACs[0] != "52:54:00:00:00:01" {
		t.Fatalf("Inspect = %+v, %v", n, err)
	}
	if n, err = p.Provide(ctx, "n0"); err != nil || n.ProvisionState != provision.StateAvailable {
		t.Fatalf("Provide = %+v, %v", n, err)
	}
	step := &recordStep{}
	if n, err = p.Deploy(ctx, "n0", step); err != nil || n.ProvisionState != provision.StateActive || n.PowerState != provision.PowerOn {
		t.Fatalf("Deploy = %+v, %v", n, err)
	}
	if !slices.Equal(step.ran, []string{"n0 on"}) {
		t.Errorf("deploy step saw %v", step.ran)
	}
	if n, err = p.Undeploy(ctx, "n0"); err != nil || n.ProvisionState != provision.StateAvailable || n.PowerState != provision.PowerOff {
		t.Fatalf("Undeploy = %+v, %v", n, err)
	}
	want := []string{"verifying", "manageable", "inspecting", "manageable", "cleaning", "available",
		"deploying", "wait call-back", "deploying", "active", "deleting", "cleaning", "available"}
	if !slices.Equal(trs, want) {
		t.Errorf("transitions %v\nwant %v", trs, want)
	}
	cmds := d.cmds()
	wantCmds := []string{"boot pxe persistent=false", "on", "boot disk persistent=true", "cycle", "off"}
	if !slices.Equal(cmds, wantCmds) {
		t.Errorf("BMC commands %v\nwant %v", cmds, wantCmds)
	}
}

func TestEnrollFailures(t *testing.T) {
	ctx := t.Context()
	p, _ := newTestProvisioner(t, nil)
	n, err := p.Enroll(ctx, &provision.Node{Name: "bad", BMCAddress: "fake://bad", Credentials: provision.NewCredentials("admin", "wrong")})
	if !errors.Is(err, provision.ErrAuth) || n == nil || n.ProvisionState != provision.StateEnroll || n.LastError == "" {
		t.Fatalf("Enroll with wrong password = %+v, %v", n, err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error leaks password: %v", err)
	}
	if _, err := p.Enroll(ctx, &provision.Node{Name: "x y", BMCAddress: "fake://h"}); !errors.Is(err, provision.ErrInvalidNode) || !strings.Contains(err.Error(), "field name") {
		t.Errorf("bad name: %v", err)
	}
	if _, err := p.Deploy(ctx, "bad"); !errors.Is(err, provision.ErrInvalidTransition) {
		t.Errorf("deploy from enroll: %v", err)
	}
	if _, err := p.Manage(ctx, "missing"); !errors.Is(err, provision.ErrNotFound) {
		t.Errorf("manage missing: %v", err)
	}
}

func TestEnrollUnknownScheme(t *testing.T) {
	inv, _ := provision.OpenFileInventory(filepath.Join(t.TempDir(), "i.json"), nil)
	p := provision.NewProvisioner(inv, nil)
	defer p.Close()
	_, err := p.Enroll(t.Context(), &provision.Node{Name: "n", BMCAddress: "nosuch://h"})
	var ue *provision.UnknownSchemeError
	if !errors.As(err, &ue) || ue.Scheme != "nosuch" {
		t.Fatalf("err = %v", err)
	}
	if _, err := inv.Get(t.Context(), "n"); !errors.Is(err, provision.ErrNotFound) {
		t.Error("node with unknown scheme was stored")
	}
}

func TestDeployStepFailure(t *testing.T) {
	ctx := t.Context()
	p, _ := newTestProvisioner(t, nil)
	p.Enroll(ctx, &provision.Node{Name: "n0", BMCAddress: "fake://n0"})
	p.Provide(ctx, "n0")
	n, err := p.Deploy(ctx, "n0", &recordStep{err: errors.New("image write failed")})
	if err == nil || n.ProvisionState != provision.StateDeployFailed || !strings.Contains(n.LastError, "image write failed") {
		t.Fatalf("Deploy = %+v, %v", n, err)
	}
	if n, err = p.Deploy(ctx, "n0"); err != nil || n.ProvisionState != provision.StateActive || n.LastError != "" {
		t.Fatalf("redeploy = %+v, %v", n, err)
	}
}

type blockingStep struct{ started, release chan struct{} }

func (s blockingStep) Name() string { return "block" }
func (s blockingStep) Run(ctx context.Context, _ *provision.Node, _ *provision.BMC) error {
	close(s.started)
	<-s.release
	return nil
}

func TestNodeLock(t *testing.T) {
	ctx := t.Context()
	p, _ := newTestProvisioner(t, nil)
	p.Enroll(ctx, &provision.Node{Name: "n0", BMCAddress: "fake://n0"})
	p.Provide(ctx, "n0")
	s := blockingStep{make(chan struct{}), make(chan struct{})}
	done := make(chan error)
	go func() { _, err := p.Deploy(ctx, "n0", s); done <- err }()
	<-s.started
	if _, err := p.Undeploy(ctx, "n0"); !errors.Is(err, provision.ErrLocked) {
		t.Errorf("concurrent op: %v, want ErrLocked", err)
	}
	close(s.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSyncPower(t *testing.T) {
	for _, correct := range []bool{false, true} {
		ctx := t.Context()
		p, fleet := newTestProvisioner(t, &provision.Options{CorrectPowerOnSync: correct})
		for _, n := range []string{"a", "b"} {
			if _, err := p.Enroll(ctx, &provision.Node{Name: n, BMCAddress: "fake://" + n}); err != nil {
				t.Fatal(err)
			}
		}
		// Someone powers b on behind our back.
		fleet.get("fake://b").SetPower(ctx, provision.PowerActionOn)
		ms, err := p.SyncPower(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []provision.PowerMismatch{{Node: "b", Recorded: provision.PowerOff, Actual: provision.PowerOn, Corrected: correct}}
		if !slices.Equal(ms, want) {
			t.Errorf("correct=%v: mismatches %+v, want %+v", correct, ms, want)
		}
		n, _ := p.Inventory().Get(ctx, "b")
		s, _ := fleet.get("fake://b").PowerState(ctx)
		if correct && (s != provision.PowerOff || n.PowerState != provision.PowerOff) {
			t.Errorf("corrected: machine %s, recorded %s", s, n.PowerState)
		}
		if !correct && (s != provision.PowerOn || n.PowerState != provision.PowerOn) {
			t.Errorf("reported: machine %s, recorded %s", s, n.PowerState)
		}
		if ms, _ := p.SyncPower(ctx); len(ms) != 0 {
			t.Errorf("second sync: %v", ms)
		}
	}
}

func TestConcurrencyCap(t *testing.T) {
	ctx := t.Context()
	var mu sync.Mutex
	running, peak := 0, 0
	p, _ := newTestProvisioner(t, &provision.Options{MaxConcurrent: 2})
	names := []string{"a", "b", "c", "d", "e"}
	for _, n := range names {
		p.Enroll(ctx, &provision.Node{Name: n, BMCAddress: "fake://" + n})
		p.Provide(ctx, n)
	}
	step := stepFunc(func() {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
	})
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Go(func() {
			if _, err := p.Deploy(ctx, n, step); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if peak > 2 {
		t.Errorf("peak concurrent operations %d, cap 2", peak)
	}
}

type stepFunc func()

func (stepFunc) Name() string { return "func" }
func (f stepFunc) Run(context.Context, *provision.Node, *provision.BMC) error {
	f()
	return nil
}
