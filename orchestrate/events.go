package orchestrate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
)

// DefaultMaxEvents is the number of events kept per stack when
// Options.MaxEvents is 0: Heat's max_events_per_stack default.
const DefaultMaxEvents = 1000

// The event history is an append-only file beside the state file
// (STATE.events), one event per line, "CRC32C(hex) JSON\n" like the
// journal. It is written (not fsynced) as each event happens, so it
// survives the process but may lose its last events to a power cut; a
// damaged line is skipped when the file is read. Event IDs are decimal
// numbers that increase across reopens. When the file holds twice the
// limit it is rewritten with the newest limit events (as Heat purges the
// oldest events of a stack past max_events_per_stack).
type eventLog struct {
	path string
	max  int // < 0: unlimited
	log  *slog.Logger

	f     *os.File // nil after a write error (the history is then in memory only)
	lines int      // events in the file
	ring  []Event  // the newest events, at most max (all when unlimited)
	seq   uint64
	buf   []byte
}

func openEventLog(path string, max int, log *slog.Logger) (*eventLog, error) {
	l := &eventLog{path: path, max: max, log: log}
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("events %s: %w", path, err)
	}
	events, lines, bad := readEvents(b)
	if bad > 0 {
		log.Warn("skipped damaged event records", "file", path, "records", bad)
	}
	for _, ev := range events {
		l.add(ev)
	}
	l.lines = lines
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("events %s: %w", path, err)
	}
	l.f = f
	if n := len(b); n > 0 && b[n-1] != '\n' {
		// A torn last line: end it, so the next event starts a line.
		l.write([]byte("\n"))
	}
	if l.max > 0 && l.lines > 2*l.max {
		l.compact()
	}
	return l, nil
}

// readEvents decodes an events file: the intact events (IDs increasing),
// the number of lines and the number of damaged lines skipped.
func readEvents(b []byte) (events []Event, lines, bad int) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var last uint64
	for sc.Scan() {
		lines++
		ev, err := decodeEvent(sc.Bytes())
		if err != nil {
			bad++
			continue
		}
		id, _ := strconv.ParseUint(ev.ID, 10, 64)
		if id <= last {
			bad++
			continue
		}
		last = id
		events = append(events, ev)
	}
	if sc.Err() != nil {
		bad++
	}
	return events, lines, bad
}

func decodeEvent(line []byte) (Event, error) {
	var ev Event
	body, err := lineBody(line)
	if err != nil {
		return ev, err
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return ev, err
	}
	if id, err := strconv.ParseUint(ev.ID, 10, 64); err != nil || id == 0 || strconv.FormatUint(id, 10) != ev.ID {
		return ev, fmt.Errorf("bad event id %q", ev.ID)
	}
	return ev, nil
}

func encodeEvent(dst []byte, ev *Event) ([]byte, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return dst, err
	}
	return appendLine(dst, body), nil
}

// add keeps ev in memory (the newest max events).
func (l *eventLog) add(ev Event) {
	if id, _ := strconv.ParseUint(ev.ID, 10, 64); id > l.seq {
		l.seq = id
	}
	l.ring = append(l.ring, ev)
	if l.max > 0 && len(l.ring) >= 2*l.max {
		l.ring = append([]Event(nil), l.ring[len(l.ring)-l.max:]...)
	}
}

// newest returns the kept events, oldest first.
func (l *eventLog) newest() []Event {
	if l.max > 0 && len(l.ring) > l.max {
		return l.ring[len(l.ring)-l.max:]
	}
	return l.ring
}

// append numbers ev, keeps it and writes it to the file.
func (l *eventLog) append(ev *Event) {
	l.seq++
	ev.ID = strconv.FormatUint(l.seq, 10)
	l.add(*ev)
	buf, err := encodeEvent(l.buf[:0], ev)
	if err != nil {
		l.log.Warn("event not recorded", "err", err)
		return
	}
	l.buf = buf
	if l.write(buf) {
		l.lines++
	}
	if l.max > 0 && l.lines > 2*l.max {
		l.compact()
	}
}

func (l *eventLog) write(b []byte) bool {
	if l.f == nil {
		return false
	}
	if _, err := l.f.Write(b); err != nil {
		l.log.Warn("event history no longer written to disk", "file", l.path, "err", err)
		l.f.Close()
		l.f = nil
		return false
	}
	return true
}

// compact rewrites the file with the kept events, through a temporary
// file and a rename.
func (l *eventLog) compact() {
	if l.f == nil {
		return
	}
	var buf []byte
	kept := l.newest()
	for i := range kept {
		var err error
		if buf, err = encodeEvent(buf, &kept[i]); err != nil {
			return
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(l.path), filepath.Base(l.path)+".tmp*")
	if err == nil {
		_, err = tmp.Write(buf)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), l.path)
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
	}
	if err != nil {
		l.log.Warn("event history not compacted", "file", l.path, "err", err)
		return
	}
	l.f.Close()
	l.f, err = os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		l.log.Warn("event history no longer written to disk", "file", l.path, "err", err)
		l.f = nil
	}
	l.lines = len(kept)
}

func (l *eventLog) close() error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// query filters the kept events of stack stackID.
func (l *eventLog) query(stackID string, q *EventQuery) ([]Event, error) {
	var after uint64
	if q.After != "" {
		n, err := strconv.ParseUint(q.After, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: event marker %q", ErrNotFound, q.After)
		}
		after = n
	}
	if q.Limit < 0 {
		return nil, fmt.Errorf("%w: negative event limit %d", ErrInvalid, q.Limit)
	}
	out := []Event{}
	for _, ev := range l.newest() {
		if ev.StackID != stackID {
			continue
		}
		if id, _ := strconv.ParseUint(ev.ID, 10, 64); id <= after {
			continue
		}
		if q.Resource != "" && ev.ResourceName != q.Resource {
			continue
		}
		out = append(out, ev)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

// Events lists the stack's past events, oldest first, from the history
// kept beside the state file (it survives Close and a crash): the newest
// Options.MaxEvents events of the current stack. EventQuery.After is the
// ID of an event (IDs are increasing decimal numbers; the events after it
// are listed even if it was purged); a marker that is not an event ID is
// ErrNotFound.
func (e *Embedded) Events(ctx context.Context, q *EventQuery) ([]Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil {
		q = &EventQuery{}
	}
	e.j.mu.Lock()
	id := e.j.st.ID
	e.j.mu.Unlock()
	e.evMu.Lock()
	defer e.evMu.Unlock()
	return e.events.query(id, q)
}
