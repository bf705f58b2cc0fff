package provision_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/provision"
)

func TestFileInventoryCRUDAndReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "inventory.json")
	inv, err := provision.OpenFileInventory(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := &provision.Node{Name: "n0", BMCAddress: "ipmi://127.0.0.1:623", Credentials: provision.NewCredentials("admin", "s3cret"),
		MACs: []string{"52:54:00:00:00:01"}, Properties: map[string]string{"cpu_arch": "x86_64"}}
	if err := inv.Create(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := inv.Create(ctx, n); !errors.Is(err, provision.ErrExists) {
		t.Errorf("second Create: %v", err)
	}
	n.ProvisionState = provision.StateManageable
	n.PowerState = provision.PowerOn
	if err := inv.Update(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := inv.Update(ctx, &provision.Node{Name: "nope", BMCAddress: "ipmi://h"}); !errors.Is(err, provision.ErrNotFound) {
		t.Errorf("Update missing: %v", err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, %v; want 0600 (it holds passwords)", st.Mode(), err)
	}
	inv2, err := provision.OpenFileInventory(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := inv2.Get(ctx, "n0")
	if err != nil {
		t.Fatal(err)
	}
	if got.Credentials.Password() != "s3cret" || got.ProvisionState != provision.StateManageable || got.PowerState != provision.PowerOn || got.Properties["cpu_arch"] != "x86_64" {
		t.Errorf("reopened node = %+v", got)
	}
	got.MACs[0] = "changed"
	again, _ := inv2.Get(ctx, "n0")
	if again.MACs[0] == "changed" {
		t.Error("Get returned shared memory")
	}
	if err := inv2.Delete(ctx, "n0"); err != nil {
		t.Fatal(err)
	}
	if _, err := inv2.Get(ctx, "n0"); !errors.Is(err, provision.ErrNotFound) {
		t.Errorf("after Delete: %v", err)
	}
}

func TestFileInventoryFailedWriteChangesNothing(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "inventory.json")
	inv, _ := provision.OpenFileInventory(path, nil)
	if err := inv.Create(ctx, &provision.Node{Name: "a", BMCAddress: "ipmi://h"}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	provision.SetTestHookBeforeRename(func(string) error { return errors.New("disk full") })
	err := inv.Create(ctx, &provision.Node{Name: "b", BMCAddress: "ipmi://h"})
	provision.SetTestHookBeforeRename(nil)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want one naming %s", err, path)
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Error("failed write changed the file")
	}
	if _, err := inv.Get(ctx, "b"); !errors.Is(err, provision.ErrNotFound) {
		t.Error("failed write changed memory")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary file left behind: %v", ents)
	}
}

func TestFileInventoryBadFile(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"syntax":  "{\"version\": 1,\n \"nodes\": [\n}",
		"version": `{"version": 9, "nodes": []}`,
		"address": `{"version": 1, "nodes": [{"name": "a", "bmc_address": "nope"}]}`,
		"unknown": `{"version": 1, "nodes": [], "extra": 1}`,
	} {
		p := filepath.Join(dir, name+".json")
		os.WriteFile(p, []byte(content), 0o600)
		_, err := provision.OpenFileInventory(p, nil)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %v, want one naming the file", name, err)
		}
	}
}

// TestFileInventorySurvivesKill kills a process that rewrites the
// inventory in a loop, at many points, and reopens the file each time.
func TestFileInventorySurvivesKill(t *testing.T) {
	if os.Getenv("PROVISION_CRASH_WRITER") != "" {
		crashWriter(os.Getenv("PROVISION_CRASH_WRITER"))
		return
	}
	path := filepath.Join(t.TempDir(), "inventory.json")
	for i := range 5 {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestFileInventorySurvivesKill$")
		cmd.Env = append(os.Environ(), "PROVISION_CRASH_WRITER="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1)
		for range 3 + i*7 { // let it complete some writes
			if _, err := out.Read(buf); err != nil {
				t.Fatal(err)
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		inv, err := provision.OpenFileInventory(path, nil)
		if err != nil {
			t.Fatalf("after kill %d: %v", i, err)
		}
		nodes, _ := inv.List(t.Context())
		if len(nodes) == 0 {
			t.Fatalf("after kill %d: no nodes", i)
		}
	}
}

func crashWriter(path string) {
	inv, err := provision.OpenFileInventory(path, nil)
	if err != nil {
		os.Exit(2)
	}
	ctx := context.Background()
	for gen := 0; ; gen++ {
		name := fmt.Sprintf("n%03d", gen%50)
		n, err := inv.Get(ctx, name)
		if err != nil {
			n = &provision.Node{Name: name, BMCAddress: "ipmi://127.0.0.1", Properties: map[string]string{}}
			err = inv.Create(ctx, n)
		} else {
			n.Properties["gen"] = fmt.Sprint(gen)
			err = inv.Update(ctx, n)
		}
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.Write([]byte{'.'})
	}
}

// Concurrent changes share writes; every one of them is on disk when it
// returns, and the file and memory agree.
func TestFileInventoryGroupCommit(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "inventory.json")
	inv, _ := provision.OpenFileInventory(path, nil)
	var writes atomic.Int64
	provision.SetTestHookBeforeRename(func(string) error { writes.Add(1); return nil })
	defer provision.SetTestHookBeforeRename(nil)
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("n%02d", i)
			if err := inv.Create(ctx, &provision.Node{Name: name, BMCAddress: "ipmi://h"}); err != nil {
				t.Error(err)
				return
			}
			// The change is in the file on return. (Not through a second
			// OpenFileInventory: opening removes temporary files, the
			// writer's included; one process owns an inventory.)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			if !strings.Contains(string(b), `"name": "`+name+`"`) {
				t.Errorf("%s not on disk after Create returned", name)
			}
		})
	}
	wg.Wait()
	again, _ := provision.OpenFileInventory(path, nil)
	onDisk, _ := again.List(ctx)
	inMem, _ := inv.List(ctx)
	if len(onDisk) != n || len(inMem) != n {
		t.Fatalf("%d nodes on disk, %d in memory, want %d", len(onDisk), len(inMem), n)
	}
	t.Logf("%d changes, %d writes", n, writes.Load())
}

