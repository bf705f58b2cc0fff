package orchestrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// TypeSimServer is the simulated server type. Map OS::Nova::Server to it
// in an environment's resource_registry to run server templates in tests.
const TypeSimServer = "Sim::Server"

// SimCloud is a simulated compute service for tests, examples and
// benchmarks: servers are created instantly and remembered by idempotency
// key, in memory or (Dir set) one file per server so that they survive the
// engine's process. It counts Create calls per key.
type SimCloud struct {
	// Dir, when set, keeps servers and the create-call log on disk.
	Dir string

	mu        sync.Mutex
	servers   map[string]map[string]any
	calls     map[string]int
	snapshots map[string]int
	next      int
}

// NewSimCloud returns an empty in-memory (dir "") or on-disk cloud.
func NewSimCloud(dir string) (*SimCloud, error) {
	c := &SimCloud{Dir: dir, servers: map[string]map[string]any{}, calls: map[string]int{}, snapshots: map[string]int{}}
	if dir != "" {
		if err := os.MkdirAll(filepath.Join(dir, "servers"), 0o755); err != nil {
			return nil, fmt.Errorf("sim cloud: %w", err)
		}
	}
	return c, nil
}

// Type returns the Sim::Server plug-in backed by this cloud.
func (c *SimCloud) Type() ResourceType { return simServer{c} }

func (c *SimCloud) file(key string) string {
	h := sha256.Sum256([]byte(key))
	return filepath.Join(c.Dir, "servers", hex.EncodeToString(h[:12])+".json")
}

// CreateCalls returns how many times Create was called for each key
// (read back from disk when the cloud has a Dir).
func (c *SimCloud) CreateCalls() (map[string]int, error) {
	return c.counts(c.calls, "create-calls.log")
}

// Snapshots returns the keys of the servers snapshotted (the Snapshot
// deletion policy) and how many times each was, read back from disk when
// the cloud has a Dir.
func (c *SimCloud) Snapshots() (map[string]int, error) {
	return c.counts(c.snapshots, "snapshots.log")
}

// counts copies mem, or (with a Dir) counts the keys logged in file.
func (c *SimCloud) counts(mem map[string]int, file string) (map[string]int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	if c.Dir == "" {
		for k, v := range mem {
			out[k] = v
		}
		return out, nil
	}
	b, err := os.ReadFile(filepath.Join(c.Dir, file))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, k := range strings.SplitAfter(string(b), "\n") {
		if strings.HasSuffix(k, "\n") {
			out[strings.TrimSuffix(k, "\n")]++
		}
	}
	return out, nil
}

// logKey appends key to file (with a Dir); c.mu is held.
func (c *SimCloud) logKey(file, key string) error {
	if c.Dir == "" {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(c.Dir, file), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(key + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Servers returns the number of servers that exist.
func (c *SimCloud) Servers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Dir == "" {
		return len(c.servers)
	}
	m, _ := filepath.Glob(filepath.Join(c.Dir, "servers", "*.json"))
	return len(m)
}

func (c *SimCloud) get(key string) (map[string]any, bool) {
	if c.Dir == "" {
		s, ok := c.servers[key]
		return s, ok
	}
	b, err := os.ReadFile(c.file(key))
	if err != nil {
		return nil, false
	}
	var s map[string]any
	if json.Unmarshal(b, &s) != nil {
		return nil, false
	}
	return s, true
}

func (c *SimCloud) put(key string, s map[string]any) error {
	if c.Dir == "" {
		c.servers[key] = s
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp := c.file(key) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, c.file(key))
}

type simServer struct{ c *SimCloud }

func (simServer) Schema() *Schema {
	return &Schema{
		Properties: map[string]*Property{
			"name":                      {Type: TypeString, UpdateAllowed: true},
			"image":                     {Type: TypeString},
			"flavor":                    {Type: TypeString, UpdateAllowed: true},
			"networks":                  {Type: TypeList},
			"metadata":                  {Type: TypeMap, UpdateAllowed: true},
			"user_data":                 {Type: TypeString},
			"user_data_format":          {Type: TypeString},
			"software_config_transport": {Type: TypeString},
			"key_name":                  {Type: TypeString},
		},
		Attributes: map[string]string{"name": "", "first_address": "", "networks": "", "show": ""},
	}
}

func simState(s map[string]any) *State {
	return &State{PhysicalID: s["id"].(string), Attributes: map[string]any{
		"name": s["name"], "first_address": s["first_address"],
		"networks": map[string]any{"ctlplane": []any{s["first_address"]}}, "show": s,
	}}
}

func (t simServer) Create(ctx context.Context, r *Request) (*State, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[r.Key]++
	if err := c.logKey("create-calls.log", r.Key); err != nil {
		return nil, err
	}
	if s, ok := c.get(r.Key); ok {
		return simState(s), nil
	}
	c.next++
	name, _ := r.Properties["name"].(string)
	if name == "" {
		name = r.Stack + "-" + r.Name
	}
	h := sha256.Sum256([]byte(r.Key))
	s := map[string]any{
		"id": keyID(r.Key), "name": name, "image": r.Properties["image"], "flavor": r.Properties["flavor"],
		"first_address": fmt.Sprintf("192.0.2.%d", 1+int(h[0])%250), "status": "ACTIVE",
	}
	if err := c.put(r.Key, s); err != nil {
		return nil, err
	}
	return simState(s), nil
}

func (t simServer) Update(_ context.Context, r *Request) (*State, error) {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.get(r.Key)
	if !ok {
		return nil, fmt.Errorf("server %s: %w", r.Key, ErrNotFound)
	}
	if n, ok := r.Properties["name"].(string); ok && n != "" {
		s["name"] = n
	}
	s["flavor"] = r.Properties["flavor"]
	if err := c.put(r.Key, s); err != nil {
		return nil, err
	}
	return simState(s), nil
}

func (t simServer) Delete(_ context.Context, r *Request) error {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Dir == "" {
		delete(c.servers, r.Key)
		return nil
	}
	if err := os.Remove(c.file(r.Key)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (t simServer) Check(_ context.Context, r *Request) (*State, error) {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.get(r.Key)
	if !ok {
		return nil, ErrNotFound
	}
	return simState(s), nil
}

// Snapshot keeps an image of the server before the engine deletes it (the
// Snapshot deletion policy); a server that is gone is not snapshotted.
func (t simServer) Snapshot(ctx context.Context, r *Request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.get(r.Key); !ok {
		return nil
	}
	c.snapshots[r.Key]++
	return c.logKey("snapshots.log", r.Key)
}
