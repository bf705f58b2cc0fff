package orchestrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// blockType blocks Create until its release channel closes or ctx ends.
type blockType struct {
	release chan struct{}
	mu      sync.Mutex
	started []string
}

func (b *blockType) Schema() *Schema { return &Schema{AnyProperties: true} }
func (b *blockType) Create(ctx context.Context, r *Request) (*State, error) {
	b.mu.Lock()
	b.started = append(b.started, r.Name)
	b.mu.Unlock()
	select {
	case <-b.release:
		return &State{PhysicalID: keyID(r.Key)}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
func (b *blockType) Update(_ context.Context, r *Request) (*State, error) { return r.Prior, nil }
func (b *blockType) Delete(context.Context, *Request) error               { return nil }
func (b *blockType) Check(context.Context, *Request) (*State, error)      { return nil, ErrNotFound }

func TestFailureFinishesInFlightAndStartsNothingNew(t *testing.T) {
	h := newHarness(t)
	block := &blockType{release: make(chan struct{})}
	h.types.Register("Test::Block", block)
	var once sync.Once
	e, err := Open(t.Context(), filepath.Join(h.dir, "s.state"), &Options{Types: h.types, Parallelism: 2, DisableRollback: true,
		Events: func(ev Event) {
			h.mu.Lock()
			h.events = append(h.events, ev)
			h.mu.Unlock()
			if ev.ResourceName == "bad" && ev.Status == StatusFailed {
				once.Do(func() { close(block.release) })
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	err = e.Create(t.Context(), "s", &Input{TemplateFile: "t.yaml", Template: `heat_template_version: 2016-10-14
resources:
  slow: {type: Test::Block}
  bad: {type: OS::Heat::TestResource, properties: {fail: true}}
  after_bad: {type: OS::Heat::None, depends_on: bad}
  after_slow: {type: OS::Heat::None, depends_on: slow}
  other: {type: OS::Heat::None}
`})
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "Test Resource failed bad") {
		t.Fatalf("err = %v", err)
	}
	got := strings.Join(h.states(), "\n")
	if !strings.Contains(got, "slow CREATE_COMPLETE") {
		t.Errorf("in-flight resource not finished:\n%s", got)
	}
	for _, never := range []string{"after_bad", "after_slow", "other"} {
		if strings.Contains(got, never+" ") {
			t.Errorf("%s started after the failure:\n%s", never, got)
		}
	}
	info, _ := e.Show(t.Context())
	if info.State() != "CREATE_FAILED" {
		t.Errorf("stack %s", info.State())
	}
}

func TestCancelAndTimeout(t *testing.T) {
	h := newHarness(t)
	block := &blockType{release: make(chan struct{})}
	h.types.Register("Test::Block", block)
	in := &Input{TemplateFile: "t.yaml", Template: "heat_template_version: 2016-10-14\nresources:\n  b: {type: Test::Block}\n"}

	ctx, cancel := context.WithCancel(t.Context())
	e, err := Open(t.Context(), filepath.Join(h.dir, "c.state"), &Options{Types: h.types, Events: func(ev Event) {
		if ev.ResourceName == "b" && ev.Status == StatusInProgress {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	err = e.Create(ctx, "c", in)
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("cancelled create: %v", err)
	}
	e.Close()

	e, err = Open(t.Context(), filepath.Join(h.dir, "t.state"), &Options{Types: h.types, ResourceTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.Create(t.Context(), "t", in); err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("resource timeout: %v", err)
	}
}

func TestLease(t *testing.T) {
	h := newHarness(t)
	e := h.open(&Options{Holder: "first-holder"})
	_, err := Open(t.Context(), filepath.Join(h.dir, "stack.state"), &Options{Holder: "second"})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "first-holder") {
		t.Errorf("second open: %v", err)
	}
	// In process: a second operation while one runs.
	block := &blockType{release: make(chan struct{})}
	h.types.Register("Test::Block", block)
	done := make(chan error)
	go func() {
		done <- e.Create(t.Context(), "s", &Input{TemplateFile: "t.yaml",
			Template: "heat_template_version: 2016-10-14\nresources:\n  b: {type: Test::Block}\n"})
	}()
	for {
		block.mu.Lock()
		n := len(block.started)
		block.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := e.Delete(t.Context()); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "first-holder") {
		t.Errorf("concurrent operation: %v", err)
	}
	close(block.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRegistryNoneAndRetain(t *testing.T) {
	h := newHarness(t)
	e := h.open(nil)
	in := &Input{TemplateFile: "t.yaml", Template: `heat_template_version: 2016-10-14
resources:
  kept: {type: OS::Nova::Server, deletion_policy: Retain, properties: {image: i}}
  gone: {type: OS::Nova::Server, properties: {image: i}}
  off: {type: OS::Nova::Server, properties: {image: i}}
`, Environments: []File{{Name: "e.yaml", Data: `resource_registry:
  "OS::Nova::Server": Sim::Server
  resources:
    off: {"OS::Nova::Server": OS::Heat::None}
`}}}
	if err := e.Create(t.Context(), "s", in); err != nil {
		t.Fatal(err)
	}
	if n := h.cloud.Servers(); n != 2 {
		t.Errorf("servers = %d, want 2 (off is switched off)", n)
	}
	if err := e.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := h.cloud.Servers(); n != 1 {
		t.Errorf("servers after delete = %d, want the retained one", n)
	}
}

func TestBatchCreateOrder(t *testing.T) {
	h := newHarness(t)
	e := h.open(&Options{Parallelism: 8})
	err := e.Create(t.Context(), "s", &Input{TemplateFile: "t.yaml", Template: `heat_template_version: 2016-10-14
resources:
  g:
    type: OS::Heat::ResourceGroup
    update_policy: {batch_create: {max_batch_size: 2}}
    properties:
      count: 5
      resource_def: {type: OS::Heat::TestResource, properties: {value: v%index%}}
`})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, s := range h.states() {
		pos[s] = i
	}
	batches := [][]string{{"0", "1"}, {"2", "3"}, {"4"}}
	for b := 1; b < len(batches); b++ {
		for _, prev := range batches[b-1] {
			for _, cur := range batches[b] {
				if pos["g/"+prev+" CREATE_COMPLETE"] > pos["g/"+cur+" CREATE_IN_PROGRESS"] {
					t.Errorf("member %s started before %s finished: %v", cur, prev, h.states())
				}
			}
		}
	}
}

// deleteFirstType replaces by deleting first.
type deleteFirstType struct{ testResourceType }

func (deleteFirstType) Schema() *Schema {
	s := testResourceType{}.Schema()
	s.DeleteFirst = true
	s.Properties["value"].UpdateAllowed = false
	return s
}

func TestReplaceOrder(t *testing.T) {
	for _, deleteFirst := range []bool{false, true} {
		h := newHarness(t)
		typ := TypeTestResource
		if deleteFirst {
			typ = "Test::DeleteFirst"
			h.types.Register(typ, deleteFirstType{})
		}
		e := h.open(nil)
		tmpl := "heat_template_version: 2016-10-14\nresources:\n  r: {type: " + typ + ", properties: {value: %s, update_replace: true}}\n"
		if err := e.Create(t.Context(), "s", &Input{TemplateFile: "t.yaml", Template: strings.Replace(tmpl, "%s", "a", 1)}); err != nil {
			t.Fatal(err)
		}
		if err := e.Update(t.Context(), &Input{TemplateFile: "t.yaml", Template: strings.Replace(tmpl, "%s", "b", 1)}); err != nil {
			t.Fatal(err)
		}
		ev := h.states()
		pos := map[string]int{}
		for i, s := range ev {
			if _, seen := pos[s]; !seen || strings.Contains(s, "COMPLETE") {
				pos[s] = i
			}
		}
		createdNew := pos["r CREATE_COMPLETE"]
		deletedOld := pos["r@1 DELETE_COMPLETE"]
		if deleteFirst {
			deletedOld = pos["r DELETE_COMPLETE"]
		}
		if deletedOld == 0 || createdNew == 0 || (deletedOld < createdNew) != deleteFirst {
			t.Errorf("deleteFirst=%v: events %v", deleteFirst, ev)
		}
		info, _ := e.Show(t.Context())
		if len(info.Resources) != 1 || info.State() != "UPDATE_COMPLETE" {
			t.Errorf("after replace: %+v", info)
		}
	}
}

func TestJournalTornTailAndDamage(t *testing.T) {
	h := newHarness(t)
	e := h.open(nil)
	if err := e.Create(t.Context(), "s", input(t, "stack.yaml", nil)); err != nil {
		t.Fatal(err)
	}
	e.Close()
	path := filepath.Join(h.dir, "stack.state")
	good, _ := os.ReadFile(path)
	os.WriteFile(path, append(append([]byte{}, good...), []byte("0badc0de {\"seq\": 9")...), 0o600)
	e2 := h.open(nil)
	if info, err := e2.Show(t.Context()); err != nil || info.State() != "CREATE_COMPLETE" {
		t.Errorf("after a torn tail: %v %v", info, err)
	}
	e2.Close()
	damaged := append([]byte{}, good...)
	damaged[20] ^= 1
	os.WriteFile(path, damaged, 0o600)
	if _, err := Open(t.Context(), path, nil); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged journal opened: %v", err)
	}
}

func FuzzJournal(f *testing.F) {
	rec, _ := encodeRecord(nil, &record{Seq: 1, T: "snap", Snap: &stackState{Name: "s", Resources: map[string]*resState{}}})
	rec2, _ := encodeRecord(nil, &record{Seq: 2, T: "res", ID: "a", Res: &resState{Name: "a", Properties: map[string]any{"x": int64(1)}}})
	f.Add(append(rec, rec2...))
	f.Add([]byte("00000000 {}\n"))
	hook, _ := encodeRecord(nil, &record{Seq: 3, T: "hook", ID: "a", Hook: "pre-create", Type: "Sim::Server"})
	unhook, _ := encodeRecord(nil, &record{Seq: 4, T: "unhook", ID: "a", Hook: "pre-create"})
	end, _ := encodeRecord(nil, &record{Seq: 5, T: "end", Status: StatusFailed, Op: &opInfo{Action: ActionRollback}})
	f.Add(append(append(append(append(rec, rec2...), hook...), unhook...), end...))
	f.Fuzz(func(t *testing.T, data []byte) {
		j := &journal{st: &stackState{Resources: map[string]*resState{}}}
		off, err := j.replay(bytes.NewReader(data))
		if err != nil {
			return
		}
		if off > int64(len(data)) {
			t.Fatalf("replayed past the end: %d > %d", off, len(data))
		}
		// Whatever replayed must be a state the engine can show.
		for id, r := range j.st.Resources {
			if r == nil {
				t.Fatalf("nil resource %q", id)
			}
		}
	})
}

// TestWalkHaltedByCancelledTask: a task that halts the walk (as a failing
// resource does before its FAILED event) and then returns a cancellation
// (CancelUpdate cancelled it) has its error returned, though the walk
// stopped on the halt before the error arrived; the tasks not started stay
// so. Under load CancelUpdate used to end UPDATE_COMPLETE this way.
func TestWalkHaltedByCancelledTask(t *testing.T) {
	var halt atomic.Bool
	halted := make(chan struct{})
	proceed := make(chan struct{})
	var ran atomic.Int32
	first := &task{id: "first", run: func(ctx context.Context) ([]*task, error) {
		halt.Store(true)
		close(halted)
		<-proceed
		return nil, fmt.Errorf("resources.first: %w", context.Canceled)
	}}
	// second waits on a task that completes once first has halted, so
	// that the walk looks at halt before first's error arrives.
	gate := &task{id: "gate", run: func(ctx context.Context) ([]*task, error) {
		<-halted
		return nil, nil
	}}
	second := &task{id: "second", run: func(ctx context.Context) ([]*task, error) {
		ran.Add(1)
		return nil, nil
	}}
	second.dependOn(gate)
	go func() {
		<-halted
		time.Sleep(10 * time.Millisecond) // let gate's completion reach the walk first
		close(proceed)
	}()
	errs := walk(context.Background(), []*task{first, gate, second}, 4, &halt)
	if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("errors %v, want first's cancellation", errs)
	}
	if ran.Load() != 0 {
		t.Error("a task started after the halt")
	}
}
