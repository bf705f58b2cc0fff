package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/tripleo-go/tripleo/internal/atomicfile"
)

// Inventory stores nodes. Implementations are safe for concurrent use and
// return copies: changing a returned *Node changes nothing until Update.
type Inventory interface {
	// Create stores a new node; ErrExists if the name is taken.
	Create(ctx context.Context, n *Node) error
	// Get returns the named node; ErrNotFound if there is none.
	Get(ctx context.Context, name string) (*Node, error)
	// List returns every node, sorted by name.
	List(ctx context.Context) ([]*Node, error)
	// Update replaces a stored node; ErrNotFound if there is none.
	Update(ctx context.Context, n *Node) error
	// Delete removes the named node; ErrNotFound if there is none.
	Delete(ctx context.Context, name string) error
}

// FileInventoryOptions tune [OpenFileInventory]; nil means defaults.
type FileInventoryOptions struct {
	// Logger receives a line per write; nil discards.
	Logger *slog.Logger
	// Now returns the time stamped in UpdatedAt; nil means time.Now.
	Now func() time.Time
}

// FileInventory is the embedded default [Inventory]: every node in one JSON
// file (mode 0600: it holds BMC passwords), rewritten whole on each change
// through a temporary file that is fsynced, renamed over the old one, and
// whose directory is fsynced. A crash at any point leaves either the old or
// the new content, never a mix; a failed write changes nothing in memory.
// Concurrent changes share writes (group commit), so deploying hundreds
// of nodes at once does not rewrite the file once per state change.
type FileInventory struct {
	path string
	log  *slog.Logger
	now  func() time.Time

	mu    sync.Mutex
	nodes map[string]*Node // as on disk
	// Group commit (see change): pending is nodes plus the queued
	// changes (nil when none), waiters the queued changes, writing is set
	// while one of them writes.
	pending map[string]*Node
	waiters []chan commitResult
	writing bool
}

// fileFormat is the file's JSON form.
type fileFormat struct {
	Version int          `json:"version"`
	Nodes   []nodeRecord `json:"nodes"`
}

// nodeRecord adds the credentials, which Node's own JSON leaves out.
type nodeRecord struct {
	*Node
	Username string `json:"bmc_username,omitempty"`
	Password string `json:"bmc_password,omitempty"`
}

const fileVersion = 1

// testHookBeforeRename, when set by tests, runs after the temporary file is
// written and synced, before the rename; an error aborts the write.
var testHookBeforeRename func(tmp string) error

// OpenFileInventory opens the inventory file at path, creating nothing
// until the first change. A missing file is an empty inventory; a file that
// does not parse is an error naming it. Temporary files left by a crash are
// removed.
func OpenFileInventory(path string, opts *FileInventoryOptions) (*FileInventory, error) {
	inv := &FileInventory{path: path, log: discardLogger(), now: time.Now, nodes: map[string]*Node{}}
	if opts != nil && opts.Logger != nil {
		inv.log = opts.Logger
	}
	if opts != nil && opts.Now != nil {
		inv.now = opts.Now
	}
	if stale, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")); len(stale) > 0 {
		for _, s := range stale {
			_ = os.Remove(s)
		}
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return inv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("provision: inventory %s: %w", path, err)
	}
	nodes, err := decodeInventory(data)
	if err != nil {
		return nil, fmt.Errorf("provision: inventory %s: %w", path, err)
	}
	inv.nodes = nodes
	return inv, nil
}

func decodeInventory(data []byte) (map[string]*Node, error) {
	var f fileFormat
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		return nil, err
	}
	if f.Version != fileVersion {
		return nil, fmt.Errorf("field version: %d, want %d", f.Version, fileVersion)
	}
	nodes := make(map[string]*Node, len(f.Nodes))
	for i, r := range f.Nodes {
		if r.Node == nil {
			return nil, fmt.Errorf("nodes[%d]: null", i)
		}
		if err := r.Node.Validate(); err != nil {
			return nil, fmt.Errorf("nodes[%d]: %w", i, err)
		}
		if _, dup := nodes[r.Name]; dup {
			return nil, fmt.Errorf("nodes[%d]: duplicate name %q", i, r.Name)
		}
		r.Node.Credentials = NewCredentials(r.Username, r.Password)
		nodes[r.Name] = r.Node
	}
	return nodes, nil
}

// Path returns the file's path.
func (f *FileInventory) Path() string { return f.path }

