package powertest_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/provision"
	"github.com/tripleo-go/tripleo/provision/powertest"
)

// memBMC is the smallest conforming driver: state in memory, no network.
type memBMC struct {
	mu      sync.Mutex
	state   provision.PowerState
	creds   provision.Credentials
	want    provision.Credentials
	closed  bool
	offline bool
}

func (m *memBMC) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.closed {
		return provision.ErrClosed
	}
	if m.offline {
		<-ctx.Done()
		return fmt.Errorf("mem: %w", provision.ErrUnreachable)
	}
	if m.creds != m.want {
		return fmt.Errorf("mem: user %s: %w", m.creds.Username(), provision.ErrAuth)
	}
	return nil
}

func (m *memBMC) PowerState(ctx context.Context) (provision.PowerState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return provision.PowerUnknown, err
	}
	return m.state, nil
}

func (m *memBMC) SetPower(ctx context.Context, a provision.PowerAction) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return err
	}
	if !a.Valid() {
		return fmt.Errorf("mem: action %d: %w", int(a), provision.ErrUnsupported)
	}
	m.state = a.Target()
	return nil
}

func (m *memBMC) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

func TestSuiteOnReferenceDriver(t *testing.T) {
	good := provision.NewCredentials("admin", "reference-pw")
	var mu sync.Mutex
	state := provision.PowerOff
	powertest.RunConformanceTests(t, powertest.Config{
		Credentials: good,
		Open: func(ctx context.Context, c provision.Credentials, _ *slog.Logger) (provision.PowerDriver, error) {
			mu.Lock()
			defer mu.Unlock()
			return &memBMC{state: state, creds: c, want: good}, nil
		},
		OpenUnreachable: func(ctx context.Context, c provision.Credentials, _ *slog.Logger) (provision.PowerDriver, error) {
			return &memBMC{creds: c, want: good, offline: true}, nil
		},
		BMC:                provision.BMCOptions{PollInterval: 1},
		UnreachableTimeout: 100 * time.Millisecond,
	})
}

func ExampleConfig() {
	c := powertest.Config{Credentials: provision.NewCredentials("admin", "secret-pw")}
	// In a driver's test: powertest.RunConformanceTests(t, c) with c.Open set.
	fmt.Println(c.Credentials)
	// Output: [REDACTED]
}
