package argparse

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func testParser() *Parser {
	return &Parser{
		Prog:        "prog",
		Description: "A test program.",
		Version:     "1.2.3",
		Columns:     80,
		Options: []*Option{
			{Short: "-t", Long: "--templates", Metavar: "ROOT", Help: "the root"},
			{Short: "-m", Long: "--metadata", Nargs: ZeroOrMore, Help: "files"},
			{Short: "-v", Long: "--validate", Action: StoreTrue, Help: "validate"},
			{Long: "--key", Help: "a key"},
			{Long: "--key-default", Help: "a default"},
			{Long: "--version", Action: Version},
		},
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		args []string
		want string // "dest=value ..." sorted, or "exit N: msg"
	}{
		{nil, ""},
		{[]string{"-t", "x"}, "templates=x"},
		{[]string{"-tx"}, "templates=x"},
		{[]string{"-t=x"}, "templates=x"},
		{[]string{"--templates=x=y"}, "templates=x=y"},
		{[]string{"--temp", "x"}, "templates=x"},
		{[]string{"--temp=x"}, "templates=x"},
		{[]string{"-vtx"}, "templates=x validate=true"},
		{[]string{"-vt", "x"}, "templates=x validate=true"},
		{[]string{"-vv"}, "validate=true"},
		{[]string{"-tv"}, "templates=v"},
		{[]string{"-m"}, "metadata=[]"},
		{[]string{"-m", "a", "b", "-v"}, "metadata=[a b] validate=true"},
		{[]string{"-m", "a", "-m", "b"}, "metadata=[b]"},
		{[]string{"-m", "-1", "-2.5", "-"}, "metadata=[-1 -2.5 -]"},
		{[]string{"-m", "-a b"}, "metadata=[-a b]"},
		{[]string{"--key="}, "key="},
		{[]string{"--key=-x"}, "key=-x"},
		{[]string{"--key", "-1"}, "key=-1"},
		{[]string{"--key", "a", "--key", "b"}, "key=b"},
		{[]string{"--key", "-x"}, "exit 2: argument --key: expected one argument"},
		{[]string{"--ke", "x"}, "exit 2: ambiguous option: --ke could match --key, --key-default"},
		{[]string{"--v"}, "exit 2: ambiguous option: --v could match --validate, --version"},
		{[]string{"-t"}, "exit 2: argument -t/--templates: expected one argument"},
		{[]string{"-v=1"}, "exit 2: argument -v/--validate: ignored explicit argument '1'"},
		{[]string{"--validate=1"}, "exit 2: argument -v/--validate: ignored explicit argument '1'"},
		{[]string{"-vx"}, "exit 2: argument -v/--validate: ignored explicit argument 'x'"},
		{[]string{"x", "--bogus", "y", "-v", "z"}, "exit 2: unrecognized arguments: x --bogus y z"},
		{[]string{"-m", "--", "a"}, "exit 2: unrecognized arguments: -- a"},
		{[]string{"-"}, "exit 2: unrecognized arguments: -"},
		{[]string{"-m=a", "b"}, "exit 2: unrecognized arguments: b"},
		{[]string{"--ver"}, "exit 0: "},
		{[]string{"--version", "--bogus"}, "exit 0: "},
		{[]string{"--bogus", "--version"}, "exit 0: "},
		{[]string{"-h"}, "exit 0: "},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			v, err := testParser().Parse(tt.args)
			if got := describe(v, err); got != tt.want {
				t.Errorf("Parse(%q) = %q, want %q", tt.args, got, tt.want)
			}
		})
	}
}

