package ironic_test

import (
	"errors"
	"net/http"
	"sync"
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

// deleteIronic answers DELETE /v1/nodes/n0 with Ironic's 400
// NodeNotLocked, having deleted the node (deleted) or not, and counts the
// DELETEs; a second DELETE deletes.
type deleteIronic struct {
	mu      sync.Mutex
	deleted bool
	dels    int
	gone    bool // the node is gone
}

func (s *deleteIronic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/v1/drivers":
		w.Write([]byte(`{"drivers":[]}`))
	case r.Method == http.MethodDelete && r.URL.Path == "/v1/nodes/n0" && !s.gone:
		s.dels++
		if s.dels == 1 {
			s.gone = s.deleted
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error_message": "{\"faultstring\": \"Node d85733d1-cad8-4ecc-b71d-0dd2d24a7bce found not to be locked on release\", \"faultcode\": \"Client\"}"}`))
			return
		}
		s.gone = true
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/nodes/n0" && !s.gone:
		w.Write([]byte(`{"uuid": "d85733d1-cad8-4ecc-b71d-0dd2d24a7bce", "name": "n0", "provision_state": "manageable"}`))
	default:
		http.NotFound(w, r)
	}
}

// TestDeleteNotLockedOnRelease: under load Ironic's conductor can delete
// a node and then answer 400 "found not to be locked on release" (seen
// in CI); Delete asks whether the node is gone, and deletes it again if
// it is not.
func TestDeleteNotLockedOnRelease(t *testing.T) {
	for _, deleted := range []bool{true, false} {
		s := &deleteIronic{deleted: deleted}
		p, err := ironic.OpenNoAuth(t.Context(), "http://ironic.invalid/v1", &ironic.Options{
			HTTPClient: &http.Client{Transport: handlerTransport{s}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Delete(t.Context(), "n0"); err != nil {
			t.Fatalf("deleted=%v: %v", deleted, err)
		}
		want := 1
		if !deleted {
			want = 2
		}
		if !s.gone || s.dels != want {
			t.Errorf("deleted=%v: gone %v after %d DELETEs, want %d", deleted, s.gone, s.dels, want)
		}
	}
}
