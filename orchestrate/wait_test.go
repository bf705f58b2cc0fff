package orchestrate

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

const waitTemplate = `heat_template_version: 2016-10-14
resources:
  handle: {type: OS::Heat::WaitConditionHandle}
  wait:
    type: OS::Heat::WaitCondition
    properties:
      handle: {get_resource: handle}
      count: 2
      timeout: 600
  after:
    type: OS::Heat::TestResource
    properties: {value: {get_attr: [wait, data]}}
outputs:
  curl: {value: {get_attr: [handle, curl_cli]}}
  data: {value: {get_attr: [wait, data]}}
`

func TestWaitConditionOverHTTP(t *testing.T) {
	h := newHarness(t)
	srv := httptest.NewUnstartedServer(nil)
	signalURL := "http://" + srv.Listener.Addr().String() + "/signal"
	tokens := make(chan string, 1)
	var e *Embedded
	e, err := Open(t.Context(), filepath.Join(h.dir, "w.state"), &Options{Types: h.types, SignalURL: signalURL,
		Events: func(ev Event) {
			if ev.ResourceName == "wait" && ev.Status == StatusInProgress {
				e.j.mu.Lock()
				tokens <- e.j.st.Resources["handle"].State.Data["token"].(string)
				e.j.mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	srv.Config.Handler = http.StripPrefix("/signal", e.SignalHandler())
	srv.Start()
	defer srv.Close()
	go func() {
		token := <-tokens
		for _, body := range []string{`{"data": "one"}`, `{"id": "x", "data": {"k": 2}}`} {
			resp, err := http.Post(signalURL+"/"+token, "application/json", bytes.NewBufferString(body))
			if err == nil {
				resp.Body.Close()
			}
		}
	}()
	if err := e.Create(t.Context(), "w", &Input{TemplateFile: "w.yaml", Template: waitTemplate}); err != nil {
		t.Fatal(err)
	}
	out, err := e.Outputs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if out["data"] != `{"1": "one", "x": {"k": 2}}` || !strings.HasPrefix(out["curl"].(string), "curl -i -X POST") {
		t.Errorf("outputs = %v", out)
	}
	resp, err := http.Post(signalURL+"/not-a-token", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown token: %d", resp.StatusCode)
	}
}

func TestWaitConditionFailureSignal(t *testing.T) {
	h := newHarness(t)
	var e *Embedded
	e, err := Open(t.Context(), filepath.Join(h.dir, "w.state"), &Options{Types: h.types, DisableRollback: true,
		Events: func(ev Event) {
			if ev.ResourceName == "wait" && ev.Status == StatusInProgress {
				go e.Signal(t.Context(), "handle", map[string]any{"status": "FAILURE", "reason": "disk full"})
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	err = e.Create(t.Context(), "w", &Input{TemplateFile: "w.yaml", Template: waitTemplate})
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "WaitCondition failed: disk full") {
		t.Errorf("err = %v", err)
	}
	if err := e.Signal(t.Context(), "after", nil); !errors.Is(err, ErrSignal) {
		t.Errorf("signal to a non-handle: %v", err)
	}
	if err := e.Signal(t.Context(), "handle", map[string]any{"status": "MAYBE"}); !errors.Is(err, ErrSignal) {
		t.Errorf("bad status: %v", err)
	}
}
