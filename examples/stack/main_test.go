package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runStack(t *testing.T, args ...string) (map[string]any, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(t.Context(), args, &out, &errb)
	if err != nil {
		return nil, errb.String(), err
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out.String())
	}
	return m, errb.String(), nil
}

func TestCreateUpdateShowDelete(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"web.yaml", "banner.txt", "env.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	tmpl := filepath.Join(dir, "web.yaml")
	env := filepath.Join(dir, "env.yaml")
	out, events, err := runStack(t, "-template", tmpl, "-e", env, "create")
	if err != nil {
		t.Fatalf("%v\n%s", err, events)
	}
	if names := out["names"].([]any); len(names) != 3 || names[0] != "web-0" {
		t.Errorf("names = %v", out["names"])
	}
	if out["banner"] != "welcome\n" || out["admin_password"] != "******" || out["monitor"] != nil {
		t.Errorf("outputs = %v", out)
	}
	if _, ok := out["monitor"]; !ok {
		t.Error("a disabled output must be present as null")
	}
	if !strings.Contains(events, "[web]: CREATE_COMPLETE") || !strings.Contains(events, "[web.web/2]: CREATE_COMPLETE") {
		t.Errorf("events:\n%s", events)
	}
	if strings.Contains(events, "changeme") {
		t.Error("hidden parameter in events")
	}
	out, events, err = runStack(t, "-template", tmpl, "-e", env, "-P", "count=1", "-P", "monitoring=true", "update")
	if err != nil {
		t.Fatalf("%v\n%s", err, events)
	}
	if names := out["names"].([]any); len(names) != 1 || out["monitor"] == nil {
		t.Errorf("after update: %v", out)
	}
	if _, events, err = runStack(t, "-template", tmpl, "show"); err != nil || !strings.Contains(events, "UPDATE_COMPLETE") {
		t.Errorf("show: %v\n%s", err, events)
	}
	out, events, err = runStack(t, "-state", filepath.Join(dir, "web.state"), "delete")
	if err != nil || len(out) != 0 || !strings.Contains(events, "DELETE_COMPLETE") {
		t.Errorf("delete: %v %v\n%s", err, out, events)
	}
}

func TestFailures(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("heat_template_version: 2016-10-14\nresources:\n  a: {type: OS::Heat::TestResource, properties: {fail: true}}\n"), 0o644)
	if _, events, err := runStack(t, "-template", bad, "create"); err == nil || !strings.Contains(events, "CREATE_FAILED") {
		t.Errorf("failing resource: %v\n%s", err, events)
	}
	if _, _, err := runStack(t, "-template", bad, "explode"); err == nil {
		t.Error("unknown command accepted")
	}
	if _, _, err := runStack(t, "-template", bad, "-P", "novalue", "update"); err == nil {
		t.Error("bad -P accepted")
	}
}

func TestEvents(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "s.yaml")
	os.WriteFile(tmpl, []byte("heat_template_version: 2016-10-14\nresources:\n  a: {type: OS::Heat::TestResource}\n  b: {type: OS::Heat::TestResource}\n"), 0o644)
	if _, events, err := runStack(t, "-template", tmpl, "create"); err != nil {
		t.Fatalf("%v\n%s", err, events)
	}
	list := func(args ...string) ([]map[string]any, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(t.Context(), append([]string{"-state", filepath.Join(dir, "s.state")}, append(args, "events")...), &out, &errb); err != nil {
			t.Fatalf("events %v: %v\n%s", args, err, errb.String())
		}
		var evs []map[string]any
		if err := json.Unmarshal(out.Bytes(), &evs); err != nil {
			t.Fatalf("stdout is not a JSON list: %v\n%s", err, out.String())
		}
		return evs, errb.String()
	}
	all, text := list()
	if len(all) != 6 || all[0]["resource_status"] != "IN_PROGRESS" || all[5]["resource_name"] != "s" ||
		!strings.Contains(text, "[s.a]: CREATE_COMPLETE") {
		t.Errorf("events: %v\n%s", all, text)
	}
	if a, _ := list("-resource", "a"); len(a) != 2 || a[1]["resource_action"] != "CREATE" {
		t.Errorf("-resource a: %v", a)
	}
	if after, _ := list("-marker", all[3]["id"].(string), "-limit", "1"); len(after) != 1 || after[0]["id"] != all[4]["id"] {
		t.Errorf("-marker -limit: %v", after)
	}
}
