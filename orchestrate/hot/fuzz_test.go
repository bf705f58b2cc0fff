package hot

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/corpus/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"heat_template_version": "2016-10-14", "resources": {"a": {"type": "X"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tmpl, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		// A valid template instantiates or fails cleanly, and its graph
		// has no cycle.
		if _, err := tmpl.Graph().Order(); err != nil {
			t.Fatalf("valid template with a cycle: %v", err)
		}
		_, _ = Instantiate(tmpl, Options{StackName: "s"})
	})
}

func FuzzEval(f *testing.F) {
	f.Add([]byte(`{str_replace: {template: "a $x", params: {$x: {list_join: [",", [1, 2]]}}}}`))
	f.Add([]byte(`{repeat: {for_each: {X: [1, 2], Y: [a]}, template: {X: Y}}}`))
	f.Add([]byte(`{map_replace: [{a: b}, {keys: {a: c}, values: {b: d}}]}`))
	f.Add([]byte(`{make_url: {scheme: http, host: "::1", port: 80, path: x, query: {a: b}}}`))
	f.Add([]byte(`{if: [true, {get_attr: [r, a, 0]}, {digest: [md5, x]}]}`))
	f.Add([]byte(`{filter: [[1], {list_concat_unique: [[1, 2], [2, 3]]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode("e.yaml", append([]byte("v: "), data...))
		if err != nil {
			return
		}
		out, complete, err := Eval(V20210416, v["v"], fakeResolver{"r": {"a": []any{"x"}}})
		if err != nil || !complete {
			return
		}
		_ = PyJSON(out, true)
	})
}

func FuzzMergeEnvironments(f *testing.F) {
	f.Add([]byte("parameters: {a: 1}\nresource_registry: {\"A::*\": \"B::*\"}\n"), []byte("resource_registry:\n  resources:\n    r*: {\"A::X\": x.yaml}\n"), "r1", "A::X")
	f.Fuzz(func(t *testing.T, a, b []byte, res, typ string) {
		e1, err1 := ParseEnvironment("a.yaml", a)
		e2, err2 := ParseEnvironment("b.yaml", b)
		if err1 != nil || err2 != nil {
			return
		}
		m := Merge(e1, e2)
		for k, v := range e2.Parameters {
			if !Equal(m.Parameters[k], v) {
				t.Fatalf("later environment lost parameter %s", k)
			}
		}
		_, _ = m.Registry.Resolve(res, typ)
		for k, v := range e2.Registry.Hooks {
			if len(m.Registry.Hooks[k]) != len(v) {
				t.Fatalf("later environment lost the hooks of %s", k)
			}
		}
		_ = m.Registry.Hooked(res, typ)
	})
}
