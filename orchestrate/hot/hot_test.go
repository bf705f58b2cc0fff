package hot

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

func TestDecodeYAMLDialect(t *testing.T) {
	m, err := Decode("d.yaml", []byte(`
y: y
n: n
yes: yes
off: off
date: 2016-10-14
stamp: 2001-12-14t21:59:43.10-05:00
octal: 0755
hex: 0x1F
sexa: 1:30
float: 1.5
notfloat: 1e3
sci: 1.0e+3
null1: ~
null2:
quoted: "yes"
str: !!str 123
anchor: &a {k: v}
alias: *a
merged:
  <<: *a
  own: 1
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"y": "y", "n": "n", "True": true, "False": false, "date": "2016-10-14",
		"stamp": "2001-12-14t21:59:43.10-05:00", "octal": int64(493), "hex": int64(31),
		"sexa": int64(90), "float": 1.5, "notfloat": "1e3", "sci": 1000.0,
		"null1": nil, "null2": nil, "quoted": "yes", "str": "123",
		"anchor": map[string]any{"k": "v"}, "alias": map[string]any{"k": "v"},
		"merged": map[string]any{"k": "v", "own": int64(1)},
	}
	for k, v := range want {
		if !Equal(m[k], v) || fmt.Sprintf("%T", m[k]) != fmt.Sprintf("%T", v) {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	if len(m) != len(want) {
		t.Errorf("got %d keys, want %d: %v", len(m), len(want), m)
	}
}

func TestDecodeJSONKeepsOrder(t *testing.T) {
	tmpl, err := Parse("t.json", []byte(`{"heat_template_version": "2015-10-15",
	  "resources": {"z": {"type": "OS::Heat::None"}, "a": {"type": "OS::Heat::None"}},
	  "parameters": {"p2": {"type": "number", "default": 1.5}, "p1": {"type": "string"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Resources[0].Name != "z" || tmpl.Parameters[0].Name != "p2" {
		t.Errorf("order lost: %v %v", tmpl.Resources[0].Name, tmpl.Parameters[0].Name)
	}
}

func TestVersions(t *testing.T) {
	for alias, v := range map[string]Version{"newton": V20161014, "wallaby": V20210416, "2013-05-23": V20130523} {
		got, err := ParseVersion(alias)
		if err != nil || got != v {
			t.Errorf("ParseVersion(%q) = %v, %v", alias, got, err)
		}
	}
	if _, err := ParseVersion("2012-12-12"); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown version: %v", err)
	}
	if n := len(V20130523.Functions()); n != 6 {
		t.Errorf("2013-05-23 has %d functions: %v", n, V20130523.Functions())
	}
	// Each gated function is rejected one version before it appeared.
	for fn, since := range functionSince {
		for i, v := range versions {
			if v != since || i == 0 {
				continue
			}
			src := fmt.Sprintf("heat_template_version: %s\noutputs:\n  o: {value: {%s: []}}\n", versions[i-1], fn)
			_, err := Parse("gate.yaml", []byte(src))
			if !errors.Is(err, ErrVersion) {
				t.Errorf("%s in %s: %v", fn, versions[i-1], err)
			}
		}
	}
}

func TestErrorsNameFileResourceProperty(t *testing.T) {
	cases := map[string]string{
		"heat_template_version: 2016-10-14\nresources:\n  srv:\n    type: X\n    properties:\n      image: {get_param: nope}\n": "bad.yaml:3: resources.srv.properties.image: not found: get_param: the parameter \"nope\" is not defined",
		"heat_template_version: 2016-10-14\nresources:\n  srv:\n    type: X\n    depends_on: [ghost]\n":                         "bad.yaml:3: resources.srv.depends_on: not found: the resource \"ghost\" does not exist",
		"heat_template_version: 2016-10-14\nresources:\n  srv: {type: X, propertiez: {}}\n":                                     `bad.yaml:3: resources.srv: invalid: unknown key "propertiez"`,
		"heat_template_version: 2016-10-14\nresourcez: {}\n":                                                                    "bad.yaml: invalid: unknown top-level section(s) resourcez",
		"heat_template_version: 2014-10-16\nconditions: {}\n":                                                                   "bad.yaml: invalid: unknown top-level section(s) conditions",
		"heat_template_version: 2016-10-14\nresources:\n  a: {type: X, condition: missing}\n":                                   "bad.yaml:3: resources.a.condition: not found: the condition \"missing\" is not defined",
		"heat_template_version: 2016-10-14\nconditions:\n  c: {get_attr: [a, b]}\n":                                             "bad.yaml:3: conditions.c: invalid: get_attr is not a condition function",
		"heat_template_version: 2016-10-14\nresources:\n  a: {type: X, properties: {p: {get_resource: a}}}\n":                   "bad.yaml:3: resources.a.properties.p: invalid: get_resource: a resource cannot reference itself",
		"- a list\n": "bad.yaml: syntax error: the document is not a mapping",
	}
	for src, want := range cases {
		_, err := Parse("bad.yaml", []byte(src))
		if err == nil || err.Error() != want {
			t.Errorf("got  %v\nwant %s", err, want)
		}
	}
}

func TestParameters(t *testing.T) {
	tmpl, err := Parse("p.yaml", []byte(`heat_template_version: 2017-02-24
parameters:
  s: {type: string, constraints: [{length: {min: 2, max: 4}}, {allowed_pattern: "[a-z]+"}]}
  n: {type: number, constraints: [{range: {min: 1, max: 10}}, {modulo: {step: 2, offset: 0}}]}
  b: {type: boolean}
  l: {type: comma_delimited_list, constraints: [{allowed_values: [x, y]}]}
  j: {type: json}
  h: {type: string, hidden: true, constraints: [{allowed_values: [good]}]}
  d: {type: string, default: dflt, immutable: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	good := map[string]any{"s": "abc", "n": "4", "b": "Yes", "l": "x,y", "j": `{"a": [1]}`, "h": "good"}
	st, err := Instantiate(tmpl, Options{Env: &Environment{Parameters: good}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Params["n"] != int64(4) || st.Params["b"] != true || len(st.Params["l"].([]any)) != 2 || st.Params["d"] != "dflt" {
		t.Errorf("converted: %v", st.Params)
	}
	if h := st.Hidden(); len(h) != 1 || h[0] != "good" {
		t.Errorf("hidden = %v", h)
	}
	bad := map[string]any{"s": "abcde", "n": 3, "b": "maybe", "l": "x,z", "j": "[", "h": "wrong-secret"}
	for k, v := range bad {
		params := map[string]any{}
		for gk, gv := range good {
			params[gk] = gv
		}
		params[k] = v
		_, err := Instantiate(tmpl, Options{Env: &Environment{Parameters: params}})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "parameters."+k) {
			t.Errorf("%s=%v: %v", k, v, err)
		}
		if err != nil && strings.Contains(err.Error(), "wrong-secret") {
			t.Errorf("hidden value leaked: %v", err)
		}
	}
	_, err = Instantiate(tmpl, Options{Env: &Environment{Parameters: map[string]any{"s": "ab"}}})
	if err == nil || !strings.Contains(err.Error(), "was not provided") {
		t.Errorf("missing: %v", err)
	}
	_, err = Instantiate(tmpl, Options{Env: &Environment{Parameters: map[string]any{"zz": 1}}})
	if err == nil || !strings.Contains(err.Error(), "zz were not defined") {
		t.Errorf("unknown: %v", err)
	}
}

func TestParameterGroups(t *testing.T) {
	_, err := Parse("g.yaml", []byte(`heat_template_version: 2016-10-14
parameters: {a: {type: string}}
parameter_groups:
- label: one
  parameters: [a]
- label: two
  parameters: [a]
`))
	if err == nil || !strings.Contains(err.Error(), "already in another group") {
		t.Errorf("duplicate group member: %v", err)
	}
}

func TestEnvironmentMergeAndRegistry(t *testing.T) {
	e1, err := ParseEnvironment("env/one.yaml", []byte(`
parameters: {a: 1, b: 1}
parameter_defaults: {x: 1}
resource_registry:
  "OS::TripleO::Compute": compute.yaml
  "OS::Nova::*": "Sim::*"
`))
	if err != nil {
		t.Fatal(err)
	}
	e2, err := ParseEnvironment("two.yaml", []byte(`
parameters: {b: 2}
resource_registry:
  "OS::TripleO::Compute": OS::Heat::None
  resources:
    "ctl*":
      "OS::Nova::Server": "Special::Server"
`))
	if err != nil {
		t.Fatal(err)
	}
	m := Merge(e1, e2)
	if m.Parameters["a"] != int64(1) || m.Parameters["b"] != int64(2) || m.ParameterDefaults["x"] != int64(1) {
		t.Errorf("merged params: %v %v", m.Parameters, m.ParameterDefaults)
	}
	for _, c := range []struct{ res, typ, want string }{
		{"c0", "OS::TripleO::Compute", "OS::Heat::None"},
		{"srv", "OS::Nova::Server", "Sim::Server"},
		{"ctl0", "OS::Nova::Server", "Special::Server"},
		{"x", "Other", "Other"},
	} {
		got, err := m.Registry.Resolve(c.res, c.typ)
		if err != nil || got != c.want {
			t.Errorf("Resolve(%s, %s) = %q, %v; want %q", c.res, c.typ, got, err, c.want)
		}
	}
	if got, _ := e1.Registry.Resolve("c", "OS::TripleO::Compute"); got != "env/compute.yaml" {
		t.Errorf("relative template path = %q", got)
	}
	if _, err := ParseEnvironment("bad.yaml", []byte("paramters: {}\n")); err == nil {
		t.Error("unknown section accepted")
	}
	loop := &Registry{Types: map[string]string{"A": "B", "B": "A"}}
	if _, err := loop.Resolve("r", "A"); err == nil {
		t.Error("registry loop accepted")
	}
	// A glob that maps every result to a new name never loops back; the
	// chain is bounded instead (a fuzz find: this hung before).
	grow := &Registry{Types: map[string]string{"*": "B::*"}}
	if _, err := grow.Resolve("r", "A::X"); err == nil {
		t.Error("self-extending glob chain accepted")
	}
}

func TestGetFileAndLoader(t *testing.T) {
	tmpl, err := Parse("f.yaml", []byte("heat_template_version: 2016-10-14\noutputs:\n  a: {value: {get_file: a.txt}}\n  b: {value: {get_file: dir/b.txt}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Instantiate(tmpl, Options{Files: map[string]string{"a.txt": "from map"},
		Loader: FSLoader{FS: fstest.MapFS{"dir/b.txt": {Data: []byte("from fs")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Outputs[0].Value != "from map" || st.Outputs[1].Value != "from fs" {
		t.Errorf("outputs: %v %v", st.Outputs[0].Value, st.Outputs[1].Value)
	}
}

func TestCycleErrorListsEveryCycle(t *testing.T) {
	_, err := Parse("c.yaml", []byte(`heat_template_version: 2016-10-14
resources:
  a: {type: X, depends_on: b}
  b: {type: X, depends_on: a}
  c: {type: X, depends_on: d}
  d: {type: X, depends_on: [e]}
  e: {type: X, depends_on: [c]}
`))
	var ce *CycleError
	if !errors.As(err, &ce) || len(ce.Cycles) != 2 {
		t.Fatalf("err = %v", err)
	}
	if got := strings.Join(ce.Cycles[0], ">") + " " + strings.Join(ce.Cycles[1], ">"); got != "a>b>a c>d>e>c" {
		t.Errorf("cycles = %s", got)
	}
}

func TestStrReplaceStrict(t *testing.T) {
	r := &staticResolver{s: &Stack{Params: map[string]any{}}}
	_, _, err := Eval(V20170901, map[string]any{"str_replace_strict": map[string]any{"template": "abc", "params": map[string]any{"z": "1"}}}, r)
	if err == nil || !strings.Contains(err.Error(), "were not found in the template: z") {
		t.Errorf("strict: %v", err)
	}
	_, _, err = Eval(V20170901, map[string]any{"str_replace_vstrict": map[string]any{"template": "abc", "params": map[string]any{"a": ""}}}, r)
	if err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("vstrict: %v", err)
	}
	// Replaced text is never re-scanned, longest keys go first.
	v, _, err := Eval(V20170901, map[string]any{"str_replace": map[string]any{"template": "ab a", "params": map[string]any{"a": "ab", "ab": "X"}}}, r)
	if err != nil || v != "X ab" {
		t.Errorf("str_replace = %v, %v", v, err)
	}
}

func TestPartialEvaluationKeepsCalls(t *testing.T) {
	tmpl, err := Parse("p.yaml", []byte(`heat_template_version: 2016-10-14
parameters: {p: {type: string, default: P}}
resources:
  a: {type: X}
  b:
    type: X
    properties:
      v: {str_replace: {template: "$p $a", params: {$p: {get_param: p}, $a: {get_attr: [a, x]}}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Instantiate(tmpl, Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := st.Resource("b").Properties["v"]
	got, complete, err := Eval(tmpl.Version, v, fakeResolver{"a": map[string]any{"x": "A"}})
	if err != nil || !complete || got != "P A" {
		t.Errorf("second pass = %v %v %v (from %v)", got, complete, err, v)
	}
}

type fakeResolver map[string]map[string]any

func (f fakeResolver) Param(string) (any, error)      { return nil, ErrNotFound }
func (f fakeResolver) Resource(n string) (any, error) { return n + "-id", nil }
func (f fakeResolver) File(string) (string, error)    { return "", ErrNotFound }
func (f fakeResolver) Facade(string) (any, error)     { return nil, ErrNotFound }
func (f fakeResolver) Condition(string) (bool, error) { return false, ErrNotFound }
func (f fakeResolver) Attribute(r, a string, path []any) (any, error) {
	if a == "" {
		return f[r], nil
	}
	return WalkPath(f[r][a], path)
}
