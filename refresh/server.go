package refresh

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tripleo-go/tripleo/config"
)

// The long-poll protocol served by MetadataServer and spoken by Watch:
//
//	GET <path>                       the document, with ETag and Last-Modified
//	GET <path> + If-None-Match: E    304 Not Modified when the ETag is still E
//	GET <path>?wait=S&etag=E         (or If-None-Match: E) blocks until the
//	                                 document's ETag differs from E, then
//	                                 answers 200 with it; 304 after S seconds
//	                                 (capped by the server) with no change
//
// A plain HTTP server that ignores "wait" works with Watch too: it answers
// at once, and Watch then behaves like a polling collector.

// MetadataServerOptions configure a MetadataServer.
type MetadataServerOptions struct {
	// MaxWait caps the wait a client may ask for (zero: 5 minutes).
	MaxWait time.Duration
}

// MetadataServer serves metadata documents by path over HTTP, with ETags
// for conditional requests and long polls ("?wait=") that return as soon
// as a document changes. The orchestrator mounts it to feed node agents;
// tests and examples use it as a real server. It is safe for concurrent
// use.
type MetadataServer struct {
	maxWait time.Duration
	mu      sync.Mutex
	docs    map[string]*servedDoc
}

type servedDoc struct {
	body     []byte
	etag     string
	modified time.Time
	changed  chan struct{} // closed and replaced on every change
}

// NewMetadataServer returns an empty server.
func NewMetadataServer(opts *MetadataServerOptions) *MetadataServer {
	s := &MetadataServer{maxWait: 5 * time.Minute, docs: map[string]*servedDoc{}}
	if opts != nil && opts.MaxWait > 0 {
		s.maxWait = opts.MaxWait
	}
	return s
}

// Set publishes content (a JSON value as package config decodes it) at
// path. Setting an equal encoding again is not a change: waiters stay
// blocked.
func (s *MetadataServer) Set(path string, content any) {
	s.setBody(path, config.AppendJSON(nil, content))
}

// SetJSON publishes a JSON document at path after checking that it parses.
func (s *MetadataServer) SetJSON(path string, data []byte) error {
	if _, err := config.DecodeJSON(data); err != nil {
		return fmt.Errorf("metadata for %s: %w", path, err)
	}
	s.setBody(path, bytes.Clone(data))
	return nil
}

func (s *MetadataServer) setBody(path string, body []byte) {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[path]
	if d == nil {
		d = &servedDoc{changed: make(chan struct{})}
		s.docs[path] = d
	} else if d.etag == etag {
		return
	}
	d.body, d.etag, d.modified = body, etag, time.Now()
	close(d.changed)
	d.changed = make(chan struct{})
}

// Delete removes the document at path (clients then get 404).
func (s *MetadataServer) Delete(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.docs[path]; d != nil {
		close(d.changed)
		delete(s.docs, path)
	}
}

// ServeHTTP answers GET and HEAD as described above.
func (s *MetadataServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	etag := q.Get("etag")
	if etag == "" {
		etag = r.Header.Get("If-None-Match")
	}
	var wait time.Duration
	if ws := q.Get("wait"); ws != "" {
		secs, err := strconv.ParseFloat(ws, 64)
		if err != nil || secs < 0 {
			http.Error(w, "bad wait: "+ws, http.StatusBadRequest)
			return
		}
		wait = min(time.Duration(secs*float64(time.Second)), s.maxWait)
	}
	var timer <-chan time.Time
	for {
		s.mu.Lock()
		d := s.docs[r.URL.Path]
		var body []byte
		var cur string
		var mod time.Time
		var changed chan struct{}
		if d != nil {
			body, cur, mod, changed = d.body, d.etag, d.modified, d.changed
		}
		s.mu.Unlock()
		if d == nil {
			http.NotFound(w, r)
			return
		}
		if wait <= 0 || etag == "" || !etagMatch(etag, cur) {
			w.Header().Set("ETag", cur)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-cache")
			http.ServeContent(w, r, "", mod, bytes.NewReader(body))
			return
		}
		if timer == nil {
			t := time.NewTimer(wait)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-changed:
		case <-timer:
			w.Header().Set("ETag", cur)
			w.WriteHeader(http.StatusNotModified)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// etagMatch reports whether an If-None-Match value names etag.
func etagMatch(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		p := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if p == etag || p == "*" {
			return true
		}
	}
	return false
}
