package orchestrate

import (
	"strings"
	"testing"
)

const planRole = `heat_template_version: rocky
parameters:
  image: {type: string}
  index: {type: number, default: 0}
resources:
  server: {type: Sim::Server, properties: {image: {get_param: image}, flavor: small}}
  label: {type: OS::Heat::Value, properties: {value: {list_join: [-, [node, {get_param: index}]]}}}
  EXTRA
outputs:
  address: {value: {get_attr: [server, first_address]}}
`

const planParent = `heat_template_version: rocky
parameters:
  image: {type: string, default: img-1}
  count: {type: number, default: 2}
resources:
  role: {type: role.yaml, properties: {image: {get_param: image}}}
  group:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: count}
      resource_def: {type: role.yaml, properties: {image: {get_param: image}, index: "%index%"}}
`

// TestPlanNested: a plan lists the changes inside template resources and
// group members under their flat names (Heat's preview with show_nested),
// keeping the parent's line.
func TestPlanNested(t *testing.T) {
	h := newHarness(t)
	e := h.open(nil)
	ctx := t.Context()
	mk := func(extra string, p map[string]string) *Input {
		return &Input{TemplateFile: "parent.yaml", Template: planParent, Params: p,
			Files: map[string]string{"role.yaml": strings.Replace(planRole, "EXTRA", extra, 1)}}
	}
	p, err := e.Plan(ctx, "s", mk("", nil))
	if err != nil {
		t.Fatal(err)
	}
	want := "CREATE s\n" +
		"  create   group (OS::Heat::ResourceGroup)\n" +
		"  create   group/0 (role.yaml)\n" +
		"  create   group/0/label (OS::Heat::Value)\n" +
		"  create   group/0/server (Sim::Server)\n" +
		"  create   group/1 (role.yaml)\n" +
		"  create   group/1/label (OS::Heat::Value)\n" +
		"  create   group/1/server (Sim::Server)\n" +
		"  create   role (role.yaml)\n" +
		"  create   role/label (OS::Heat::Value)\n" +
		"  create   role/server (Sim::Server)\n"
	if p.String() != want {
		t.Errorf("create plan:\n%s\nwant:\n%s", p, want)
	}
	if err := e.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	// A new image replaces every server, one group member goes and a
	// resource is added to the nested template.
	p, err = e.Plan(ctx, "", mk("probe: {type: OS::Heat::None}", map[string]string{"image": "img-2", "count": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	want = "UPDATE s\n" +
		"  update   group (OS::Heat::ResourceGroup)\n" +
		"  update   group/0 (role.yaml)\n" +
		"  no-op    group/0/label (OS::Heat::Value)\n" +
		"  create   group/0/probe (OS::Heat::None)\n" +
		"  replace  group/0/server (Sim::Server)\n" +
		"  delete   group/1 (role.yaml)\n" +
		"  update   role (role.yaml)\n" +
		"  no-op    role/label (OS::Heat::Value)\n" +
		"  create   role/probe (OS::Heat::None)\n" +
		"  replace  role/server (Sim::Server)\n"
	if p.String() != want {
		t.Errorf("update plan:\n%s\nwant:\n%s", p, want)
	}
	if err := e.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	// Removing the resource again: the nested one is listed as deleted.
	p, err = e.Plan(ctx, "", mk("", map[string]string{"image": "img-2", "count": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Summary(); s[ChangeDelete] != 2 || s[ChangeUpdate] != 0 || s[ChangeNoop] != 7 {
		t.Errorf("plan dropping probe:\n%s", p)
	}
}

// TestPlanCreateWithUnknownProperties: a new template resource whose
// parameters need resources that do not exist yet still lists its nested
// resources as created; a new group whose count is unknown lists none.
func TestPlanCreateWithUnknownProperties(t *testing.T) {
	h := newHarness(t)
	e := h.open(nil)
	p, err := e.Plan(t.Context(), "s", &Input{TemplateFile: "p.yaml", Files: map[string]string{"child.yaml": `heat_template_version: rocky
parameters:
  server: {type: string}
resources:
  config: {type: OS::Heat::None}
  label: {type: OS::Heat::Value, properties: {value: {get_param: server}}}
`}, Template: `heat_template_version: rocky
resources:
  srv: {type: Sim::Server, properties: {image: img}}
  child: {type: child.yaml, properties: {server: {get_resource: srv}}}
  group:
    type: OS::Heat::ResourceGroup
    properties: {count: {get_attr: [srv, name]}, resource_def: {type: OS::Heat::None}}
`})
	if err != nil {
		t.Fatal(err)
	}
	want := "CREATE s\n" +
		"  create   child (child.yaml)\n" +
		"  create   child/config (OS::Heat::None)\n" +
		"  create   child/label (OS::Heat::Value)\n" +
		"  create   group (OS::Heat::ResourceGroup)\n" +
		"  create   srv (Sim::Server)\n"
	if p.String() != want {
		t.Errorf("plan:\n%s\nwant:\n%s", p, want)
	}
}
