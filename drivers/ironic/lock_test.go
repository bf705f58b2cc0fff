package ironic_test

import (
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tripleo-go/tripleo/drivers/ironic"
	"github.com/tripleo-go/tripleo/provision"
)

// TestLockedNodeRetried: Ironic's conductor keeps a node locked for a
// moment after an operation settles; a request it answers with 409
// "locked" is sent again until the lock is gone, and fails with
// provision.ErrLocked once LockRetryTimeout has passed.
func TestLockedNodeRetried(t *testing.T) {
	for _, tc := range []struct {
		name      string
		locked    int
		timeout   time.Duration
		wantPuts  int
		wantError error
	}{
		{"released", 3, 0, 4, nil},
		{"held", 1000, 5 * time.Second, 0, provision.ErrLocked},
		{"no retry", 3, -1, 1, provision.ErrLocked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &scriptedIronic{states: []scripted{{"available", "", ""}}, locked: tc.locked}
				p, err := ironic.OpenNoAuth(t.Context(), "http://ironic.invalid/v1", &ironic.Options{
					HTTPClient: &http.Client{Transport: handlerTransport{s}}, LockRetryTimeout: tc.timeout,
				})
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				n, err := p.Provide(t.Context(), "n0")
				if !errors.Is(err, tc.wantError) || tc.wantError == nil && err != nil {
					t.Fatalf("provide: %v, want %v", err, tc.wantError)
				}
				if err == nil && n.ProvisionState != provision.StateAvailable {
					t.Errorf("state %v", n.ProvisionState)
				}
				if tc.wantPuts > 0 && s.puts != tc.wantPuts {
					t.Errorf("%d requests, want %d", s.puts, tc.wantPuts)
				}
				if tc.timeout > 0 && time.Since(start) > tc.timeout+time.Second {
					t.Errorf("gave up after %v, LockRetryTimeout %v", time.Since(start), tc.timeout)
				}
			})
		})
	}
}
