package orchestrate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// The state file is a write-ahead journal: one record per line, each line
// "CRC32C(hex) JSON\n". The first record is a snapshot of the whole stack;
// every later record changes it (an operation begins, a resource's state
// is recorded, a resource is forgotten, the operation ends). Each record is
// fsynced before the engine acts on it: the intent to call a plug-in is
// durable before the call, and its outcome before anything depends on it.
// Concurrent appends share one fsync (group commit). A torn last line from
// a crash is dropped on open. At the start of every operation the file is
// rewritten (snapshot + begin) through a temporary file and a rename.

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Input is everything an operation needs to rebuild its stack: the
// template, the environments in merge order, parameter values and files.
// It is stored in the journal so that an interrupted operation resumes.
type Input struct {
	TemplateFile string            `json:"template_file"`
	Template     string            `json:"template"`
	Environments []File            `json:"environments,omitempty"`
	Params       map[string]string `json:"params,omitempty"`
	Files        map[string]string `json:"files,omitempty"`
	// ClearParams, on a PATCH update (see Patched), names deployed
	// parameters to drop, so that they take their defaults again (Heat's
	// clear_parameters, `openstack stack update --existing
	// --clear-parameter`); a parameter also given in Params takes that
	// value. Only a PATCH update takes it.
	ClearParams []string `json:"clear_params,omitempty"`
}

// File is a named document (an environment file).
type File struct {
	Name string `json:"name"`
	Data string `json:"data"`
}

type opInfo struct {
	Action  Action    `json:"action"`
	Input   *Input    `json:"input,omitempty"`
	Holder  string    `json:"holder"`
	Started time.Time `json:"started"`
}

type stackState struct {
	Name      string                 `json:"name"`
	ID        string                 `json:"id"`
	Action    Action                 `json:"action"`
	Status    Status                 `json:"status"`
	Reason    string                 `json:"reason,omitempty"`
	Input     *Input                 `json:"input,omitempty"` // of the last create/update
	Good      *Input                 `json:"good,omitempty"`  // of the last operation that completed
	Op        *opInfo                `json:"op,omitempty"`    // the operation in progress
	Resources map[string]*resState   `json:"resources"`
	Servers   map[string]*serverMeta `json:"servers,omitempty"` // software deployment metadata by server
	Hooks     map[string]*hookState  `json:"hooks,omitempty"`   // registry hooks of the operation by resource
	Updated   time.Time              `json:"updated"`
}

// hookState is a resource's registry hooks in the running operation: the
// one it is paused at and the ones already cleared.
type hookState struct {
	Type    string   `json:"type"`
	Pending string   `json:"pending,omitempty"`
	Cleared []string `json:"cleared,omitempty"`
}

type resState struct {
	Name           string         `json:"name"`
	Type           string         `json:"type"`
	Action         Action         `json:"action"`
	Status         Status         `json:"status"`
	Reason         string         `json:"reason,omitempty"`
	Key            string         `json:"key"`
	Gen            int            `json:"gen"`
	State          State          `json:"state"`
	Properties     map[string]any `json:"properties,omitempty"`
	Metadata       any            `json:"metadata,omitempty"`
	Requires       []string       `json:"requires,omitempty"`
	Parent         string         `json:"parent,omitempty"`
	Index          int            `json:"index,omitempty"`
	DeletionPolicy string         `json:"deletion_policy,omitempty"`
	Retired        bool           `json:"retired,omitempty"`
}

func (r *resState) clone() *resState {
	c := *r
	return &c
}

type record struct {
	Seq    uint64         `json:"seq"`
	T      string         `json:"t"` // snap, begin, res, del, end
	Snap   *stackState    `json:"snap,omitempty"`
	Op     *opInfo        `json:"op,omitempty"`   // begin; end: the operation that follows
	Name   string         `json:"name,omitempty"` // stack name (begin)
	ID     string         `json:"id,omitempty"`   // stack id (begin) or resource id (res, del)
	Res    *resState      `json:"res,omitempty"`
	Status Status         `json:"status,omitempty"`
	Reason string         `json:"reason,omitempty"`
	Signal map[string]any `json:"signal,omitempty"` // sig
	Meta   *serverMeta    `json:"meta,omitempty"`   // md
	Hook   string         `json:"hook,omitempty"`   // hook, unhook
	Type   string         `json:"type,omitempty"`   // hook: the resource's type
	Time   time.Time      `json:"time"`
}