func describe(v Values, err error) string {
	var ex *Exit
	if errors.As(err, &ex) {
		return fmt.Sprintf("exit %d: %s", ex.Code, ex.Msg)
	}
	var parts []string
	for k, x := range v {
		switch {
		case x.True:
			parts = append(parts, k+"=true")
		case x.List != nil || k == "metadata":
			parts = append(parts, fmt.Sprintf("%s=%v", k, x.List))
		default:
			parts = append(parts, k+"="+x.Str)
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

func TestIntAndChoices(t *testing.T) {
	p := &Parser{Prog: "orc", Columns: 80, Options: []*Option{
		{Long: "--log-level", Choices: []string{"ERROR", "WARN", "INFO"}},
		{Long: "--timeout", Int: true},
	}}
	v, err := p.Parse([]string{"--log-level", "WARN", "--timeout= 1_0 "})
	if err != nil || v["log_level"].Str != "WARN" || v["timeout"].Int != 10 {
		t.Fatalf("got %+v, %v", v, err)
	}
	for args, want := range map[string]string{
		"--log-level=X":  "argument --log-level: invalid choice: 'X' (choose from 'ERROR', 'WARN', 'INFO')",
		"--timeout=x":    "argument --timeout: invalid int value: 'x'",
		"--timeout=1__0": "argument --timeout: invalid int value: '1__0'",
		"--timeout=+-1":  "argument --timeout: invalid int value: '+-1'",
	} {
		_, err := p.Parse(strings.Fields(args))
		if err == nil || err.Error() != want {
			t.Errorf("%s: err = %v, want %s", args, err, want)
		}
	}
	if u := p.Usage(); u != "usage: orc [-h] [--log-level {ERROR,WARN,INFO}] [--timeout TIMEOUT]\n" {
		t.Errorf("usage %q", u)
	}
}

func TestErrorText(t *testing.T) {
	_, err := testParser().Parse([]string{"--bogus"})
	var ex *Exit
	if !errors.As(err, &ex) {
		t.Fatalf("err = %v", err)
	}
	want := "usage: prog [-h] [-t ROOT] [-m [METADATA ...]] [-v] [--key KEY]\n" +
		"            [--key-default KEY_DEFAULT] [--version]\n" +
		"prog: error: unrecognized arguments: --bogus\n"
	if ex.Stderr != want || ex.Stdout != "" || ex.Code != 2 {
		t.Errorf("got code %d stdout %q stderr\n%s\nwant\n%s", ex.Code, ex.Stdout, ex.Stderr, want)
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		text  string
		width int
		want  []string
	}{
		{"a b c", 3, []string{"a b", "c"}},
		{"path (default: /usr/libexec/os-apply-config/templates)", 30, []string{"path (default:", "/usr/libexec/os-apply-", "config/templates)"}},
		{"aa-bb-cc-dd xx--yy 12-ab ab-12 a-b-c", 5, []string{"aa-", "bb-", "cc-dd", "xx--", "yy", "12-ab", "ab-12", "a-b-c"}},
		{"<int|default|netaddress|netdevice|dsn>", 10, []string{"<int|defau", "lt|netaddr", "ess|netdev", "ice|dsn>"}},
		{"  spaced   out\ttext ", 80, []string{"spaced out text"}},
	}
	for _, tt := range tests {
		if got := wrap(tt.text, tt.width); !slices.Equal(got, tt.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", tt.text, tt.width, got, tt.want)
		}
	}
}

func TestPyRepr(t *testing.T) {
	for in, want := range map[string]string{
		"a":      "'a'",
		"it's":   `"it's"`,
		`'"`:     `'\'"'`,
		"a\nb\\": `'a\nb\\'`,
		"é\x01":  `'é\x01'`,
	} {
		if got := PyRepr(in); got != want {
			t.Errorf("PyRepr(%q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"-t\x00x", "-vtx", "--temp=x\x00-m\x00a\x00b", "--ke", "-m\x00--\x00a", "-v=1", "--\x00-", "-\x00-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		v, err := testParser().Parse(args)
		if err != nil {
			var ex *Exit
			if !errors.As(err, &ex) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if ex.Code != 0 && ex.Code != 2 {
				t.Fatalf("exit code %d", ex.Code)
			}
			return
		}
		for k := range v {
			if !slices.Contains([]string{"templates", "metadata", "validate", "key", "key_default"}, k) {
				t.Fatalf("unexpected dest %q", k)
			}
		}
	})
}

func ExampleParser_Parse() {
	p := &Parser{
		Prog:    "tool",
		Columns: 80,
		Options: []*Option{
			{Short: "-m", Long: "--metadata", Nargs: ZeroOrMore},
			{Short: "-o", Long: "--output"},
		},
	}
	v, _ := p.Parse([]string{"-m", "a.json", "b.json", "--out=/tmp/x"})
	fmt.Println(v["metadata"].List, v["output"].Str)

	_, err := p.Parse([]string{"-m", "a", "-x"})
	fmt.Print(err.(*Exit).Stderr)
	// Output:
	// [a.json b.json] /tmp/x
	// usage: tool [-h] [-m [METADATA ...]] [-o OUTPUT]
	// tool: error: unrecognized arguments: -x
}
