package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func intp(i int) *int { return &i }

// The expectations were taken from Debian's os-apply-config 12.0.0
// (PyYAML 6.0) on the same inputs.
func TestParseControl(t *testing.T) {
	tests := []struct {
		in   string
		want Control
		err  string // substring of the error; "" means success
		key  string // ControlError.Key when err != ""
	}{
		{in: "", want: Control{}},
		{in: "~", want: Control{}},
		{in: "[]", want: Control{}},
		{in: "{}", want: Control{}},
		{in: "0", want: Control{}},
		{in: "false", want: Control{}},
		{in: "# only a comment\n", want: Control{}},
		{in: "- a", err: "header is not a dict: tpl"},
		{in: "x", err: "header is not a dict: tpl"},
		{in: "mode: 0644", want: Control{Mode: 0o644}},
		{in: "mode: 0x1ff", want: Control{Mode: 0o777}},
		{in: "mode: 0x1FF", want: Control{Mode: 0o777}},
		{in: "mode: 0b110100100", want: Control{Mode: 0o644}},
		{in: "mode: 1:30", want: Control{Mode: 90}},
		{in: "mode: 1:5", want: Control{Mode: 65}},
		{in: "mode: 420", want: Control{Mode: 0o644}},
		{in: "mode: 0_644", want: Control{Mode: 0o644}},
		{in: "mode: +0644", want: Control{Mode: 0o644}},
		{in: "mode: 0x_1ff", want: Control{Mode: 0o777}},
		{in: "mode: 0b1_0", want: Control{Mode: 2}},
		{in: "mode: 1__2", want: Control{Mode: 12}},
		{in: "mode: +12", want: Control{Mode: 12}},
		{in: "mode: -0", want: Control{}},
		{in: "mode: 0", want: Control{}},
		{in: "mode: 00", want: Control{}},
		{in: "mode: !!int 0644", want: Control{Mode: 0o644}},
		{in: "mode: 0644\nmode: 0600", want: Control{Mode: 0o600}},
		{in: "mode: 0o644", err: "mode '0o644' is not numeric", key: "mode"},
		{in: "mode: '0644'", err: "mode '0644' is not numeric", key: "mode"},
		{in: "mode: !!str 0644", err: "mode '0644' is not numeric", key: "mode"},
		{in: "mode: 600", err: "mode '0o1130' out of range", key: "mode"},
		{in: "mode: 6_4_4", err: "mode '0o1204' out of range", key: "mode"},
		{in: "mode: 1:0:0", err: "mode '0o7020' out of range", key: "mode"},
		{in: "mode: 190:20:30", err: "mode '0o2472256' out of range", key: "mode"},
		{in: "mode: -1:30", err: "mode '-0o132' out of range", key: "mode"},
		{in: "mode: 04755", err: "mode '0o4755' out of range", key: "mode"},
		{in: "mode: -1", err: "mode '-0o1' out of range", key: "mode"},
		{in: "mode: 99999999999999999999999", err: "out of range", key: "mode"},
		{in: "mode: true", err: "mode 'True' is not numeric", key: "mode"},
		{in: "mode: 1e3", err: "mode '1e3' is not numeric", key: "mode"},
		{in: "mode: 0644.0", err: "mode '644.0' is not numeric", key: "mode"},
		{in: "mode: .5", err: "mode '0.5' is not numeric", key: "mode"},
		{in: "mode: 0.", err: "mode '0.0' is not numeric", key: "mode"},
		{in: "mode: 1:30.5", err: "mode '90.5' is not numeric", key: "mode"},
		{in: "mode: ~", err: "mode 'None' is not numeric", key: "mode"},
		{in: "mode:", err: "mode 'None' is not numeric", key: "mode"},
		{in: "mode: 07:30", err: "mode '07:30' is not numeric", key: "mode"},
		{in: "mode: 08", err: "mode '08' is not numeric", key: "mode"},
		{in: "mode: 0999", err: "mode '0999' is not numeric", key: "mode"},
		{in: "mode: 0X1ff", err: "mode '0X1ff' is not numeric", key: "mode"},
		{in: "mode: 0B11", err: "mode '0B11' is not numeric", key: "mode"},
		{in: "mode: 1:60", err: "mode '1:60' is not numeric", key: "mode"},
		{in: "mode: 0o", err: "mode '0o' is not numeric", key: "mode"},
		{in: "mode: 0x", err: "mode '0x' is not numeric", key: "mode"},
		{in: "mode: [1]", err: "mode '[1]' is not numeric", key: "mode"},
		{in: "mode: {a: 1}", err: "mode '{'a': 1}' is not numeric", key: "mode"},
		{in: "mode: 2017-01-01", err: "mode '2017-01-01' is not numeric", key: "mode"},
		{in: "mode: .inf", err: "mode 'inf' is not numeric", key: "mode"},
		{in: "allow_empty: yes", want: Control{}},
		{in: "allow_empty: No", want: Control{DeleteEmpty: true}},
		{in: "allow_empty: OFF", want: Control{DeleteEmpty: true}},
		{in: "allow_empty: false", want: Control{DeleteEmpty: true}},
		{in: "allow_empty: ON", want: Control{}},
		{in: "allow_empty: TRUE", want: Control{}},
		{in: "allow_empty: !!bool no", want: Control{DeleteEmpty: true}},
		{in: "allow_empty: y", err: "allow_empty requires Boolean, got: 'y'", key: "allow_empty"},
		{in: "allow_empty: n", err: "allow_empty requires Boolean, got: 'n'", key: "allow_empty"},
		{in: "allow_empty: tRUE", err: "allow_empty requires Boolean, got: 'tRUE'", key: "allow_empty"},
		{in: "allow_empty: 'yes'", err: "allow_empty requires Boolean, got: 'yes'", key: "allow_empty"},
		{in: "allow_empty: 1", err: "allow_empty requires Boolean, got: '1'", key: "allow_empty"},
		{in: "allow_empty: ~", err: "allow_empty requires Boolean, got: 'None'", key: "allow_empty"},
		{in: "owner: 0", want: Control{Owner: intp(0)}},
		{in: "owner: root", want: Control{Owner: intp(0)}},
		{in: "owner: nobody", want: Control{Owner: intp(65534)}},
		{in: "owner: 65534", want: Control{Owner: intp(65534)}},
		{in: "group: daemon", want: Control{Group: intp(1)}},
		{in: "group: 1", want: Control{Group: intp(1)}},
		{in: "owner: 1.5", err: "owner '1.5' must be a string or int", key: "owner"},
		{in: "owner: ~", err: "owner 'None' must be a string or int", key: "owner"},
		{in: "owner: true", err: "owner 'True' must be a string or int", key: "owner"},
		{in: "group: true", err: "group 'True' must be a string or int", key: "group"},
		{in: "owner: nosuch", err: "owner 'nosuch' not found in passwd database", key: "owner"},
		{in: "owner: 99999", err: "owner '99999' not found in passwd database", key: "owner"},
		{in: `owner: "0"`, err: "owner '0' not found in passwd database", key: "owner"},
		{in: "owner: -1", err: "owner '-1' not found in passwd database", key: "owner"},
		{in: "group: nosuch", err: "group 'nosuch' not found in group database", key: "group"},
		{in: "foo: 1", err: "unrecognised file control key 'foo'", key: "foo"},
		// The original crashes on body (TypeError) and accepts set/_mode;
		// we reject every key that is not one of the four.
		{in: "body: x", err: "unrecognised file control key 'body'", key: "body"},
		{in: "set: 1", err: "unrecognised file control key 'set'", key: "set"},
		{in: "_mode: 1", err: "unrecognised file control key '_mode'", key: "_mode"},
		{in: "1: 1", err: "unrecognised file control key '1'", key: "1"},
		{in: "mode: =", err: "could not determine a constructor"},
		{in: "mode: [", err: "yaml"},
		{in: "a: 1\n---\nb: 2\n", err: "single document"},
		{in: "base: &b {mode: 0600}\n", err: "unrecognised file control key 'base'", key: "base"},
		{in: "mode: &m 0\ngroup: *m\nallow_empty: &f off", want: Control{Group: intp(0), DeleteEmpty: true}},
		{in: "{<<: {mode: 0600, owner: 0}, mode: 0640}", want: Control{Mode: 0o640, Owner: intp(0)}},
		{in: `"mode": 0644`, want: Control{Mode: 0o644}},
		{in: "? mode\n: 0644", want: Control{Mode: 0o644}},
		{in: "---\nmode: 0644\n...\n", want: Control{Mode: 0o644}},
		{in: "!!map {mode: 0644}", want: Control{Mode: 0o644}},
		{in: "mode: 8:31", want: Control{Mode: 0o777}},
		{in: "mode: 0_", want: Control{}},
		{in: "owner: !!int '0'", want: Control{Owner: intp(0)}},
		{in: "owner: 00", want: Control{Owner: intp(0)}},
		{in: "owner: 0x0", want: Control{Owner: intp(0)}},
		{in: `group: "\x72oot"`, want: Control{Group: intp(0)}},
		{in: "<<: [{mode: 0644}, {mode: 0600, owner: 0}]", want: Control{Mode: 0o644, Owner: intp(0)}},
		{in: "mode: |\n  0644\n", err: "mode '0644\n' is not numeric", key: "mode"},
		{in: "mode: !!float 1", err: "mode '1.0' is not numeric", key: "mode"},
		{in: "mode: 1_0.5", err: "mode '10.5' is not numeric", key: "mode"},
		{in: "mode: 0b", err: "mode '0b' is not numeric", key: "mode"},
		{in: "mode: [1, 'a', {b: [2, null, true]}]", err: "mode '[1, 'a', {'b': [2, None, True]}]' is not numeric", key: "mode"},
		{in: "mode: {1: 2, yes: no}", err: "mode '{1: False}' is not numeric", key: "mode"},
		{in: "mode: [1.5, .inf, -0.0, 1e20]", err: "mode '[1.5, inf, -0.0, '1e20']' is not numeric", key: "mode"},
		{in: "owner: !!str 0", err: "owner '0' not found in passwd database", key: "owner"},
		{in: "owner: yes", err: "owner 'True' must be a string or int", key: "owner"},
		{in: "owner: 1:0", err: "owner '60' not found in passwd database", key: "owner"},
		{in: "owner: 4294967296", err: "owner '4294967296' not found in passwd database", key: "owner"},
		{in: "mode: !foo 1", err: "could not determine a constructor"},
		{in: "mode: 0644\n  owner: 0", err: "yaml"},
		{in: "\xff: 1", err: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseControl("tpl", []byte(tt.in))
			if tt.err != "" {
				if err == nil {
					t.Fatalf("got %+v, want error %q", got, tt.err)
				}
				var ce *ControlError
				if !errors.As(err, &ce) {
					t.Fatalf("error %v is %T, want *ControlError", err, err)
				}
				if !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %q, want it to contain %q", err, tt.err)
				}
				if ce.Key != tt.key || ce.File != "tpl.oac" || ce.Template != "tpl" {
					t.Errorf("error fields %+v, want key %q file tpl.oac", ce, tt.key)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !sameControl(*got, tt.want) {
				t.Errorf("got %s, want %s", showControl(*got), showControl(tt.want))
			}
		})
	}
}