func (st *stackState) apply(r *record) {
	switch r.T {
	case "snap":
		*st = *r.Snap
		if st.Resources == nil {
			st.Resources = map[string]*resState{}
		}
	case "begin":
		st.Op = r.Op
		st.Hooks = nil
		st.Action, st.Status, st.Reason = r.Op.Action, StatusInProgress, ""
		if r.Name != "" {
			st.Name = r.Name
		}
		if r.ID != "" {
			st.ID = r.ID
		}
	case "res":
		st.Resources[r.ID] = r.Res
	case "del":
		delete(st.Resources, r.ID)
	case "hook":
		if st.Hooks == nil {
			st.Hooks = map[string]*hookState{}
		}
		h := &hookState{Type: r.Type, Pending: r.Hook}
		if cur := st.Hooks[r.ID]; cur != nil {
			h.Cleared = cur.Cleared
		}
		st.Hooks[r.ID] = h
	case "unhook":
		// Copy on write, like every state change readers may hold.
		if cur := st.Hooks[r.ID]; cur != nil && cur.Pending == r.Hook {
			st.Hooks[r.ID] = &hookState{Type: cur.Type, Cleared: append(append([]string{}, cur.Cleared...), r.Hook)}
		}
	case "md":
		if st.Servers == nil {
			st.Servers = map[string]*serverMeta{}
		}
		st.Servers[r.ID] = r.Meta
	case "sig":
		// Copy on write: readers may hold the previous resState.
		if cur := st.Resources[r.ID]; cur != nil {
			c := cur.clone()
			data := map[string]any{}
			for k, v := range cur.State.Data {
				data[k] = v
			}
			old, _ := data["signals"].([]any)
			data["signals"] = append(append([]any{}, old...), r.Signal)
			c.State.Data = data
			st.Resources[r.ID] = c
		}
	case "end":
		st.Status, st.Reason = r.Status, r.Reason
		if st.Op != nil && st.Op.Action != ActionCheck {
			// The stack's template is the one last applied, even when the
			// operation failed (as in Heat); a check changes none.
			switch {
			case st.Op.Action == ActionDelete && r.Status == StatusComplete:
				st.Input = nil
			case st.Op.Action != ActionDelete:
				st.Input = st.Op.Input
			}
			if r.Status == StatusComplete {
				st.Good = st.Op.Input
			}
		}
		st.Op = nil
		st.Hooks = nil // hooks belong to the operation that set them
		if r.Op != nil {
			// The next operation (a rollback) begins in the same record.
			st.apply(&record{T: "begin", Op: r.Op, Time: r.Time})
		}
	}
	st.Updated = r.Time
}

type journal struct {
	path string
	// hook, when set, is called after each record is durable with its
	// sequence number (crash tests exit the process there).
	hook func(seq uint64)

	mu sync.Mutex // guards st, seq, buf, err, changed
	st *stackState
	// changed is closed and replaced whenever a signal is recorded or a
	// hook cleared.
	changed chan struct{}
	seq     uint64
	buf     []byte
	err     error

	syncMu sync.Mutex // one writer at a time; guards f and synced
	f      *os.File
	synced uint64
}

func openJournal(path string) (*journal, error) {
	j := &journal{path: path, st: &stackState{Resources: map[string]*resState{}}}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	good, err := j.replay(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	j.f = f
	j.synced = j.seq
	return j, nil
}

// replay applies every intact record and returns the offset after the last
// one; a damaged line is accepted only as the very last (a torn write).
func (j *journal) replay(f io.Reader) (int64, error) {
	rd := bufio.NewReaderSize(f, 64<<10)
	var off int64
	for n := 1; ; n++ {
		line, err := rd.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return off, nil // a partial last line (no newline) is a torn write
		}
		if err != nil {
			return 0, err
		}
		rec, perr := decodeRecord(line)
		if perr != nil {
			if _, err := rd.Peek(1); errors.Is(err, io.EOF) {
				return off, nil
			}
			return 0, fmt.Errorf("record %d is damaged: %w", n, perr)
		}
		j.st.apply(rec)
		j.seq = rec.Seq
		off += int64(len(line))
	}
}

func decodeRecord(line []byte) (*record, error) {
	body, err := lineBody(bytes.TrimSuffix(line, []byte("\n")))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var r record
	if err := dec.Decode(&r); err != nil {
		return nil, err
	}
	switch {
	case r.T == "snap" && r.Snap != nil, r.T == "begin" && r.Op != nil,
		r.T == "res" && r.Res != nil && r.ID != "", r.T == "del" && r.ID != "", r.T == "end",
		r.T == "sig" && r.ID != "" && r.Signal != nil, r.T == "md" && r.ID != "" && r.Meta != nil,
		(r.T == "hook" || r.T == "unhook") && r.ID != "" && r.Hook != "":
	default:
		return nil, fmt.Errorf("malformed %q record", r.T)
	}
	if r.Snap != nil {
		for id, rs := range r.Snap.Resources {
			if rs == nil {
				delete(r.Snap.Resources, id)
			}
		}
	}
	normalizeRecord(&r)
	return &r, nil
}

