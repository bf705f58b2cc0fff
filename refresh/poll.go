package refresh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tripleo-go/tripleo/config"
)

// PollOptions configure Poll. Collectors and Cache are required.
type PollOptions struct {
	// Collectors are run in order every round.
	Collectors []Collector
	// Cache stores what they return.
	Cache *Cache
	// Run is called after a round in which something changed (every round
	// with Force). When it returns nil the changed outputs are committed
	// (.last); otherwise nothing is, so the change is seen, and Run called,
	// again next round. Nil runs nothing and commits.
	Run func(ctx context.Context, r *Round) error
	// OneTime stops after the first round; Poll then returns Run's error.
	OneTime bool
	// Force calls Run even when nothing changed, and implies OneTime.
	Force bool
	// MinInterval is the sleep after a round that brought new content
	// (zero: 1s); the sleep then doubles every round up to MaxInterval
	// (zero: 30s). This is os-collect-config's documented intent; the
	// original never returns to the minimum after a change.
	MinInterval, MaxInterval time.Duration
	// Splay, when positive and not OneTime, delays the first round by a
	// random duration in [0, Splay), so that nodes started together do not
	// poll in lockstep.
	Splay time.Duration
	// Rand is the splay's randomness (nil: a random source).
	Rand *rand.Rand
	// Logger receives progress. Nil discards.
	Logger *slog.Logger
	// OnRound, when set, is called after each round with its result and
	// Run's error (nil when Run was not called or succeeded).
	OnRound func(r *Round, runErr error)
	// Stop, when closed, ends Poll gracefully: a running Run finishes (and
	// is committed), then Poll returns ErrStopped. Cancelling ctx instead
	// interrupts Run.
	Stop <-chan struct{}
}

// ErrStopped is returned by Poll (and Agent.Run) after PollOptions.Stop
// was closed.
var ErrStopped = errors.New("refresh: stopped")

// Poll is os-collect-config's main loop: collect; when something changed
// (or Force), call Run and commit on success; sleep with backoff, or less
// when a Watcher collector reports a change; repeat until ctx ends (then
// it returns ctx's cause) or, with OneTime, after one round.
//
// A change that arrives while Run runs is never lost: content is compared
// with what was last applied successfully, and a Watcher's notification
// during Run ends the next sleep at once. Run is never called
// concurrently.
func Poll(ctx context.Context, opts *PollOptions) error {
	if opts == nil || opts.Cache == nil {
		return errors.New("refresh.Poll: Cache is required")
	}
	o := *opts
	if o.MinInterval <= 0 {
		o.MinInterval = time.Second
	}
	if o.MaxInterval <= 0 {
		o.MaxInterval = 30 * time.Second
	}
	o.MaxInterval = max(o.MaxInterval, o.MinInterval)
	if o.Force {
		o.OneTime = true
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Splay > 0 && !o.OneTime {
		rnd := o.Rand
		if rnd == nil {
			rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		}
		d := time.Duration(rnd.Int64N(int64(o.Splay)))
		log.Info(fmt.Sprintf("Splay: sleeping %.2f seconds.", d.Seconds()))
		if err := sleepStop(ctx, d, nil, o.Stop); err != nil {
			return err
		}
	}

	wake := make(chan struct{}, 1)
	wctx, stopWatchers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopWatchers()
	if !o.OneTime {
		for _, c := range o.Collectors {
			if w, ok := c.(Watcher); ok {
				wg.Go(func() { watch(wctx, w, wake, o.MinInterval, o.MaxInterval, log) })
			}
		}
	}

	interval := o.MinInterval
	var prev []byte
	for {
		round, err := CollectOnce(ctx, o.Collectors, o.Cache, log)
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			if o.OneTime {
				return err
			}
			log.Error("collection failed", "err", err)
			round = &Round{}
		}
		var runErr error
		if len(round.Changed) > 0 || o.Force {
			if o.Run != nil {
				runErr = o.Run(ctx, round)
			}
			if runErr != nil {
				log.Error(fmt.Sprintf("Command failed, will not cache new data. %v", runErr))
			} else if err := round.Commit(o.Cache); err != nil {
				log.Error("commit failed", "err", err)
				runErr = err
			}
		} else {
			log.Debug("No changes detected.")
		}
		if o.OnRound != nil {
			o.OnRound(round, runErr)
		}
		if o.OneTime {
			return runErr
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if stopped(o.Stop) {
			return ErrStopped
		}
		// Back to the minimum interval when the content is new, not when
		// the same uncommitted change is retried after a failure.
		fp := fingerprint(round)
		if !bytes.Equal(fp, prev) && len(round.Changed) > 0 {
			interval = o.MinInterval
		}
		prev = fp
		log.Info(fmt.Sprintf("Sleeping %.2f seconds.", interval.Seconds()))
		if err := sleepStop(ctx, interval, wake, o.Stop); err != nil {
			return err
		}
		interval = min(interval*2, o.MaxInterval)
	}
}

// fingerprint encodes a round's outputs, to tell new content from a retry.
func fingerprint(r *Round) []byte {
	var b []byte
	for _, o := range r.Outputs {
		b = append(b, o.Name...)
		b = append(b, 0)
		b = config.AppendJSON(b, o.Content)
		b = append(b, 0)
	}
	return b
}

// sleep waits d, or until wake fires or ctx ends (then it returns ctx's
// cause).
func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) error {
	return sleepStop(ctx, d, wake, nil)
}

// sleepStop is sleep that also ends, with ErrStopped, when stop closes.
func sleepStop(ctx context.Context, d time.Duration, wake, stop <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-stop:
		return ErrStopped
	case <-t.C:
	case <-wake:
	}
	return nil
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// watch runs w.Wait in a loop and signals wake after each change. Errors
// are retried with backoff from lo to hi.
func watch(ctx context.Context, w Watcher, wake chan<- struct{}, lo, hi time.Duration, log *slog.Logger) {
	backoff := lo
	for ctx.Err() == nil {
		err := w.Wait(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if errors.Is(err, ErrNotConfigured) {
				return
			}
			log.Debug(fmt.Sprintf("watch on [%s] failed; retrying in %s", w.Name(), backoff), "err", err)
			if sleep(ctx, backoff, nil) != nil {
				return
			}
			backoff = min(backoff*2, hi)
			continue
		}
		backoff = lo
		// Block until the loop has taken the previous notification, so a
		// Watcher that keeps answering at once cannot spin.
		select {
		case wake <- struct{}{}:
		case <-ctx.Done():
			return
		}
	}
}
