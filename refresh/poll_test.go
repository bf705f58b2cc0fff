package refresh_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/refresh"
)

// fakeSource is an in-memory collector; with watch set it is a Watcher.
type fakeSource struct {
	mu      sync.Mutex
	content any
	version int
	seen    int // version last returned by Collect or reported by Wait
	changed chan struct{}
}

func newFakeSource(content any) *fakeSource {
	return &fakeSource{content: content, changed: make(chan struct{})}
}

func (f *fakeSource) set(content any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.content = content
	f.version++
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeSource) Name() string { return "fake" }

func (f *fakeSource) Collect(ctx context.Context) ([]refresh.Output, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = f.version
	return []refresh.Output{{Name: "fake", Content: f.content}}, nil
}

// watchingSource adds Wait.
type watchingSource struct{ *fakeSource }

func (w watchingSource) Wait(ctx context.Context) error {
	for {
		w.mu.Lock()
		if w.version != w.seen {
			w.seen = w.version
			w.mu.Unlock()
			return nil
		}
		ch := w.changed
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

func obj(t testing.TB, s string) any { return mustJSON(t, s) }

// pollRecorder runs Poll in the bubble and records the offset of every
// round from the start.
type pollRecorder struct {
	mu     sync.Mutex
	start  time.Time
	rounds []time.Duration
	runs   []time.Duration
}

func (p *pollRecorder) onRound(*refresh.Round, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rounds = append(p.rounds, time.Since(p.start))
}

func (p *pollRecorder) snapshot() ([]time.Duration, []time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.rounds...), append([]time.Duration(nil), p.runs...)
}

func secs(d ...float64) []time.Duration {
	out := make([]time.Duration, len(d))
	for i, s := range d {
		out[i] = time.Duration(s * float64(time.Second))
	}
	return out
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) < len(b) {
		return false
	}
	for i := range b {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// startPoll runs Poll until the test cancels it; it returns the recorder
// and a stop function that waits for Poll to return.
func startPoll(t *testing.T, opts refresh.PollOptions) (*pollRecorder, func() error) {
	rec := &pollRecorder{start: time.Now()}
	if opts.Cache == nil {
		opts.Cache = refresh.NewCache(t.TempDir(), &refresh.CacheOptions{NoSync: true})
	}
	userRun := opts.Run
	opts.Run = func(ctx context.Context, r *refresh.Round) error {
		rec.mu.Lock()
		rec.runs = append(rec.runs, time.Since(rec.start))
		rec.mu.Unlock()
		if userRun != nil {
			return userRun(ctx, r)
		}
		return nil
	}
	opts.OnRound = rec.onRound
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- refresh.Poll(ctx, &opts) }()
	return rec, func() error { cancel(); return <-done }
}

// The sleep doubles from the minimum to the maximum interval while nothing
// changes: 1, 2, 4, 8, 16, 30, 30 seconds.
func TestPollBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(obj(t, `{"a": 1}`))
		rec, stop := startPoll(t, refresh.PollOptions{Collectors: []refresh.Collector{src}})
		time.Sleep(200 * time.Second)
		synctest.Wait()
		if err := stop(); !errors.Is(err, context.Canceled) {
			t.Errorf("Poll returned %v, want context.Canceled", err)
		}
		rounds, runs := rec.snapshot()
		if want := secs(0, 1, 3, 7, 15, 31, 61, 91, 121); !equalDurations(rounds, want) {
			t.Errorf("rounds at %v, want %v", rounds, want)
		}
		if want := secs(0); len(runs) != 1 || runs[0] != want[0] {
			t.Errorf("Run called at %v, want only at 0 (nothing changed after)", runs)
		}
	})
}

// After a round that brings new content the interval returns to the
// minimum (the original never resets).
func TestPollBackoffResetsAfterChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(obj(t, `{"a": 1}`))
		rec, stop := startPoll(t, refresh.PollOptions{Collectors: []refresh.Collector{src}})
		time.Sleep(62 * time.Second) // rounds at 0 1 3 7 15 31 61
		src.set(obj(t, `{"a": 2}`))
		time.Sleep(100 * time.Second)
		synctest.Wait()
		stop()
		rounds, runs := rec.snapshot()
		// The change is seen at 91, then the sleeps restart at 1 s.
		if want := secs(0, 1, 3, 7, 15, 31, 61, 91, 92, 94, 98, 106, 122, 152); !equalDurations(rounds, want) {
			t.Errorf("rounds at %v, want %v", rounds, want)
		}
		if want := secs(0, 91); len(runs) != 2 || !equalDurations(runs, want) {
			t.Errorf("Run called at %v, want %v", runs, want)
		}
	})
}

// A failing Run is retried every round, the change is never committed,
// and the retries back off (they are not new content).
func TestPollFailedRunRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(obj(t, `{"a": 1}`))
		cache := refresh.NewCache(t.TempDir(), &refresh.CacheOptions{NoSync: true})
		rec, stop := startPoll(t, refresh.PollOptions{
			Collectors: []refresh.Collector{src},
			Cache:      cache,
			Run:        func(context.Context, *refresh.Round) error { return errors.New("phase failed") },
		})
		time.Sleep(40 * time.Second)
		synctest.Wait()
		stop()
		_, runs := rec.snapshot()
		if want := secs(0, 1, 3, 7, 15, 31); !equalDurations(runs, want) {
			t.Errorf("Run called at %v, want %v", runs, want)
		}
		if _, err := os.Stat(cache.Path("fake") + ".last"); err == nil {
			t.Error(".last written although Run failed")
		}
	})
}

