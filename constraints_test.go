package tripleo_test

import (
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo"
	"github.com/tripleo-go/tripleo/orchestrate"
)

// The Cloud answers the custom constraints TripleO's templates name
// (Heat asks Nova and Glance): known flavors and images pass, unknown
// ones fail validation before anything is created.
func TestCloudConstraints(t *testing.T) {
	ctx := t.Context()
	c, _, _ := newCloud(t, 1, &tripleo.Options{Flavors: map[string]map[string]string{"control": {"profile": "control"}}})
	const tmpl = `heat_template_version: 2021-04-16
parameters:
  flavor: {type: string, constraints: [{custom_constraint: nova.flavor}]}
  key: {type: string, default: k, constraints: [{custom_constraint: nova.keypair}]}
resources:
  none: {type: OS::Heat::None}
`
	const imageTmpl = `heat_template_version: 2021-04-16
parameters:
  image: {type: string, constraints: [{custom_constraint: glance.image}]}
resources:
  none: {type: OS::Heat::None}
`
	for _, tc := range []struct {
		name     string
		template string
		params   map[string]string
		want     string // "" means valid
	}{
		{"known flavor", tmpl, map[string]string{"flavor": "control"}, ""},
		{"baremetal", tmpl, map[string]string{"flavor": "baremetal"}, ""},
		{"unknown flavor", tmpl, map[string]string{"flavor": "m1.huge"}, `flavor "m1.huge" not found`},
		{"empty key", tmpl, map[string]string{"flavor": "baremetal", "key": ""}, "key pair name is empty"},
		{"unknown image", imageTmpl, map[string]string{"image": "sha256:" + strings.Repeat("0", 64)}, "glance.image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := c.Stack(ctx, "c"+strings.ReplaceAll(tc.name, " ", "-"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.Plan(ctx, "s", &orchestrate.Input{TemplateFile: "t.yaml", Template: tc.template, Params: tc.params})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Plan: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Plan: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
