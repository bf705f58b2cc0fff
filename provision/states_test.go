package provision_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tripleo-go/tripleo/provision"
)

func TestTableIsConsistent(t *testing.T) {
	seen := map[[2]int]bool{}
	for _, tr := range provision.Transitions() {
		k := [2]int{int(tr.From), int(tr.Event)}
		if seen[k] {
			t.Errorf("two rows for %s on %s", tr.From, tr.Event)
		}
		seen[k] = true
		if got, err := provision.Next(tr.From, tr.Event); err != nil || got != tr.To {
			t.Errorf("Next(%s, %s) = %s, %v; table says %s", tr.From, tr.Event, got, err, tr.To)
		}
	}
	// Every state is reachable from enroll, and available is reachable
	// from every state (no dead end).
	reach := func(from provision.ProvisionState) map[provision.ProvisionState]bool {
		r := map[provision.ProvisionState]bool{from: true}
		for changed := true; changed; {
			changed = false
			for _, tr := range provision.Transitions() {
				if r[tr.From] && !r[tr.To] {
					r[tr.To], changed = true, true
				}
			}
		}
		return r
	}
	all := reach(provision.StateEnroll)
	for _, s := range provision.States() {
		if !all[s] {
			t.Errorf("state %s unreachable from enroll", s)
		}
		if !reach(s)[provision.StateAvailable] {
			t.Errorf("available unreachable from %s", s)
		}
		var back provision.ProvisionState
		if txt, err := s.MarshalText(); err != nil || back.UnmarshalText(txt) != nil || back != s {
			t.Errorf("text round trip of %s", s)
		}
	}
	if _, err := provision.Next(provision.StateEnroll, provision.EventDeploy); !errors.Is(err, provision.ErrInvalidTransition) {
		t.Errorf("deploy from enroll: %v", err)
	}
}

// TestNoOperationEscapesTheTable drives random operations with random
// failures against a fleet and checks that every stored state change is a
// row of the table, and that a refused operation changes nothing.
func TestNoOperationEscapesTheTable(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			inv, err := provision.OpenFileInventory(filepath.Join(t.TempDir(), "inv.json"), nil)
			if err != nil {
				t.Fatal(err)
			}
			fleet := newFleet()
			var mu sync.Mutex
			var bad []provision.Transition
			p := provision.NewProvisioner(inv, &provision.Options{
				OpenBMC: fleet.open,
				BMC:     provision.BMCOptions{Retries: -1, PowerTimeout: 1, PollInterval: 1},
				OnTransition: func(node string, tr provision.Transition) {
					if got, err := provision.Next(tr.From, tr.Event); err != nil || got != tr.To || !provision.Allowed(tr.From, tr.To) {
						mu.Lock()
						bad = append(bad, tr)
						mu.Unlock()
					}
				},
			})
			defer p.Close()
			ctx := t.Context()
			names := []string{"a", "b", "c"}
			for _, n := range names {
				if _, err := p.Enroll(ctx, &provision.Node{Name: n, BMCAddress: "fake://" + n}); err != nil {
					t.Fatal(err)
				}
				fleet.get("fake://" + n).inv = &provision.HardwareInventory{CPUs: 2}
			}
			for range 150 {
				name := names[r.IntN(len(names))]
				d := fleet.get("fake://" + name)
				d.mu.Lock()
				d.failNext = nil
				if r.IntN(4) == 0 {
					d.failNext = []error{provision.ErrUnreachable}
				}
				d.ignore = r.IntN(8) == 0
				d.mu.Unlock()
				before, _ := inv.Get(ctx, name)
				var after *provision.Node
				switch r.IntN(6) {
				case 0:
					after, err = p.Manage(ctx, name)
				case 1:
					after, err = p.Inspect(ctx, name)
				case 2:
					after, err = p.Provide(ctx, name)
				case 3:
					after, err = p.Deploy(ctx, name)
				case 4:
					after, err = p.Undeploy(ctx, name)
				case 5:
					_, err = p.SyncPower(ctx)
				}
				stored, _ := inv.Get(ctx, name)
				if errors.Is(err, provision.ErrInvalidTransition) && stored.ProvisionState != before.ProvisionState {
					t.Fatalf("refused operation changed state %s → %s", before.ProvisionState, stored.ProvisionState)
				}
				if after != nil && after.ProvisionState != stored.ProvisionState {
					t.Fatalf("returned state %s, stored %s", after.ProvisionState, stored.ProvisionState)
				}
				if !stored.ProvisionState.Stable() {
					t.Fatalf("node left in transient state %s after %v", stored.ProvisionState, err)
				}
			}
			if len(bad) > 0 {
				t.Fatalf("transitions outside the table: %v", bad)
			}
		})
	}
}
