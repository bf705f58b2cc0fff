package orchestrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// docs is a MetadataPublisher that keeps the last document per path.
type docs struct {
	mu  sync.Mutex
	m   map[string][]byte
	set chan struct{} // receives on every SetJSON
}

func (d *docs) SetJSON(path string, data []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string][]byte{}
	}
	d.m[path] = data
	if d.set != nil {
		select {
		case d.set <- struct{}{}:
		default:
		}
	}
	return nil
}

func (d *docs) Delete(path string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.m, path)
}

func (d *docs) only() (string, map[string]any, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.m) != 1 {
		return "", nil, errors.New("not exactly one document published")
	}
	for p, b := range d.m {
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			return "", nil, err
		}
		return p, v, nil
	}
	return "", nil, nil
}

const deployTemplate = `heat_template_version: queens
parameters:
  code: {type: number, default: 0}
resources:
  server:
    type: OS::Heat::DeployedServer
    properties: {name: overcloud-controller-0}
  config:
    type: OS::Heat::SoftwareConfig
    properties:
      group: script
      inputs: [{name: foo}]
      outputs: [{name: result}]
      config: |
        #!/bin/sh
        echo -n "hello $foo" > $heat_outputs_path.result
  dep:
    type: OS::Heat::SoftwareDeployment
    properties:
      config: {get_resource: config}
      server: {get_resource: server}
      input_values: {foo: bar, code: {get_param: code}}
outputs:
  result: {value: {get_attr: [dep, result]}}
  stdout: {value: {get_attr: [dep, deploy_stdout]}}
`

// The os-collect-config contract of shared/peers/heat.md §1.11: the
// deployment appears in the server's metadata with its derived config, the
// agent signals deploy_stdout, deploy_status_code and the outputs, and the
// stack completes with the outputs readable.
func TestSoftwareDeploymentSignalled(t *testing.T) {
	for _, code := range []int{0, 2} {
		h := newHarness(t)
		srv := httptest.NewUnstartedServer(nil)
		base := "http://" + srv.Listener.Addr().String()
		pub := &docs{set: make(chan struct{}, 1)}
		var e *Embedded
		signalled := make(chan error, 1)
		e, err := Open(t.Context(), filepath.Join(h.dir, "d.state"), &Options{Types: h.types, DisableRollback: true,
			Metadata: pub, MetadataURL: base + "/metadata", SignalURL: base + "/signal",
			Events: func(ev Event) {
				if ev.ResourceName != "dep" || ev.Status != StatusInProgress {
					return
				}
				go func() {
					<-pub.set // the agent's long poll answers when the document changes
					signalled <- agent(pub, code)
				}()
			}})
		if err != nil {
			t.Fatal(err)
		}
		srv.Config.Handler = http.StripPrefix("/signal", e.SignalHandler())
		srv.Start()
		err = e.Create(t.Context(), "d", &Input{TemplateFile: "d.yaml", Template: deployTemplate,
			Params: map[string]string{"code": "0"}})
		if aerr := <-signalled; aerr != nil {
			t.Fatal(aerr)
		}
		out, _ := e.Outputs(t.Context())
		if code == 0 {
			if err != nil {
				t.Fatal(err)
			}
			if out["result"] != "hello bar" || out["stdout"] != "hello bar" {
				t.Errorf("outputs = %v", out)
			}
		} else if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "non-zero status code: 2: it broke") {
			t.Errorf("failed deployment: %v", err)
		}
		if err := e.Delete(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, doc, err := pub.only(); err != nil || len(doc["deployments"].([]any)) != 0 {
			t.Errorf("deployment left in the metadata after delete: %v", doc)
		}
		e.Close()
		srv.Close()
	}
}

// agent plays os-collect-config + heat-config-notify: it reads the
// published document, checks its shape and signals the deployment.
func agent(pub *docs, code int) error {
	path, doc, err := pub.only()
	if err != nil {
		return err
	}
	occ := doc["os-collect-config"].(map[string]any)
	url := occ["request"].(map[string]any)["metadata_url"].(string)
	if !strings.HasSuffix(url, "/metadata"+path) {
		return errors.New("metadata_url " + url + " does not name the document " + path)
	}
	deps := doc["deployments"].([]any)
	if len(deps) != 1 {
		return errors.New("want one deployment")
	}
	d := deps[0].(map[string]any)
	for _, k := range []string{"id", "name", "group", "config", "inputs", "outputs", "options", "creation_time"} {
		if _, ok := d[k]; !ok {
			return errors.New("derived config lacks " + k)
		}
	}
	inputs := map[string]any{}
	for _, in := range d["inputs"].([]any) {
		m := in.(map[string]any)
		inputs[m["name"].(string)] = m["value"]
	}
	if inputs["foo"] != "bar" || inputs["deploy_action"] != "CREATE" || inputs["deploy_resource_name"] != "dep" || d["group"] != "script" {
		return errors.New("inputs: " + string(must(json.Marshal(inputs))))
	}
	body := map[string]any{"deploy_stdout": "hello bar", "deploy_status_code": code, "result": "hello bar"}
	if code != 0 {
		body["deploy_stderr"] = "it broke\n"
	}
	resp, err := http.Post(inputs["deploy_signal_id"].(string), "application/json", bytes.NewReader(must(json.Marshal(body))))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("signal: " + resp.Status)
	}
	return nil
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestStructuredDeploymentGroup(t *testing.T) {
	h := newHarness(t)
	pub := &docs{}
	var e *Embedded
	e, err := Open(t.Context(), filepath.Join(h.dir, "g.state"), &Options{Types: h.types, Metadata: pub,
		Events: func(ev Event) {
			if strings.HasPrefix(ev.ResourceName, "deps/") && ev.Status == StatusInProgress {
				go e.Signal(t.Context(), ev.ResourceName, map[string]any{
					"deploy_stdout": "ok " + ev.ResourceName, "deploy_status_code": 0})
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	err = e.Create(t.Context(), "g", &Input{TemplateFile: "g.yaml", Template: `heat_template_version: queens
resources:
  a: {type: OS::Heat::DeployedServer, properties: {name: a}}
  b: {type: OS::Heat::DeployedServer, properties: {name: b}}
  config:
    type: OS::Heat::StructuredConfig
    properties:
      group: hiera
      config: {datafiles: {common: {mapped_data: {ntp: {get_input: ntp_servers}}}}}
  deps:
    type: OS::Heat::StructuredDeploymentGroup
    properties:
      config: {get_resource: config}
      servers: {a: {get_resource: a}, b: {get_resource: b}}
      input_values: {ntp_servers: [pool.ntp.org]}
outputs:
  stdouts: {value: {get_attr: [deps, deploy_stdouts]}}
`})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := e.Outputs(t.Context())
	if got := out["stdouts"].(map[string]any); got["a"] != "ok deps/a" || got["b"] != "ok deps/b" {
		t.Errorf("stdouts = %v", out["stdouts"])
	}
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if len(pub.m) != 2 {
		t.Fatalf("%d server documents", len(pub.m))
	}
	for _, b := range pub.m {
		var doc map[string]any
		json.Unmarshal(b, &doc)
		d := doc["deployments"].([]any)[0].(map[string]any)
		cfg, _ := json.Marshal(d["config"])
		if string(cfg) != `{"datafiles":{"common":{"mapped_data":{"ntp":["pool.ntp.org"]}}}}` || d["group"] != "hiera" {
			t.Errorf("structured config = %s (%v)", cfg, d["group"])
		}
	}
}
