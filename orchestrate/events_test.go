package orchestrate

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func eventIDs(t *testing.T, evs []Event) []uint64 {
	t.Helper()
	out := make([]uint64, len(evs))
	for i, ev := range evs {
		n, err := strconv.ParseUint(ev.ID, 10, 64)
		if err != nil {
			t.Fatalf("event id %q: %v", ev.ID, err)
		}
		if i > 0 && n <= out[i-1] {
			t.Fatalf("event ids not increasing: %d after %d", n, out[i-1])
		}
		out[i] = n
	}
	return out
}

// TestEventsDurable: the history survives Close and reopen, IDs keep
// increasing, and the query's Resource, After and Limit are honoured.
func TestEventsDurable(t *testing.T) {
	h := newHarness(t)
	e := h.open(nil)
	ctx := t.Context()
	if err := e.Create(ctx, "overcloud", input(t, "stack.yaml", nil)); err != nil {
		t.Fatal(err)
	}
	first, err := e.Events(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(h.states()) || first[0].State() != "CREATE_IN_PROGRESS" || first[0].ResourceName != "overcloud" {
		t.Fatalf("events = %d (streamed %d), first %+v", len(first), len(h.states()), first[0])
	}
	eventIDs(t, first)
	e.Close()

	e = h.open(nil)
	again, err := e.Events(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(first) || again[len(again)-1].ID != first[len(first)-1].ID ||
		!again[3].Time.Equal(first[3].Time) || again[3].StatusReason != first[3].StatusReason {
		t.Fatalf("after reopen: %d events, want %d", len(again), len(first))
	}
	if err := e.Update(ctx, input(t, "stack.yaml", map[string]string{"count": "4"})); err != nil {
		t.Fatal(err)
	}
	last := first[len(first)-1].ID
	after, err := e.Events(ctx, &EventQuery{After: last})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) == 0 || after[0].State() != "UPDATE_IN_PROGRESS" || eventIDs(t, after)[0] <= eventIDs(t, first)[len(first)-1] {
		t.Fatalf("events after %s: %+v", last, after)
	}
	two, _ := e.Events(ctx, &EventQuery{After: last, Limit: 2})
	if len(two) != 2 || two[0].ID != after[0].ID || two[1].ID != after[1].ID {
		t.Errorf("limit 2: %+v", two)
	}
	mem, _ := e.Events(ctx, &EventQuery{Resource: "servers/3"})
	if len(mem) != 2 || mem[0].State() != "CREATE_IN_PROGRESS" || mem[1].State() != "CREATE_COMPLETE" {
		t.Errorf("events of servers/3: %+v", mem)
	}
	if _, err := e.Events(ctx, &EventQuery{After: "not-an-id"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("bad marker: %v", err)
	}
	// A new stack in the same file starts an empty history.
	if err := e.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Create(ctx, "again", input(t, "stack.yaml", nil)); err != nil {
		t.Fatal(err)
	}
	fresh, _ := e.Events(ctx, nil)
	if fresh[0].StackName != "again" || eventIDs(t, fresh)[0] <= eventIDs(t, after)[len(after)-1] {
		t.Errorf("new stack's history starts with %+v", fresh[0])
	}
}

// TestEventsBounded: the history keeps the newest MaxEvents events, the
// file stays bounded, and a torn or damaged line is skipped.
func TestEventsBounded(t *testing.T) {
	h := newHarness(t)
	path := filepath.Join(h.dir, "stack.state")
	e, err := Open(t.Context(), path, &Options{Types: h.types, MaxEvents: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Create(t.Context(), "s", input(t, "stack.yaml", nil)); err != nil {
		t.Fatal(err)
	}
	evs, _ := e.Events(t.Context(), nil)
	if len(evs) != 5 || evs[4].State() != "CREATE_COMPLETE" || evs[4].ResourceName != "s" {
		t.Fatalf("kept %d events: %+v", len(evs), evs)
	}
	e.Close()
	b, _ := os.ReadFile(path + ".events")
	if n := bytes.Count(b, []byte("\n")); n > 10 {
		t.Errorf("events file holds %d lines, want at most 10", n)
	}
	// Damage one line and tear the tail.
	lines := bytes.SplitAfter(b, []byte("\n"))
	lines[len(lines)-3][12] ^= 1 // the next to last event (SplitAfter ends with "")
	os.WriteFile(path+".events", append(bytes.Join(lines, nil), []byte("0badc0de {\"id\": \"9")...), 0o600)
	e, err = Open(t.Context(), path, &Options{Types: h.types, MaxEvents: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	got, _ := e.Events(t.Context(), nil)
	if len(got) != 5 || got[4].ID != evs[4].ID || got[3].ID == evs[3].ID {
		t.Errorf("after damage: %+v", got)
	}
	if err := e.Update(t.Context(), input(t, "stack.yaml", nil)); err != nil {
		t.Fatal(err)
	}
	got, _ = e.Events(t.Context(), nil)
	ids := eventIDs(t, got)
	if len(got) != 5 || ids[4] <= eventIDs(t, evs)[4] || got[4].State() != "UPDATE_COMPLETE" {
		t.Errorf("after update: %+v", got)
	}
	e.Close()
	e2, err := Open(t.Context(), path, &Options{Types: h.types, MaxEvents: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	re, _ := e2.Events(t.Context(), nil)
	if len(re) != 5 || re[4].ID != got[4].ID {
		t.Errorf("reopened after a torn line: %+v", re)
	}
}

func FuzzEventLog(f *testing.F) {
	b, _ := encodeEvent(nil, &Event{ID: "1", StackName: "s", ResourceName: "a", Action: ActionCreate, Status: StatusComplete})
	b, _ = encodeEvent(b, &Event{ID: "2", StackName: "s", ResourceName: "s", Action: ActionCreate, Status: StatusComplete})
	f.Add(b)
	f.Add(append(b, "0badc0de {\"id\": \"3"...))
	f.Add([]byte("00000000 {}\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, lines, bad := readEvents(data)
		if len(evs)+bad > lines+1 {
			t.Fatalf("%d events + %d bad from %d lines", len(evs), bad, lines)
		}
		var last uint64
		for _, ev := range evs {
			n, err := strconv.ParseUint(ev.ID, 10, 64)
			if err != nil || n <= last {
				t.Fatalf("event id %q after %d", ev.ID, last)
			}
			last = n
		}
	})
}