// A failed group write fails every change in it and every change queued
// on top, and leaves memory as the file: the next change starts clean.
func TestFileInventoryGroupCommitFailure(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "inventory.json")
	inv, _ := provision.OpenFileInventory(path, nil)
	release := make(chan struct{})
	var calls atomic.Int64
	provision.SetTestHookBeforeRename(func(string) error {
		if calls.Add(1) == 1 {
			<-release // hold the first write while others queue up
			return errors.New("disk full")
		}
		return nil
	})
	defer provision.SetTestHookBeforeRename(nil)
	errs := make(chan error, 3)
	go func() { errs <- inv.Create(ctx, &provision.Node{Name: "first", BMCAddress: "ipmi://h"}) }()
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for _, name := range []string{"q1", "q2"} {
		go func() { errs <- inv.Create(ctx, &provision.Node{Name: name, BMCAddress: "ipmi://h"}) }()
	}
	for provision.QueuedChanges(inv) < 2 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	failed := 0
	for range 3 {
		if err := <-errs; err != nil {
			if !strings.Contains(err.Error(), "disk full") {
				t.Errorf("error %v does not say why", err)
			}
			failed++
		}
	}
	if failed != 3 {
		t.Fatalf("%d changes failed, want all 3 (the queued ones sat on the failed one)", failed)
	}
	inMem, _ := inv.List(ctx)
	again, _ := provision.OpenFileInventory(path, nil)
	onDisk, _ := again.List(ctx)
	if len(inMem) != len(onDisk) || len(inMem) != 3-failed {
		t.Fatalf("%d failed; %d nodes in memory, %d on disk", failed, len(inMem), len(onDisk))
	}
	if err := inv.Create(ctx, &provision.Node{Name: "after", BMCAddress: "ipmi://h"}); err != nil {
		t.Fatal(err)
	}
}
