package orchestrate

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeploymentDeleteAction: a deployment whose actions include DELETE
// publishes a DELETE derived config when the stack is deleted and waits
// for the server's signal before it is gone (Heat's behaviour).
func TestDeploymentDeleteAction(t *testing.T) {
	h := newHarness(t)
	seen := make(chan string, 4)
	pub := &docs{set: make(chan struct{}, 1)}
	var e *Embedded
	e, err := Open(t.Context(), filepath.Join(h.dir, "d.state"), &Options{Types: h.types, Metadata: pub,
		Events: func(ev Event) {
			if ev.ResourceName != "dep" || ev.Status != StatusInProgress {
				return
			}
			go func() {
				<-pub.set // the agent sees the document change
				_, doc, err := pub.only()
				action := fmt.Sprint(err)
				if err == nil {
					for _, d := range doc["deployments"].([]any) {
						for _, in := range d.(map[string]any)["inputs"].([]any) {
							if m := in.(map[string]any); m["name"] == "deploy_action" {
								action = fmt.Sprint(m["value"])
							}
						}
					}
				}
				seen <- string(ev.Action) + ":" + action
				e.Signal(t.Context(), "dep", map[string]any{"deploy_status_code": 0, "deploy_stdout": "ok"})
			}()
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tmpl := strings.Replace(deployTemplate, "input_values: {foo: bar, code: {get_param: code}}",
		"input_values: {foo: bar}\n      actions: [CREATE, DELETE]", 1)
	if err := e.Create(t.Context(), "d", &Input{TemplateFile: "d.yaml", Template: tmpl}); err != nil {
		t.Fatal(err)
	}
	if got := <-seen; got != "CREATE:CREATE" {
		t.Errorf("create published %q", got)
	}
	e.j.mu.Lock()
	server := fmt.Sprint(e.j.st.Resources["dep"].Properties["server"])
	e.j.mu.Unlock()
	if err := e.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := <-seen; got != "DELETE:DELETE" {
		t.Errorf("delete published %q", got)
	}
	doc, _, err := e.ServerMetadata(server)
	if err != nil || len(doc["deployments"].([]any)) != 0 {
		t.Errorf("metadata after delete: %v %v", doc, err)
	}
	evs, _ := e.Events(t.Context(), &EventQuery{Resource: "dep"})
	var states []string
	for _, ev := range evs {
		states = append(states, ev.State())
	}
	if got := strings.Join(states, " "); got != "CREATE_IN_PROGRESS CREATE_COMPLETE DELETE_IN_PROGRESS DELETE_COMPLETE" {
		t.Errorf("dep events: %s", got)
	}
}
