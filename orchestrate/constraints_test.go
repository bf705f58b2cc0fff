package orchestrate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBuiltinConstraints(t *testing.T) {
	old := now
	now = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	defer func() { now = old }()
	types := NewTypes()
	cases := []struct {
		name      string
		good, bad []any
	}{
		{"ip_addr", []any{"192.0.2.1", "::1", "2001:db8::5"}, []any{"1.2.3", "192.0.2.256", "fe80::1%eth0", "", "x", int64(1)}},
		{"net_cidr", []any{"192.0.2.0/24", "10.0.0.1", "2001:db8::/32", "0.0.0.0/0"}, []any{"192.0.2.0/33", "10.0/8", "10.0.0.0/8 x", "a/b", "10.0.0.0/08"}},
		{"mac_addr", []any{"52:54:00:12:34:56", "52-54-00-12-34-56", "5254.0012.3456", "525400123456"}, []any{"52:54:00:12:34", "zz:54:00:12:34:56", ""}},
		{"iso_8601", []any{"2026-11-25T18:00:00Z", "2026-11-25T18:00:00.5+01:00", "2026-11-25", "20261125T180000Z"}, []any{"25/11/2026", "2026-13-01", ""}},
		{"expiration", []any{"", "2030-01-01T00:00:00Z"}, []any{"2020-01-01T00:00:00Z", "tomorrow"}},
		{"timezone", []any{"", "UTC", "Europe/Paris", "America/New_York"}, []any{"Mars/Olympus", "Local", "../etc/passwd", "/etc/localtime"}},
		{"cron_expression", []any{"", "*/5 * * * *", "0 3 * * mon-fri", "0 0 L * ?", "30 2 1,15 jan-jun * 10", "@daily"}, []any{"* * * *", "61 * * * *", "* * * * * * *", "0 0 * 13 *", "5-1 * * * *", "*/0 * * * *"}},
		{"dns_name", []any{"", "www.example.com", "example.com.", "a-b"}, []any{"-a.com", "a..b", "a_b.com", "a.123", strings.Repeat("a", 64) + ".com"}},
		{"dns_domain", []any{"", "example.com."}, []any{"example.com", "-x.com."}},
		{"rel_dns_name", []any{"", "www", "node-0.ctlplane"}, []any{"www.", "a_b", strings.Repeat("a.", 127)}},
		{"test_constr", []any{"0", int64(0), "anything"}, nil},
	}
	for _, c := range cases {
		fn, ok := types.Constraint(c.name)
		if !ok {
			t.Errorf("%s is not registered", c.name)
			continue
		}
		for _, v := range c.good {
			if err := fn(t.Context(), v); err != nil {
				t.Errorf("%s(%q): %v", c.name, v, err)
			}
		}
		for _, v := range c.bad {
			if err := fn(t.Context(), v); err == nil {
				t.Errorf("%s(%q) accepted", c.name, v)
			}
		}
	}
	if got := strings.Join(types.ConstraintNames(), " "); !strings.Contains(got, "cron_expression dns_domain") {
		t.Errorf("names: %s", got)
	}
}

const constrained = `heat_template_version: rocky
parameters:
  addr: {type: string, default: 192.0.2.1, constraints: [{custom_constraint: ip_addr}]}
  dns: {type: comma_delimited_list, default: "192.0.2.53", constraints: [{custom_constraint: ip_addr}]}
  secret: {type: string, default: 192.0.2.9, hidden: true, constraints: [{custom_constraint: ip_addr}]}
  flavor: {type: string, default: baremetal, constraints: [{custom_constraint: nova.flavor, description: NOTE}]}
resources:
  v: {type: OS::Heat::Value, properties: {value: {get_param: addr}}}
`

func TestCustomConstraintValidation(t *testing.T) {
	h := newHarness(t)
	e := h.open(nil)
	ctx := t.Context()
	mk := func(tmpl string, p map[string]string) *Input {
		return &Input{TemplateFile: "c.yaml", Template: tmpl, Params: p}
	}
	noFlavor := strings.Replace(constrained, ", description: NOTE", "", 1)
	err := e.Create(ctx, "s", mk(noFlavor, nil))
	if err == nil || !strings.Contains(err.Error(), `c.yaml:6: parameters.flavor: invalid: "baremetal" does not validate nova.flavor (constraint not found)`) {
		t.Fatalf("missing constraint plug-in: %v", err)
	}
	err = e.Create(ctx, "s", mk(constrained, nil))
	if err == nil || !strings.Contains(err.Error(), "parameters.flavor: invalid: NOTE") {
		t.Fatalf("description: %v", err)
	}
	h.types.RegisterConstraint("nova.flavor", func(_ context.Context, v any) error {
		if v != "baremetal" {
			return errors.New("no such flavor")
		}
		return nil
	})
	for p, want := range map[string]string{
		"addr":   `parameters.addr: invalid: "1.2.3" does not validate ip_addr: Invalid IP address`,
		"dns":    `parameters.dns: invalid: "x" does not validate ip_addr: Invalid IP address`,
		"secret": `parameters.secret: invalid: "******" does not validate ip_addr: Invalid IP address`,
		"flavor": `parameters.flavor: invalid: NOTE`,
	} {
		v := map[string]string{"addr": "1.2.3", "dns": "192.0.2.1,x", "secret": "1.2.3", "flavor": "tiny"}[p]
		if _, err := e.Plan(ctx, "s", mk(constrained, map[string]string{p: v})); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%s: %v", p, v, err)
		}
	}
	if err := e.Create(ctx, "s", mk(constrained, nil)); err != nil {
		t.Fatal(err)
	}
	if err := e.Update(ctx, &Input{Params: map[string]string{"addr": "192.0.2.300"}}); err == nil || !strings.Contains(err.Error(), "ip_addr") {
		t.Errorf("update with a bad address: %v", err)
	}
	// A nested stack's parameters are checked too.
	nested := &Input{TemplateFile: "p.yaml", Files: map[string]string{"c.yaml": constrained}, Template: `heat_template_version: rocky
resources:
  inner: {type: c.yaml, properties: {addr: not-an-ip}}
`}
	if err := e.Update(ctx, nested); err == nil || !strings.Contains(err.Error(), `nested stack c.yaml: c.yaml:3: parameters.addr: invalid: "not-an-ip" does not validate ip_addr`) {
		t.Errorf("nested: %v", err)
	}
}

func FuzzCustomConstraints(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "10.0.0.0/8", "52:54:00:12:34:56", "2026-11-25T18:00:00Z", "Europe/Paris",
		"*/5 0-23/2 L jan-dec mon-fri 30", "www.example.com.", "1-", "0 0 * * sun,sat"} {
		f.Add(s)
	}
	types := NewTypes()
	names := types.ConstraintNames()
	f.Fuzz(func(t *testing.T, v string) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		for _, n := range names {
			if n == "test_constr" {
				continue
			}
			fn, _ := types.Constraint(n)
			_ = fn(ctx, v)
		}
	})
}