// The first round is delayed by a random splay in [0, Splay).
func TestPollSplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(obj(t, `{"a": 1}`))
		want := time.Duration(rand.New(rand.NewPCG(7, 7)).Int64N(int64(10 * time.Second)))
		rec, stop := startPoll(t, refresh.PollOptions{
			Collectors: []refresh.Collector{src},
			Splay:      10 * time.Second,
			Rand:       rand.New(rand.NewPCG(7, 7)),
		})
		time.Sleep(11 * time.Second)
		synctest.Wait()
		stop()
		rounds, _ := rec.snapshot()
		if len(rounds) == 0 || rounds[0] != want {
			t.Errorf("first round at %v, want %v", rounds, want)
		}
	})
}

// A Watcher's change ends the sleep at once, even deep in the backoff.
func TestPollWatcherWakesImmediately(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := watchingSource{newFakeSource(obj(t, `{"a": 1}`))}
		rec, stop := startPoll(t, refresh.PollOptions{Collectors: []refresh.Collector{src}})
		time.Sleep(100 * time.Second) // backoff now at 30 s; rounds at 0 1 3 7 15 31 61 91
		src.set(obj(t, `{"a": 2}`))
		synctest.Wait()
		stop()
		_, runs := rec.snapshot()
		if want := secs(0, 100); !equalDurations(runs, want) || len(runs) != 2 {
			t.Errorf("Run called at %v, want %v (the change seen with no delay)", runs, want)
		}
	})
}

// A change arriving while Run runs is applied right after it; Run is never
// called concurrently.
func TestPollChangeDuringRunIsNotLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := watchingSource{newFakeSource(obj(t, `{"v": 1}`))}
		var running, overlaps atomic.Int32
		var applied []string
		var mu sync.Mutex
		release := make(chan struct{})
		first := true
		rec, stop := startPoll(t, refresh.PollOptions{
			Collectors: []refresh.Collector{src},
			Run: func(ctx context.Context, r *refresh.Round) error {
				if running.Add(1) > 1 {
					overlaps.Add(1)
				}
				defer running.Add(-1)
				mu.Lock()
				applied = append(applied, string(config.AppendJSON(nil, r.Outputs[0].Content)))
				wait := first
				first = false
				mu.Unlock()
				if wait {
					<-release // a long first run
				}
				return nil
			},
		})
		synctest.Wait()
		src.set(obj(t, `{"v": 2}`)) // arrives during the first run
		time.Sleep(5 * time.Second)
		close(release)
		synctest.Wait()
		stop()
		_, runs := rec.snapshot()
		mu.Lock()
		defer mu.Unlock()
		if len(applied) != 2 || applied[1] != `{"v": 2}` {
			t.Errorf("applied %q, want the change applied after the first run", applied)
		}
		if want := secs(0, 5); !equalDurations(runs, want) {
			t.Errorf("Run called at %v, want %v", runs, want)
		}
		if overlaps.Load() != 0 {
			t.Error("Run was called concurrently")
		}
	})
}

// OneTime returns Run's error; Force runs Run with no change.
func TestPollOneTimeAndForce(t *testing.T) {
	src := newFakeSource(obj(t, `{"a": 1}`))
	cache := refresh.NewCache(t.TempDir(), &refresh.CacheOptions{NoSync: true})
	boom := errors.New("boom")
	err := refresh.Poll(t.Context(), &refresh.PollOptions{Collectors: []refresh.Collector{src}, Cache: cache, OneTime: true,
		Run: func(context.Context, *refresh.Round) error { return boom }})
	if !errors.Is(err, boom) {
		t.Fatalf("OneTime: %v", err)
	}
	calls := 0
	run := func(context.Context, *refresh.Round) error { calls++; return nil }
	if err := refresh.Poll(t.Context(), &refresh.PollOptions{Collectors: []refresh.Collector{src}, Cache: cache, OneTime: true, Run: run}); err != nil || calls != 1 {
		t.Fatalf("retry: %v, calls %d", err, calls)
	}
	if err := refresh.Poll(t.Context(), &refresh.PollOptions{Collectors: []refresh.Collector{src}, Cache: cache, OneTime: true, Run: run}); err != nil || calls != 1 {
		t.Fatalf("unchanged: %v, calls %d", err, calls)
	}
	if err := refresh.Poll(t.Context(), &refresh.PollOptions{Collectors: []refresh.Collector{src}, Cache: cache, Force: true, Run: run}); err != nil || calls != 2 {
		t.Fatalf("force: %v, calls %d", err, calls)
	}
}

// Stop lets a running Run finish and be committed, then Poll returns.
func TestPollStopIsGraceful(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(obj(t, `{"a": 1}`))
		cache := refresh.NewCache(t.TempDir(), &refresh.CacheOptions{NoSync: true})
		stop := make(chan struct{})
		inRun := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- refresh.Poll(t.Context(), &refresh.PollOptions{
				Collectors: []refresh.Collector{src}, Cache: cache, Stop: stop,
				Run: func(ctx context.Context, _ *refresh.Round) error {
					close(inRun)
					time.Sleep(10 * time.Second)
					return ctx.Err()
				},
			})
		}()
		<-inRun
		close(stop)
		if err := <-done; !errors.Is(err, refresh.ErrStopped) {
			t.Fatalf("Poll: %v, want ErrStopped", err)
		}
		if _, err := os.Stat(cache.Path("fake") + ".last"); err != nil {
			t.Errorf("the run in progress was not committed: %v", err)
		}
	})
}
