package ironic_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tripleo-go/tripleo/drivers/ironic"
	"github.com/tripleo-go/tripleo/provision"
)

// scriptedIronic is a fake Ironic for unit tests of the poller: each read
// of the node returns the next of its states (the last one repeats).
type scriptedIronic struct {
	mu     sync.Mutex
	states []scripted
	reads  int
	locked int // PUTs answered 409 "locked" before one is accepted
	puts   int
}

type scripted struct{ state, target, lastError string }

func (s *scriptedIronic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/v1/drivers":
		w.Write([]byte(`{"drivers":[]}`))
	case r.URL.Path == "/v1/ports/detail":
		w.Write([]byte(`{"ports":[]}`))
	case r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/states/provision"):
		s.mu.Lock()
		s.puts++
		locked := s.puts <= s.locked
		s.mu.Unlock()
		if locked {
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"error_message": "{\"faultstring\": \"Node 1be26c0b-03f2-4d2e-ae87-c02d7f33c123 is locked by host localhost, please retry after the current operation is completed.\", \"faultcode\": \"Client\"}"}`))
			return
		}
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/nodes/"):
		s.mu.Lock()
		st := s.states[min(s.reads, len(s.states)-1)]
		s.reads++
		s.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{
			"uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c123", "name": "n0",
			"provision_state": st.state, "target_provision_state": nilIfEmpty(st.target),
			"last_error": nilIfEmpty(st.lastError), "power_state": "power off",
		})
	default:
		http.NotFound(w, r)
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// handlerTransport serves requests in-process, so that the whole exchange
// stays inside a synctest bubble.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r // gophercloud's pager reads it
	return resp, nil
}

func openScripted(t *testing.T, password string, states ...scripted) (*ironic.Provisioner, *scriptedIronic) {
	t.Helper()
	s := &scriptedIronic{states: states}
	p, err := ironic.OpenHTTPBasic(t.Context(), "http://ironic.invalid/v1", provision.NewCredentials("admin", password), &ironic.Options{
		HTTPClient: &http.Client{Transport: handlerTransport{s}}, OperationTimeout: 10 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, s
}

func TestWaitStopsOnFailedState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const pw = "api-secret-pw"
		p, s := openScripted(t, pw,
			scripted{"deploying", "active", ""}, scripted{"wait call-back", "active", ""},
			scripted{"deploy failed", "active", "Timeout reached while waiting for callback (user admin:" + pw + ")"})
		n, err := p.Provide(t.Context(), "n0") // the poller is the same for every transition
		var se *ironic.StateError
		if !errors.As(err, &se) || se.State != provision.StateDeployFailed {
			t.Fatalf("err = %v, want a *StateError in deploy failed", err)
		}
		if strings.Contains(err.Error(), pw) || strings.Contains(n.LastError, pw) || !strings.Contains(n.LastError, "Timeout reached") {
			t.Fatalf("error %q / last error %q: want the cause without the password", err, n.LastError)
		}
		if s.reads != 3 {
			t.Errorf("%d reads, want 3 (stop at the failed state)", s.reads)
		}
	})
}

func TestWaitStopsOnLastErrorInStableState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, _ := openScripted(t, "pw-123456", scripted{"verifying", "manageable", ""}, scripted{"enroll", "", "Failed to get power state: authentication failed"})
		n, err := p.Manage(t.Context(), "n0")
		var se *ironic.StateError
		if !errors.As(err, &se) || se.State != provision.StateEnroll || n.ProvisionState != provision.StateEnroll || n.LastError == "" {
			t.Fatalf("err = %v, node %+v: want a *StateError in enroll with last_error", err, n)
		}
	})
}

func TestWaitTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, s := openScripted(t, "pw-123456", scripted{"cleaning", "available", ""})
		start := time.Now()
		_, err := p.Provide(t.Context(), "n0")
		if !errors.Is(err, ironic.ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d < 10*time.Minute || d > 11*time.Minute {
			t.Errorf("gave up after %s, want OperationTimeout (10m)", d)
		}
		// backoff: 250ms doubling to 5s over 10 minutes is about 125 reads.
		if s.reads > 200 {
			t.Errorf("%d reads in 10 minutes: no backoff", s.reads)
		}
	})
}

func TestWaitSucceedsThroughIntermediateStates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen []string
		s := &scriptedIronic{states: []scripted{{"cleaning", "available", ""}, {"clean wait", "available", ""}, {"available", "", ""}}}
		p, err := ironic.OpenNoAuth(t.Context(), "http://ironic.invalid/v1", &ironic.Options{
			HTTPClient:   &http.Client{Transport: handlerTransport{s}},
			OnTransition: func(_ string, from, to provision.ProvisionState) { seen = append(seen, from.String()+">"+to.String()) },
		})
		if err != nil {
			t.Fatal(err)
		}
		n, err := p.Provide(t.Context(), "n0")
		if err != nil || n.ProvisionState != provision.StateAvailable {
			t.Fatalf("Provide = %+v, %v", n, err)
		}
		if strings.Join(seen, " ") != "cleaning>cleaning cleaning>available" {
			t.Errorf("transitions %v", seen)
		}
	})
}
