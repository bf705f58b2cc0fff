package refresh

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// RequestOptions configure a Request collector.
type RequestOptions struct {
	// Client is the HTTP client (nil: a client with Timeout).
	Client *http.Client
	// Timeout bounds each request when Client is nil (zero: 10s, the
	// original's default).
	Timeout time.Duration
	// DeploymentKeys are exploded (nil: DefaultDeploymentKeys).
	DeploymentKeys []string
	// Logger receives warnings. Nil discards.
	Logger *slog.Logger
}

// Request is os-collect-config's "request" collector: one JSON object from
// an HTTP URL, exploded into deployments. Unlike the original (a HEAD and
// a GET every poll, with a Last-Modified check that never worked because
// the collector was rebuilt each time), it remembers the ETag and
// Last-Modified of the last good document and sends them back, so
// unchanged metadata costs one request answered 304 Not Modified. A
// failed fetch (transport error, non-200 status, truncated body, invalid
// JSON, not an object) is ErrUnavailable and forgets nothing.
type Request struct {
	url  string
	opts RequestOptions
	mu   sync.Mutex
	last *httpDoc
}

// NewRequest returns a request collector for url ("" is not configured).
func NewRequest(url string, opts *RequestOptions) *Request {
	r := &Request{url: url}
	if opts != nil {
		r.opts = *opts
	}
	if r.opts.Timeout == 0 {
		r.opts.Timeout = 10 * time.Second
	}
	if r.opts.Client == nil {
		r.opts.Client = &http.Client{Timeout: r.opts.Timeout}
	}
	if r.opts.Logger == nil {
		r.opts.Logger = slog.New(slog.DiscardHandler)
	}
	r.opts.DeploymentKeys = slices.Clone(r.opts.DeploymentKeys)
	return r
}

// Name returns "request".
func (r *Request) Name() string { return "request" }

// Collect fetches the metadata (conditionally after the first success).
func (r *Request) Collect(ctx context.Context) ([]Output, error) {
	if r.url == "" {
		r.opts.Logger.Info("No metadata_url configured.")
		return nil, &SourceError{Collector: "request", Err: ErrNotConfigured}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	doc, _, err := fetchDoc(ctx, r.opts.Client, "request", r.url, r.last, nil)
	if err != nil {
		r.opts.Logger.Warn(err.Error())
		return nil, err
	}
	r.last = doc
	return Explode("request", doc.content, r.opts.DeploymentKeys, r.opts.Logger), nil
}