func normalizeRecord(r *record) {
	fix := func(rs *resState) {
		if rs == nil {
			return
		}
		rs.Properties, _ = normalize(rs.Properties).(map[string]any)
		rs.Metadata = normalize(rs.Metadata)
		rs.State.RefID = normalize(rs.State.RefID)
		rs.State.Attributes, _ = normalize(rs.State.Attributes).(map[string]any)
		rs.State.Data, _ = normalize(rs.State.Data).(map[string]any)
	}
	fix(r.Res)
	r.Signal, _ = normalize(r.Signal).(map[string]any)
	fixMeta := func(m *serverMeta) {
		if m != nil {
			m.Deployments, _ = normalize(m.Deployments).([]any)
		}
	}
	fixMeta(r.Meta)
	if r.Snap != nil {
		for _, m := range r.Snap.Servers {
			fixMeta(m)
		}
	}
	if r.Snap != nil {
		for _, rs := range r.Snap.Resources {
			fix(rs)
		}
	}
}

// normalize turns json.Number into int64 or float64, as templates decode.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	}
	return v
}

func encodeRecord(dst []byte, r *record) ([]byte, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return dst, err
	}
	return appendLine(dst, body), nil
}

// appendLine appends body as one checksummed line, "CRC32C(hex) body\n"
// (the journal's and the event history's format).
func appendLine(dst, body []byte) []byte {
	dst = fmt.Appendf(dst, "%08x ", crc32.Checksum(body, crcTable))
	dst = append(dst, body...)
	return append(dst, '\n')
}

// lineBody checks a line's checksum (without its newline) and returns its
// body.
func lineBody(line []byte) ([]byte, error) {
	sum, body, ok := bytes.Cut(line, []byte(" "))
	if !ok || len(sum) != 8 {
		return nil, errors.New("no checksum")
	}
	want, err := strconv.ParseUint(string(sum), 16, 32)
	if err != nil || uint32(want) != crc32.Checksum(body, crcTable) {
		return nil, errors.New("checksum mismatch")
	}
	return body, nil
}

// append records r durably and applies it to the state.
func (j *journal) append(r *record) error {
	j.mu.Lock()
	if j.err != nil {
		err := j.err
		j.mu.Unlock()
		return err
	}
	r.Seq = j.seq + 1
	r.Time = time.Now().UTC()
	buf, err := encodeRecord(j.buf, r)
	if err != nil {
		j.mu.Unlock()
		return fmt.Errorf("journal: %w", err)
	}
	j.buf = buf
	j.seq = r.Seq
	j.st.apply(r)
	if r.T == "sig" || r.T == "unhook" {
		if j.changed != nil {
			close(j.changed)
		}
		j.changed = make(chan struct{})
	}
	mine := r.Seq
	j.mu.Unlock()
	return j.sync(mine)
}

func (j *journal) sync(upto uint64) error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if j.synced >= upto {
		j.mu.Lock()
		err := j.err
		j.mu.Unlock()
		return err
	}
	j.mu.Lock()
	data, last := j.buf, j.seq
	j.buf = nil
	j.mu.Unlock()
	_, err := j.f.Write(data)
	if err == nil {
		err = j.f.Sync()
	}
	if err != nil {
		err = fmt.Errorf("journal %s: %w", j.path, err)
		j.mu.Lock()
		j.err = err
		j.mu.Unlock()
		return err
	}
	prev := j.synced
	j.synced = last
	if j.hook != nil {
		for s := prev + 1; s <= last; s++ {
			j.hook(s)
		}
	}
	return nil
}

// rewrite replaces the file by a snapshot of the state followed by r,
// atomically, and applies r. No append may run concurrently.
func (j *journal) rewrite(r *record) error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	now := time.Now().UTC()
	snap := *j.st
	seq := j.seq + 1
	buf, err := encodeRecord(nil, &record{Seq: seq, T: "snap", Snap: &snap, Time: now})
	if err != nil {
		return err
	}
	r.Seq, r.Time = seq+1, now
	if buf, err = encodeRecord(buf, r); err != nil {
		return err
	}
	dir := filepath.Dir(j.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(j.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	_, err = tmp.Write(buf)
	if err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), j.path)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("journal: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	j.f.Close()
	j.f = tmp
	j.st.apply(r)
	j.seq = r.Seq
	prev := j.synced
	j.synced = r.Seq
	if j.hook != nil {
		for s := prev + 1; s <= r.Seq; s++ {
			j.hook(s)
		}
	}
	return nil
}

func (j *journal) close() error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// signalled returns a channel closed at the next recorded signal.
func (j *journal) signalled() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.changed == nil {
		j.changed = make(chan struct{})
	}
	return j.changed
}