func sameControl(a, b Control) bool {
	eq := func(x, y *int) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.Mode == b.Mode && a.DeleteEmpty == b.DeleteEmpty && eq(a.Owner, b.Owner) && eq(a.Group, b.Group)
}

func showControl(c Control) string {
	s := func(p *int) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("{mode %#o owner %s group %s deleteEmpty %v}", c.Mode, s(c.Owner), s(c.Group), c.DeleteEmpty)
}

func FuzzParseOAC(f *testing.F) {
	for _, s := range []string{"", "mode: 0644", "owner: root\ngroup: daemon\n", "allow_empty: no", "mode: 1:30", "{<<: {mode: 0600}}", "mode: [1, {a: b}]", "- a"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseControl("t", data)
		if err != nil {
			var ce *ControlError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is %T, want *ControlError", err, err)
			}
			return
		}
		if c.Mode > 0o777 {
			t.Fatalf("mode %o out of range accepted", c.Mode)
		}
	})
}

func TestParseControlFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.oac")
	if err := os.WriteFile(p, []byte("mode: 0600\nallow_empty: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseControl(filepath.Join(dir, "f"), data)
	if err != nil || c.Mode != 0o600 || !c.DeleteEmpty {
		t.Fatalf("got %+v, %v", c, err)
	}
}

func ExampleParseControl() {
	c, err := ParseControl("templates/etc/app.conf", []byte("mode: 0640\ngroup: 0\nallow_empty: no\n"))
	if err != nil {
		panic(err)
	}
	fmt.Printf("mode %#o, group %d, delete when empty: %v\n", c.Mode, *c.Group, c.DeleteEmpty)

	_, err = ParseControl("templates/etc/app.conf", []byte("mode: 600\n"))
	var ce *ControlError
	if errors.As(err, &ce) {
		fmt.Printf("%s (key %s)\n", ce, ce.Key)
	}
	// Output:
	// mode 0640, group 0, delete when empty: true
	// templates/etc/app.conf.oac: mode '0o1130' out of range (key mode)
}
