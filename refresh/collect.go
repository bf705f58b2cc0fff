package refresh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tripleo-go/tripleo/config"
)

// Round is the result of one collection round.
type Round struct {
	// Outputs are every output collected, in collector order.
	Outputs []Output
	// Paths are the cache paths of Outputs (what OS_CONFIG_FILES lists).
	Paths []string
	// Changed are the names whose content differs from what was last
	// applied successfully (or that were never applied).
	Changed []string
	// Unavailable names the collectors that failed this round; their last
	// good data stays in the cache but is not in Paths, as in the original.
	Unavailable []string
}

// CollectOnce runs one os-collect-config round: every collector in order
// (a not-configured one is skipped quietly, a failing one with the
// warning "Source [name] Unavailable."), every output stored in the cache
// with change detection, and, when something changed, os_config_files.json
// rewritten and the backup refreshed. Nothing is committed: call Commit
// after the new data has been applied. An error is returned only when the
// cache cannot be written, or ctx ends.
func CollectOnce(ctx context.Context, collectors []Collector, cache *Cache, logger *slog.Logger) (*Round, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Round{}
	var names []string
	err := eachSource(ctx, collectors, logger, func(c Collector, outs []Output, err error) error {
		if err != nil {
			r.Unavailable = append(r.Unavailable, c.Name())
			return nil
		}
		for _, o := range outs {
			changed, path, err := cache.Store(o.Name, o.Content)
			if err != nil {
				return fmt.Errorf("collector %s: %w", c.Name(), err)
			}
			names = append(names, o.Name)
			r.Outputs = append(r.Outputs, o)
			r.Paths = append(r.Paths, path)
			if changed {
				r.Changed = append(r.Changed, o.Name)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(r.Changed) > 0 {
		if err := cache.StoreList(names); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Commit records the round's changed outputs as applied (.last).
func (r *Round) Commit(cache *Cache) error {
	for _, name := range r.Changed {
		if err := cache.Commit(name); err != nil {
			return err
		}
	}
	return nil
}

// Merged returns the round's outputs as the {name: content} object that
// os-collect-config --print shows (a later output of the same name
// replaces an earlier one's content).
func (r *Round) Merged() *config.Object {
	return mergedOutputs(r.Outputs)
}

func mergedOutputs(outs []Output) *config.Object {
	obj := config.NewObject()
	for _, o := range outs {
		obj.Set(o.Name, o.Content)
	}
	return obj
}

// CollectPrint runs the collectors without a cache and returns their
// outputs merged as os-collect-config --print does.
func CollectPrint(ctx context.Context, collectors []Collector, logger *slog.Logger) (*config.Object, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var all []Output
	err := eachSource(ctx, collectors, logger, func(_ Collector, outs []Output, err error) error {
		all = append(all, outs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return mergedOutputs(all), nil
}

// eachSource runs the collectors in order and hands each result to fn:
// not-configured collectors are skipped with a debug line, failing ones
// logged as the original does ("Source [x] Unavailable.") and passed with
// their error. It stops at fn's first error or when ctx ends.
func eachSource(ctx context.Context, collectors []Collector, logger *slog.Logger, fn func(Collector, []Output, error) error) error {
	for _, c := range collectors {
		outs, err := c.Collect(ctx)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if errors.Is(err, ErrNotConfigured) {
			logger.Debug(fmt.Sprintf("Source [%s] Not configured.", c.Name()))
			continue
		}
		if err != nil {
			logger.Warn(fmt.Sprintf("Source [%s] Unavailable.", c.Name()), "err", err)
			outs = nil
		}
		if err := fn(c, outs, err); err != nil {
			return err
		}
	}
	return nil
}
