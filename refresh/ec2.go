package refresh

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tripleo-go/tripleo/config"
)

// DefaultEC2URL is the EC2 metadata service's address.
const DefaultEC2URL = "http://169.254.169.254/latest/meta-data"

// EC2Options configure an EC2 collector.
type EC2Options struct {
	// Client is the HTTP client (nil: a client with Timeout).
	Client *http.Client
	// Timeout bounds each request when Client is nil (zero: 10s).
	Timeout time.Duration
	// Cache, when set, is checked first: EC2 metadata is immutable for an
	// instance's life, so a non-empty cached ec2.json is returned without
	// fetching anything (as the original does since LP#1619072).
	Cache *Cache
	// MaxRequests bounds the requests of one crawl (zero: 10,000), so a
	// looping listing cannot crawl forever.
	MaxRequests int
	// Logger receives warnings. Nil discards.
	Logger *slog.Logger
}

// EC2 is os-collect-config's "ec2" collector: it crawls an EC2-style
// metadata tree, where a URL ending in "/" is a listing of one entry per
// line, "a=b" entries name the subdirectory "a/", and every other URL is a
// leaf whose text is the value. The result is one output, "ec2", a nested
// object of strings. Config drives are not read (the original mounts
// one); empty listing lines, which crash the original, are skipped.
type EC2 struct {
	url  string
	opts EC2Options
}

// NewEC2 returns an EC2 collector for the metadata root url ("":
// DefaultEC2URL).
func NewEC2(url string, opts *EC2Options) *EC2 {
	if url == "" {
		url = DefaultEC2URL
	}
	e := &EC2{url: url}
	if opts != nil {
		e.opts = *opts
	}
	if e.opts.Timeout == 0 {
		e.opts.Timeout = 10 * time.Second
	}
	if e.opts.Client == nil {
		e.opts.Client = &http.Client{Timeout: e.opts.Timeout}
	}
	if e.opts.MaxRequests == 0 {
		e.opts.MaxRequests = 10000
	}
	if e.opts.Logger == nil {
		e.opts.Logger = slog.New(slog.DiscardHandler)
	}
	return e
}

// Name returns "ec2".
func (e *EC2) Name() string { return "ec2" }

// Collect returns the cached tree, or crawls the service.
func (e *EC2) Collect(ctx context.Context) ([]Output, error) {
	if e.opts.Cache != nil {
		if v, ok := e.opts.Cache.Load("ec2"); ok && pyTruthy(v) {
			return []Output{{Name: "ec2", Content: v}}, nil
		}
	}
	budget := e.opts.MaxRequests
	v, err := e.fetch(ctx, e.url+"/", &budget)
	if err != nil {
		e.opts.Logger.Warn(err.Error())
		return nil, err
	}
	return []Output{{Name: "ec2", Content: v}}, nil
}

func (e *EC2) fetch(ctx context.Context, url string, budget *int) (any, error) {
	if *budget <= 0 {
		return nil, unavailable("ec2", "metadata tree has more than %d entries", e.opts.MaxRequests)
	}
	*budget--
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, unavailable("ec2", "%w", err)
	}
	resp, err := e.opts.Client.Do(req)
	if err != nil {
		return nil, unavailable("ec2", "%w", err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes+1))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, unavailable("ec2", "GET %s: %s", url, resp.Status)
	}
	if err != nil {
		return nil, unavailable("ec2", "GET %s: reading body: %w", url, err)
	}
	text := string(body)
	if !strings.HasSuffix(url, "/") {
		return text, nil
	}
	obj := config.NewObject()
	for _, sub := range strings.Split(text, "\n") {
		if sub == "" {
			continue
		}
		if i := strings.IndexByte(sub, '='); i >= 0 {
			sub = sub[:i] + "/"
		}
		child := url + sub
		key := strings.TrimSuffix(sub, "/")
		v, err := e.fetch(ctx, child, budget)
		if err != nil {
			return nil, err
		}
		obj.Set(key, v)
	}
	return obj, nil
}

// pyTruthy is Python's truth value of a JSON value.
func pyTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case config.Int:
		return x != "0"
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case *config.Object:
		return x.Len() > 0
	}
	return true
}
