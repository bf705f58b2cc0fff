package refresh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/tripleo-go/tripleo/config"
)

// Output is one named piece of collected metadata. Its Name becomes the
// cache file name (Name + ".json"), and Content is a JSON value as package
// config decodes it (*config.Object for an object).
type Output struct {
	Name    string
	Content any
}

// Collector fetches metadata from one source, as an os-collect-config
// collector does. Collect returns the outputs in order: for the network
// sources the collector's own output (named after it, holding the whole
// metadata) first, then one per exploded deployment.
//
// A source that is not set up returns an error matching ErrNotConfigured
// and is skipped quietly; any other error (network, HTTP status, bad JSON)
// should match ErrUnavailable: the round goes on without that source and
// its last good data stays in the cache. Collect must be safe to call
// again after an error. Conformance: refresh/collectortest.
type Collector interface {
	// Name is the collector's name ("local", "request", "ec2", "watch").
	Name() string
	// Collect fetches the current metadata.
	Collect(ctx context.Context) ([]Output, error)
}

// Watcher is an optional interface of a Collector whose source can tell
// when it changes. Wait blocks until the source may have changed since the
// last Collect or Wait (nil), or ctx ends; it returns other errors when the source cannot be reached (the
// caller retries later). After Wait returns nil, Collect returns the new
// content.
type Watcher interface {
	Collector
	Wait(ctx context.Context) error
}

// Sentinel errors of collectors.
var (
	// ErrNotConfigured: the collector lacks its settings (no URL...).
	ErrNotConfigured = errors.New("source not configured")
	// ErrUnavailable: the source could not give valid metadata this time.
	ErrUnavailable = errors.New("source unavailable")
)

// SourceError is a collector's failure: which collector and why. It
// matches ErrUnavailable unless Err says otherwise.
type SourceError struct {
	Collector string
	Err       error
}

// Error names the collector and the cause.
func (e *SourceError) Error() string { return "collector " + e.Collector + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *SourceError) Unwrap() error { return e.Err }

// Is makes a SourceError match ErrUnavailable unless it is ErrNotConfigured.
func (e *SourceError) Is(target error) bool {
	return target == ErrUnavailable && !errors.Is(e.Err, ErrNotConfigured)
}

func unavailable(name string, format string, args ...any) error {
	return &SourceError{Collector: name, Err: fmt.Errorf(format, args...)}
}

// DefaultDeploymentKeys are the metadata keys exploded by default.
var DefaultDeploymentKeys = []string{"deployments"}

// Explode returns the outputs os-collect-config makes from one source's
// metadata: (name, content) first, then, for each deployment key found at
// the root of content holding a list, one output (deployment name,
// deployment config) per deployment of group "os-apply-config" or
// "Heat::Ungrouped" (the default group). Deployments without a name are
// skipped with the original's warning. Unlike the original, a deployment
// without a config, or whose name is not a string or integer or would not
// be a plain file name ("", ".", "..", a "/" or NUL in it), is skipped
// with a warning instead of crashing or escaping the cache directory.
func Explode(name string, content any, keys []string, logger *slog.Logger) []Output {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if keys == nil {
		keys = DefaultDeploymentKeys
	}
	out := []Output{{Name: name, Content: content}}
	obj, ok := content.(*config.Object)
	if !ok {
		return out
	}
	for _, key := range keys {
		v, ok := obj.Get(key)
		if !ok {
			continue
		}
		deps, ok := v.([]any)
		if !ok {
			logger.Warn(fmt.Sprintf("Deployment-key %s was found but does not contain a list.", key))
			continue
		}
		logger.Debug("Deployment found for " + key)
		for _, d := range deps {
			dep, ok := d.(*config.Object)
			if !ok {
				logger.Warn(fmt.Sprintf("No name found for a deployment under %s.", key))
				continue
			}
			nv, ok := dep.Get("name")
			if !ok {
				logger.Warn(fmt.Sprintf("No name found for a deployment under %s.", key))
				continue
			}
			group := any("Heat::Ungrouped")
			if g, ok := dep.Get("group"); ok {
				group = g
			}
			if group != "os-apply-config" && group != "Heat::Ungrouped" {
				continue
			}
			var dn string
			switch n := nv.(type) {
			case string:
				dn = n
			case config.Int:
				dn = string(n)
			default:
				logger.Warn(fmt.Sprintf("Deployment name %s under %s is not a string; skipped.", config.PyStr(nv), key))
				continue
			}
			if !safeName(dn) {
				logger.Warn(fmt.Sprintf("Deployment name %q under %s is not a plain file name; skipped.", dn, key))
				continue
			}
			cfg, ok := dep.Get("config")
			if !ok {
				logger.Warn(fmt.Sprintf("Deployment %s under %s has no config; skipped.", dn, key))
				continue
			}
			out = append(out, Output{Name: dn, Content: cfg})
		}
	}
	return out
}

// safeName reports whether name can be used as a cache file name.
func safeName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}
