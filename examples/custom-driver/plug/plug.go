package plug

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/tripleo-go/tripleo/provision"
)

func init() {
	provision.Register("plug", Open)
}

// Open is the provision.OpenFunc of the plug:// scheme.
func Open(_ context.Context, a provision.BMCAddress, creds provision.Credentials, o provision.DriverOptions) (provision.PowerDriver, error) {
	if a.Host != "localhost" || a.Path == "" {
		return nil, fmt.Errorf("plug: %s: %w: want plug://localhost/path/to/state.json", a, provision.ErrInvalidAddress)
	}
	return &Driver{path: a.Path, creds: creds}, nil
}

// Driver switches one plug.
type Driver struct {
	path  string
	creds provision.Credentials

	mu     sync.Mutex
	closed bool
}

type state struct {
	Password string `json:"password"`
	On       bool   `json:"on"`
}

// load reads the state and checks the password, under d.mu.
func (d *Driver) load(ctx context.Context) (*state, error) {
	if d.closed {
		return nil, fmt.Errorf("plug %s: %w", d.path, provision.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(d.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("plug %s: %w: no such device", d.path, provision.ErrUnreachable)
	}
	if err != nil {
		return nil, fmt.Errorf("plug %s: %w", d.path, err)
	}
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("plug %s: %w", d.path, err)
	}
	if s.Password != d.creds.Password() {
		return nil, fmt.Errorf("plug %s: %w", d.path, provision.ErrAuth)
	}
	return &s, nil
}

// PowerState implements provision.PowerDriver.
func (d *Driver) PowerState(ctx context.Context) (provision.PowerState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, err := d.load(ctx)
	if err != nil {
		return provision.PowerUnknown, err
	}
	if s.On {
		return provision.PowerOn, nil
	}
	return provision.PowerOff, nil
}

// SetPower implements provision.PowerDriver. A plug has no reset: cycle
// and reset both end with the plug on.
func (d *Driver) SetPower(ctx context.Context, a provision.PowerAction) error {
	if !a.Valid() {
		return fmt.Errorf("plug %s: power action %d: %w", d.path, int(a), provision.ErrUnsupported)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s, err := d.load(ctx)
	if err != nil {
		return err
	}
	s.On = a.Target() == provision.PowerOn
	data, _ := json.Marshal(s)
	return os.WriteFile(d.path, data, 0o600)
}

// Close implements provision.PowerDriver.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// Create writes a new plug state file, off, with the given password.
func Create(path, password string) error {
	data, _ := json.Marshal(state{Password: password})
	return os.WriteFile(path, data, 0o600)
}
