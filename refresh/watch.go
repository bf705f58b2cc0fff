package refresh

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// WatchOptions configure a Watch collector.
type WatchOptions struct {
	// Client is the HTTP client (nil: http.DefaultClient's transport with
	// no overall timeout; the long poll bounds itself).
	Client *http.Client
	// Wait is how long one long poll may block on the server (zero: 60s).
	Wait time.Duration
	// DeploymentKeys are exploded (nil: DefaultDeploymentKeys).
	DeploymentKeys []string
	// Logger receives warnings. Nil discards.
	Logger *slog.Logger
}

// Watch is a collector for a MetadataServer (or any server speaking its
// long-poll protocol): Collect is a conditional GET like Request's, and
// Wait is a long poll that returns as soon as the document changes, so a
// Poll loop or an Agent sees a change in milliseconds instead of at its
// next poll. Its outputs are named "watch" plus the exploded deployments.
type Watch struct {
	url  string
	opts WatchOptions
	mu   sync.Mutex
	last *httpDoc
	// fresh is a document fetched by Wait that Collect has not returned yet.
	fresh *httpDoc
}

// NewWatch returns a watch collector for url ("" is not configured).
func NewWatch(url string, opts *WatchOptions) *Watch {
	w := &Watch{url: url}
	if opts != nil {
		w.opts = *opts
	}
	if w.opts.Client == nil {
		w.opts.Client = &http.Client{}
	}
	if w.opts.Wait == 0 {
		w.opts.Wait = time.Minute
	}
	if w.opts.Logger == nil {
		w.opts.Logger = slog.New(slog.DiscardHandler)
	}
	w.opts.DeploymentKeys = slices.Clone(w.opts.DeploymentKeys)
	return w
}

// Name returns "watch".
func (w *Watch) Name() string { return "watch" }

// Collect returns the document Wait saw change, or fetches it
// (conditionally after the first success).
func (w *Watch) Collect(ctx context.Context) ([]Output, error) {
	if w.url == "" {
		return nil, &SourceError{Collector: "watch", Err: ErrNotConfigured}
	}
	w.mu.Lock()
	if w.fresh != nil {
		doc := w.fresh
		w.last, w.fresh = doc, nil
		w.mu.Unlock()
		return Explode("watch", doc.content, w.opts.DeploymentKeys, w.opts.Logger), nil
	}
	prev := w.last
	w.mu.Unlock()
	doc, _, err := fetchDoc(ctx, w.opts.Client, "watch", w.url, prev, nil)
	if err != nil {
		w.opts.Logger.Warn(err.Error())
		return nil, err
	}
	w.mu.Lock()
	w.last = doc
	w.mu.Unlock()
	return Explode("watch", doc.content, w.opts.DeploymentKeys, w.opts.Logger), nil
}

// Wait long-polls the server until the document differs from the last
// one seen (by Collect or an earlier Wait), or the server's wait expires
// (then it polls again), or ctx ends.
func (w *Watch) Wait(ctx context.Context) error {
	if w.url == "" {
		return &SourceError{Collector: "watch", Err: ErrNotConfigured}
	}
	u, err := url.Parse(w.url)
	if err != nil {
		return &SourceError{Collector: "watch", Err: err}
	}
	q := u.Query()
	q.Set("wait", strconv.FormatFloat(w.opts.Wait.Seconds(), 'f', -1, 64))
	u.RawQuery = q.Encode()
	for {
		w.mu.Lock()
		prev := w.fresh
		if prev == nil {
			prev = w.last
		}
		w.mu.Unlock()
		start := time.Now()
		// The server answers within Wait; a connection that silently died
		// must not hold the watch forever.
		pctx, cancel := context.WithTimeout(ctx, w.opts.Wait+30*time.Second)
		doc, modified, err := fetchDoc(pctx, w.opts.Client, "watch", u.String(), prev, nil)
		cancel()
		if err != nil {
			return err
		}
		if modified {
			w.mu.Lock()
			w.fresh = doc
			w.mu.Unlock()
			return nil
		}
		// A server that does not hold long polls answers at once: do not
		// hammer it.
		if time.Since(start) < time.Second {
			t := time.NewTimer(time.Second)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
