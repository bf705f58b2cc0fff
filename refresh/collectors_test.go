package refresh_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/refresh"
	"github.com/tripleo-go/tripleo/refresh/collectortest"
)

func mustJSON(t testing.TB, s string) any {
	t.Helper()
	v, err := config.DecodeJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLocalConformance(t *testing.T) {
	dir := t.TempDir()
	collectortest.Run(t, collectortest.Harness{
		New: func(t *testing.T) refresh.Collector { return refresh.NewLocal([]string{dir}, nil) },
		Set: func(t *testing.T, md *config.Object) {
			_ = os.Remove(filepath.Join(dir, "bad.json"))
			if err := os.WriteFile(filepath.Join(dir, "md.json"), config.AppendJSON(nil, md), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		Break: func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
	})
}

// flakyHandler wraps a handler; while broken it answers with a fault.
type flakyHandler struct {
	h      http.Handler
	mu     sync.Mutex
	fault  string // "", "500", "garbage", "truncated"
	hits   atomic.Int64
	status sync.Map // status code → count
}

func (f *flakyHandler) setFault(s string) {
	f.mu.Lock()
	f.fault = s
	f.mu.Unlock()
}

func (f *flakyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	f.mu.Lock()
	fault := f.fault
	f.mu.Unlock()
	switch fault {
	case "500":
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	case "garbage":
		fmt.Fprint(w, "<html>\x00garbage")
		return
	case "truncated":
		w.Header().Set("Content-Length", "1000")
		fmt.Fprint(w, `{"hostname": "half"}`)
		return
	}
	rec := &statusRecorder{ResponseWriter: w, code: 200}
	f.h.ServeHTTP(rec, r)
	n, _ := f.status.LoadOrStore(rec.code, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
}

func (f *flakyHandler) count(code int) int64 {
	n, ok := f.status.Load(code)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(c int) { s.code = c; s.ResponseWriter.WriteHeader(c) }

func newMetadataServer(t *testing.T) (*refresh.MetadataServer, *flakyHandler, string) {
	ms := refresh.NewMetadataServer(nil)
	fh := &flakyHandler{h: ms}
	srv := httptest.NewServer(fh)
	t.Cleanup(srv.Close)
	return ms, fh, srv.URL + "/md"
}

func TestRequestConformance(t *testing.T) {
	ms, fh, url := newMetadataServer(t)
	collectortest.Run(t, collectortest.Harness{
		New:   func(t *testing.T) refresh.Collector { return refresh.NewRequest(url, nil) },
		Set:   func(t *testing.T, md *config.Object) { fh.setFault(""); ms.Set("/md", md) },
		Break: func(t *testing.T) { fh.setFault("500") },
	})
}

func TestWatchConformance(t *testing.T) {
	ms, fh, url := newMetadataServer(t)
	collectortest.Run(t, collectortest.Harness{
		New:   func(t *testing.T) refresh.Collector { return refresh.NewWatch(url, nil) },
		Set:   func(t *testing.T, md *config.Object) { fh.setFault(""); ms.Set("/md", md) },
		Break: func(t *testing.T) { fh.setFault("garbage") },
	})
}

// ec2Tree serves an object of strings as an EC2 metadata tree.
type ec2Tree struct {
	mu     sync.Mutex
	md     *config.Object
	broken bool
	hits   atomic.Int64
}

func (e *ec2Tree) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.hits.Add(1)
	e.mu.Lock()
	md, broken := e.md, e.broken
	e.mu.Unlock()
	if broken {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/latest/meta-data/")
	var cur any = md
	for _, seg := range strings.Split(strings.TrimSuffix(path, "/"), "/") {
		if seg == "" {
			continue
		}
		obj, ok := cur.(*config.Object)
		if !ok {
			http.NotFound(w, r)
			return
		}
		if cur, ok = obj.Get(seg); !ok {
			http.NotFound(w, r)
			return
		}
	}
	switch v := cur.(type) {
	case *config.Object:
		var lines []string
		for _, k := range v.Keys() {
			child, _ := v.Get(k)
			if _, ok := child.(*config.Object); ok {
				lines = append(lines, k+"/")
			} else {
				lines = append(lines, k)
			}
		}
		fmt.Fprint(w, strings.Join(lines, "\n"))
	case string:
		fmt.Fprint(w, v)
	}
}

func TestEC2Conformance(t *testing.T) {
	tree := &ec2Tree{}
	srv := httptest.NewServer(tree)
	t.Cleanup(srv.Close)
	collectortest.Run(t, collectortest.Harness{
		New: func(t *testing.T) refresh.Collector {
			return refresh.NewEC2(srv.URL+"/latest/meta-data", nil)
		},
		Set: func(t *testing.T, md *config.Object) {
			tree.mu.Lock()
			tree.md, tree.broken = md, false
			tree.mu.Unlock()
		},
		Break: func(t *testing.T) { tree.mu.Lock(); tree.broken = true; tree.mu.Unlock() },
	})
}

// EC2 metadata is immutable: once cached, it is not fetched again.
func TestEC2CachedIsImmutable(t *testing.T) {
	tree := &ec2Tree{md: mustJSON(t, `{"instance-id": "i-1", "public-keys": {"0": {"openssh-key": "ssh-rsa AAA"}}}`).(*config.Object)}
	srv := httptest.NewServer(tree)
	t.Cleanup(srv.Close)
	cache := refresh.NewCache(t.TempDir(), &refresh.CacheOptions{NoSync: true})
	c := refresh.NewEC2(srv.URL+"/latest/meta-data", &refresh.EC2Options{Cache: cache})
	r, err := refresh.CollectOnce(t.Context(), []refresh.Collector{c}, cache, nil)
	if err != nil || len(r.Outputs) != 1 {
		t.Fatalf("first round: %v %+v", err, r)
	}
	if got := string(config.AppendJSON(nil, r.Outputs[0].Content)); got != `{"instance-id": "i-1", "public-keys": {"0": {"openssh-key": "ssh-rsa AAA"}}}` {
		t.Errorf("crawled tree = %s", got)
	}
	hits := tree.hits.Load()
	if _, err := c.Collect(t.Context()); err != nil {
		t.Fatal(err)
	}
	if tree.hits.Load() != hits {
		t.Errorf("cached EC2 metadata was fetched again")
	}
}

// Unchanged metadata costs one request answered 304.
func TestRequestConditional(t *testing.T) {
	ms, fh, url := newMetadataServer(t)
	ms.Set("/md", mustJSON(t, `{"a": 1}`))
	c := refresh.NewRequest(url, nil)
	for range 3 {
		if _, err := c.Collect(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if fh.hits.Load() != 3 || fh.count(200) != 1 || fh.count(304) != 2 {
		t.Errorf("requests %d, 200s %d, 304s %d; want 3, 1, 2", fh.hits.Load(), fh.count(200), fh.count(304))
	}
}

// A source that returns garbage, a 500 or a truncated body leaves the
// last good config in the cache, and is retried: the next good answer is
// picked up.
func TestFaultySourceKeepsLastGoodConfig(t *testing.T) {
	for _, fault := range []string{"500", "garbage", "truncated"} {
		t.Run(fault, func(t *testing.T) {
			ms, fh, url := newMetadataServer(t)
			ms.Set("/md", mustJSON(t, `{"hostname": "good"}`))
			cache := refresh.NewCache(t.TempDir(), &refresh.CacheOptions{NoSync: true})
			cs := []refresh.Collector{refresh.NewRequest(url, nil)}
			r, err := refresh.CollectOnce(t.Context(), cs, cache, nil)
			if err != nil || len(r.Changed) != 1 {
				t.Fatalf("first round: %v %+v", err, r)
			}
			if err := r.Commit(cache); err != nil {
				t.Fatal(err)
			}
			fh.setFault(fault)
			r, err = refresh.CollectOnce(t.Context(), cs, cache, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Changed) != 0 || len(r.Unavailable) != 1 {
				t.Errorf("faulty round: changed %v, unavailable %v", r.Changed, r.Unavailable)
			}
			if v, _ := cache.Load("request"); !refresh.Equal(v, mustJSON(t, `{"hostname": "good"}`)) {
				t.Errorf("cache after a faulty round holds %s", config.AppendJSON(nil, v))
			}
			fh.setFault("")
			ms.Set("/md", mustJSON(t, `{"hostname": "new"}`))
			r, err = refresh.CollectOnce(t.Context(), cs, cache, nil)
			if err != nil || len(r.Changed) != 1 {
				t.Errorf("recovery round: %v %+v", err, r)
			}
		})
	}
}

func TestExplode(t *testing.T) {
	md := mustJSON(t, `{"deployments": [
		{"name": "a", "group": "os-apply-config", "config": {"x": 1}},
		{"name": "b", "group": "script", "config": "echo"},
		{"name": "c", "config": [1]},
		{"config": {}},
		{"name": "../escape", "config": {}},
		{"name": 7, "config": {"n": 7}},
		{"name": "noconfig"},
		"notanobject"
	], "other": {"deployments": []}}`)
	outs := refresh.Explode("request", md, nil, nil)
	var names []string
	for _, o := range outs {
		names = append(names, o.Name)
	}
	if got := strings.Join(names, ","); got != "request,a,c,7" {
		t.Errorf("outputs %s, want request,a,c,7", got)
	}
}

func TestEqual(t *testing.T) {
	cases := []struct {
		a, b string
		eq   bool
	}{
		{`{"a": 1, "b": 2}`, `{"b": 2, "a": 1}`, true},
		{`1`, `1.0`, true},
		{`true`, `1`, true},
		{`[1, 2]`, `[2, 1]`, false},
		{`NaN`, `NaN`, false},
		{`123456789012345678901234567890`, `123456789012345678901234567891`, false},
		{`"1"`, `1`, false},
		{`null`, `{}`, false},
		{`{"a": null}`, `{"b": null}`, false},
	}
	for _, c := range cases {
		if got := refresh.Equal(mustJSON(t, c.a), mustJSON(t, c.b)); got != c.eq {
			t.Errorf("Equal(%s, %s) = %v", c.a, c.b, got)
		}
	}
}

func TestCacheRejectsUnsafeNames(t *testing.T) {
	cache := refresh.NewCache(t.TempDir(), nil)
	if _, _, err := cache.Store("../x", mustJSON(t, `{}`)); err == nil {
		t.Error("Store accepted ../x")
	}
}

func TestMetadataServerLongPoll(t *testing.T) {
	ms, _, url := newMetadataServer(t)
	ms.Set("/md", mustJSON(t, `{"v": 1}`))
	w := refresh.NewWatch(url, nil)
	if _, err := w.Collect(t.Context()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Wait(t.Context()) }()
	ms.Set("/md", mustJSON(t, `{"v": 1}`)) // same content: not a change
	ms.Set("/md", mustJSON(t, `{"v": 2}`))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	outs, err := w.Collect(t.Context())
	if err != nil || !refresh.Equal(outs[0].Content, mustJSON(t, `{"v": 2}`)) {
		t.Fatalf("after Wait: %v %v", err, outs)
	}
	resp, err := http.Get(url + "x")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("unknown path: %s", resp.Status)
		}
	}
	if err := ms.SetJSON("/bad", []byte("{")); err == nil {
		t.Error("SetJSON accepted invalid JSON")
	}
	var se *refresh.SourceError
	_, err = refresh.NewRequest("", nil).Collect(t.Context())
	if !errors.As(err, &se) || !errors.Is(err, refresh.ErrNotConfigured) || errors.Is(err, refresh.ErrUnavailable) {
		t.Errorf("unconfigured request collector: %v", err)
	}
}