// Create implements Inventory.
func (f *FileInventory) Create(ctx context.Context, n *Node) error {
	if err := n.Validate(); err != nil {
		return err
	}
	return f.change(ctx, func(m map[string]*Node) error {
		if _, ok := m[n.Name]; ok {
			return fmt.Errorf("provision: create node %s: %w", n.Name, ErrExists)
		}
		c := n.Clone()
		c.UpdatedAt = f.now().UTC()
		m[n.Name] = c
		return nil
	})
}

// Get implements Inventory.
func (f *FileInventory) Get(_ context.Context, name string) (*Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.nodes[name]
	if !ok {
		return nil, fmt.Errorf("provision: node %s: %w", name, ErrNotFound)
	}
	return n.Clone(), nil
}

// List implements Inventory.
func (f *FileInventory) List(_ context.Context) ([]*Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*Node, 0, len(f.nodes))
	for _, name := range slices.Sorted(maps.Keys(f.nodes)) {
		out = append(out, f.nodes[name].Clone())
	}
	return out, nil
}

// Update implements Inventory.
func (f *FileInventory) Update(ctx context.Context, n *Node) error {
	if err := n.Validate(); err != nil {
		return err
	}
	return f.change(ctx, func(m map[string]*Node) error {
		if _, ok := m[n.Name]; !ok {
			return fmt.Errorf("provision: update node %s: %w", n.Name, ErrNotFound)
		}
		c := n.Clone()
		c.UpdatedAt = f.now().UTC()
		m[n.Name] = c
		return nil
	})
}

// Delete implements Inventory.
func (f *FileInventory) Delete(ctx context.Context, name string) error {
	return f.change(ctx, func(m map[string]*Node) error {
		if _, ok := m[name]; !ok {
			return fmt.Errorf("provision: delete node %s: %w", name, ErrNotFound)
		}
		delete(m, name)
		return nil
	})
}

// change applies mutate to a copy of the nodes, writes the copy, and only
// then makes it current. Changes that arrive while a write is in flight
// are applied in memory on top of each other and written together by the
// next write (group commit): n concurrent changes cost a few file writes,
// not n. Each returns once the write holding it is durable. If a write
// fails, its changes and every change queued on top of them fail and are
// forgotten. Once queued, a change is written even if ctx ends.
func (f *FileInventory) change(ctx context.Context, mutate func(map[string]*Node) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	base := f.pending
	if base == nil {
		base = f.nodes
	}
	next := maps.Clone(base)
	if err := mutate(next); err != nil {
		f.mu.Unlock()
		return err
	}
	f.pending = next
	done := make(chan commitResult, 1)
	f.waiters = append(f.waiters, done)
	if f.writing {
		f.mu.Unlock()
		if r := <-done; !r.lead {
			return r.err
		}
		f.mu.Lock()
	}
	f.writing = true
	return f.writeBatch(done)
}

// commitResult tells a queued change its outcome, or that it is now the
// one to write the queue (lead).
type commitResult struct {
	err  error
	lead bool
}

// writeBatch writes the pending nodes for every queued change, tells each
// its outcome, and hands the writing over to the first change queued
// meanwhile. It is called with f.mu held and releases it; it returns the
// outcome of the caller's change (own).
func (f *FileInventory) writeBatch(own chan commitResult) error {
	snap, batch := f.pending, f.waiters
	f.waiters = nil
	f.mu.Unlock()
	err := f.write(snap)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		err = fmt.Errorf("provision: inventory %s: %w", f.path, err)
		batch = append(batch, f.waiters...)
		f.waiters, f.pending = nil, nil
	} else {
		f.nodes = snap
		if len(f.waiters) == 0 {
			f.pending = nil
		}
	}
	var mine error
	for _, w := range batch {
		if w == own {
			mine = err
		} else {
			w <- commitResult{err: err}
		}
	}
	if len(f.waiters) > 0 {
		f.waiters[0] <- commitResult{lead: true}
	} else {
		f.writing = false
	}
	return mine
}

func encodeInventory(nodes map[string]*Node) ([]byte, error) {
	ff := fileFormat{Version: fileVersion, Nodes: make([]nodeRecord, 0, len(nodes))}
	for _, name := range slices.Sorted(maps.Keys(nodes)) {
		n := nodes[name]
		ff.Nodes = append(ff.Nodes, nodeRecord{Node: n, Username: n.Credentials.Username(), Password: n.Credentials.Password()})
	}
	data, err := json.MarshalIndent(ff, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

func (f *FileInventory) write(nodes map[string]*Node) error {
	data, err := encodeInventory(nodes)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(f.path, data, &atomicfile.Options{Mode: 0o600, BeforeRename: testHookBeforeRename}); err != nil {
		return err
	}
	f.log.Debug("inventory written", "path", f.path, "nodes", len(nodes))
	return nil
}
