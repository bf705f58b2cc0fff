package refresh

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"

	"github.com/tripleo-go/tripleo/config"
)

// DefaultHeatLocalPath is the heat_local collector's default file.
const DefaultHeatLocalPath = "/var/lib/heat-cfntools/cfn-init-data"

// HeatLocal is os-collect-config's "heat_local" collector: the JSON
// objects in the given files that exist, shallow-merged in order (a later
// file's top-level keys replace an earlier one's), as one output named
// "heat_local". Invalid files are skipped with a warning; when no file
// gives anything the source is unavailable. No deployment explosion.
type HeatLocal struct {
	paths []string
	log   *slog.Logger
}

// HeatLocalOptions configure a HeatLocal collector.
type HeatLocalOptions struct {
	// Logger receives the warnings. Nil discards.
	Logger *slog.Logger
}

// NewHeatLocal returns a heat_local collector over the files (nil: the
// default one).
func NewHeatLocal(paths []string, opts *HeatLocalOptions) *HeatLocal {
	if paths == nil {
		paths = []string{DefaultHeatLocalPath}
	}
	h := &HeatLocal{paths: slices.Clone(paths)}
	if opts != nil {
		h.log = opts.Logger
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// Name returns "heat_local".
func (h *HeatLocal) Name() string { return "heat_local" }

// Collect reads and merges the files.
func (h *HeatLocal) Collect(ctx context.Context) ([]Output, error) {
	merged := config.NewObject()
	found := false
	for _, p := range h.paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		v, err := config.DecodeJSON(b)
		if err != nil {
			h.log.Info(fmt.Sprintf("%s is not valid JSON: %v", p, err))
			continue
		}
		obj, ok := v.(*config.Object)
		if !ok {
			h.log.Info(fmt.Sprintf("%s does not hold a JSON object; skipped", p))
			continue
		}
		for _, k := range obj.Keys() {
			val, _ := obj.Get(k)
			merged.Set(k, val)
		}
		found = true
	}
	if !found {
		return nil, unavailable("heat_local", "no local metadata found in %s", pyListRepr(h.paths))
	}
	return []Output{{Name: "heat_local", Content: merged}}, nil
}
