package config

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/internal/peertest"
)

// The tests in this file compare the library, case by case, with the real
// pystache + os-apply-config renderer and Python's json module, run through
// testdata/pyoracle.py by the interpreter of Debian's os-apply-config.

type oracleCase struct {
	Op   string `json:"op"`
	T    string `json:"t,omitempty"`
	M    string `json:"m"`
	K    string `json:"k,omitempty"`
	Type string `json:"type,omitempty"`
}

type oracleResult struct {
	Out     *string `json:"out"`
	Err     string  `json:"err"`
	Missing bool    `json:"missing"`
}

func oraclePython(t *testing.T) string {
	t.Helper()
	oac := peertest.Look(t, "os-apply-config")[0]
	b, err := os.ReadFile(oac)
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	py := strings.TrimSpace(strings.TrimPrefix(line, "#!"))
	if py == "" {
		t.Fatalf("no interpreter in %s's first line %q", oac, line)
	}
	return py
}

func runOracle(t *testing.T, cases []oracleCase) []oracleResult {
	t.Helper()
	py := oraclePython(t)
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, c := range cases {
		if err := enc.Encode(c); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(t.Context(), py, "testdata/pyoracle.py")
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v\n%s", err, stderr.String())
	}
	var res []oracleResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var r oracleResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("oracle output %q: %v", sc.Text(), err)
		}
		res = append(res, r)
	}
	if len(res) != len(cases) {
		t.Fatalf("oracle answered %d of %d cases\n%s", len(res), len(cases), stderr.String())
	}
	return res
}

// jsonCorpus is metadata and values exercising Python's json module.
var jsonCorpus = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `7`, `-12`,
	`123456789012345678901234567890123456789`,
	`1.0`, `1.10`, `100.0`, `1e16`, `1E16`, `1e15`, `123456789012345678.0`, `1e-7`, `0.0001`, `0.00001`,
	`2.5e-05`, `5e-324`, `-0.0`, `1.7976931348623157e308`, `1E400`, `-1E400`, `NaN`, `Infinity`, `-Infinity`,
	`0.1`, `0.30000000000000004`, `3.14159`, `1e22`, `1e21`, `12345.678e3`, `9007199254740993.0`,
	`"plain"`, `"with \"quotes\" and \\ backslash"`, `"tab\there\nnewline\r\f\b"`,
	`"\u0001\u001f\u007f\u0080"`, `"caf\u00e9 \u65e5\u672c"`, `"emoji \ud83d\ude00"`, `"lone \ud800 x"`,
	`"slash \/ <b>&amp;</b>"`, `"\u2028\u2029"`,
	`{"a": 1, "b": [1, 2, {"c": null}], "d": {"e": "f"}}`,
	`{"b": 1, "a": 2, "b": 3}`,
	`{"nested": {"deep": {"deeper": [[], {}, [[1]], ""]}}}`,
	`[1, "two", 3.0, null, true, {"k": "v"}]`,
	`{"unicode": "\u00fcber", "list": ["\u00e9"]}`,
	` { "spaced" :  [ 1 , 2 ] } `,
}

func TestJSONMatchesPython(t *testing.T) {
	var cases []oracleCase
	for _, m := range jsonCorpus {
		cases = append(cases, oracleCase{Op: "dumps", M: m}, oracleCase{Op: "indent", M: m})
		if !strings.Contains(m, `\ud800`) { // Python cannot print a lone surrogate
			cases = append(cases, oracleCase{Op: "str", M: m})
		}
	}
	res := runOracle(t, cases)
	for i, c := range cases {
		r := res[i]
		v, err := DecodeJSON([]byte(c.M))
		if r.Err != "" {
			t.Errorf("%s %s: python failed: %s", c.Op, c.M, r.Err)
			continue
		}
		if err != nil {
			t.Errorf("DecodeJSON(%s): %v", c.M, err)
			continue
		}
		var got string
		switch c.Op {
		case "dumps":
			got = string(AppendJSON(nil, v))
		case "indent":
			got = string(MarshalIndent(v, 1))
		case "str":
			got = PyStr(v)
		}
		if got != *r.Out {
			t.Errorf("%s %s:\n got %q\nwant %q", c.Op, c.M, got, *r.Out)
		}
	}
}

func TestDecodeJSONRejectsWhatPythonRejects(t *testing.T) {
	bad := []string{
		``, ` `, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[1 2]`, `01`, `1.`, `.5`, `+1`, `1e`, `--1`,
		`"unterminated`, `"ctrl ` + "\x01" + `"`, `"bad \x escape"`, `"\u12"`, `{'a': 1}`, `nul`, `True`,
		`{"a": 1} x`, `[] []`, `-`, `-NaN`, `infinity`, "\ufeff{}", `{1: 2}`,
		`"` + strings.Repeat("9", 10) + `"x`, strings.Repeat("9", 4301),
	}
	var cases []oracleCase
	for _, m := range bad {
		cases = append(cases, oracleCase{Op: "dumps", M: m})
	}
	res := runOracle(t, cases)
	for i, m := range bad {
		_, err := DecodeJSON([]byte(m))
		pyErr := res[i].Err != ""
		if pyErr != (err != nil) {
			t.Errorf("DecodeJSON(%q): err=%v; python err=%q", m, err, res[i].Err)
		}
	}
}

// mustacheCases are templates rendered against mustacheMetadata.
var mustacheCases = []string{
	"plain text, no tags\n",
	"{{s}} {{{s}}} {{&s}}",
	"{{html}}|{{{html}}}|{{&html}}",
	"{{i}} {{f}} {{big}} {{neg}} {{t}} {{fa}} {{n}}|",
	"{{floats}}",
	"{{obj}}\n{{list}}\n{{uni}}\n{{ulist}}",
	"{{missing}}|{{missing.deep}}|{{obj.missing}}|",
	"{{obj.a}} {{obj.b.c}} {{obj.b}} {{ obj.a }} {{\nobj.a\n}}",
	"{{list.0}}|{{dict0.0}}|{{dotted.key}}|{{with space}}|{{dash-key}}",
	"{{.}}",
	"{{#list}}[{{.}}]{{/list}}",
	"{{#objs}}{{name}}={{value}};{{/objs}}",
	"{{#obj}}{{a}}-{{s}}{{/obj}}",
	"{{#s}}{{.}}!{{/s}}",
	"{{#i}}{{.}}{{/i}}|{{#zero}}no{{/zero}}|{{#fzero}}no{{/fzero}}|{{#t}}{{.}}{{/t}}|{{#fa}}no{{/fa}}",
	"{{#empty}}no{{/empty}}|{{#emptyl}}no{{/emptyl}}|{{#emptyo}}no{{/emptyo}}|{{#n}}no{{/n}}|{{#missing}}no{{/missing}}",
	"{{^empty}}yes{{/empty}}|{{^emptyl}}yes{{/emptyl}}|{{^emptyo}}yes{{/emptyo}}|{{^n}}yes{{/n}}|{{^missing}}yes{{/missing}}|{{^s}}no{{/s}}",
	"{{#strzero}}{{.}}{{/strzero}}{{#strfalse}}{{.}}{{/strfalse}}",
	"{{#lol}}<{{#.}}{{.}},{{/.}}>{{/lol}}",
	"{{#objs}}{{s}}{{/objs}}",
	"{{#objs}}{{#obj}}{{a}}{{name}}{{/obj}}{{/objs}}",
	"{{#obj}}{{b.c}}{{/obj}}|{{#obj.b}}{{c}}{{/obj.b}}",
	"{{#mixed}}({{.}}){{/mixed}}",
	"{{! a comment }}x{{!\nmultiline\n}}y",
	"{{=<% %>=}}<% s %> {{s}} <%={{ }}=%>{{s}}",
	"{{= | | =}}|s| |#list||.||/list|",
	"begin\n{{#list}}\n  item {{.}}\n{{/list}}\nend\n",
	"begin\n  {{#list}}  \n  item {{.}}\n  {{/list}}\nend\n",
	"  {{! standalone comment }}\nline\n\t{{^missing}}\n\tinv\n\t{{/missing}}\n",
	"  {{s}}  \n  {{s}}\n",
	"{{#list}}{{.}}{{/list}}\n{{#list}}\n{{.}}\n{{/list}}",
	"\n{{#t}}\nyes\n{{/t}}\n",
	"a{{#t}}\nb\n{{/t}}c",
	"{{=<% %>=}}\n<%#list%>\n<%.%>\n<%/list%>\n",
	"{{#list}}{{/list}}{{^list}}{{/list}}",
	"{{a}b}}|{{}}|{{ }}|{{{x}}|{{#}}",
	"{{>nosuchpartial}}x",
	"{{s}}{{s}}{{s}}{{{obj}}}",
	"{{#deep}}{{#a}}{{#b}}{{c}}{{s}}{{/b}}{{/a}}{{/deep}}",
	"{{#list}}{{#objs}}{{.}}{{/objs}}{{/list}}",
	"{{#fnan}}nan{{/fnan}}{{fnan}}{{finf}}",
	"{{tmpl}}",
	"unicode ünïcödé {{uni}} {{#ulist}}{{.}}{{/ulist}}",
	"crlf\r\n{{#t}}\r\nx\r\n{{/t}}\r\n",
	"{{#list}}{{list}}{{/list}}",
	"{{#objs}}{{.}}{{/objs}}",
	"{{ #list }}{{ . }}{{ /list }}",
	"{{#a.b}}{{/a.b}}ok",
	"{{\ts\t}}",
	"{{=[[ ]]=}}[[s]][[={{ }}=]]{{s}}",
	"{{=a b c=}}asb",
}

const mustacheMetadata = `{
 "s": "str", "html": "<a href=\"x\">&amp;</a>", "i": 42, "f": 1.5, "big": 123456789012345678901234567890,
 "neg": -7, "t": true, "fa": false, "n": null, "floats": [1.0, 1e16, 1e-07, 2.5e-05, -0.0, 100.0, 1.1],
 "obj": {"a": "A", "b": {"c": "C"}, "s": "inner"}, "list": [1, 2, 3], "uni": "caf\u00e9",
 "ulist": ["\u00e9", "\u65e5"], "dict0": {"0": "zero-key"}, "dotted.key": "unreachable",
 "with space": "spaced", "dash-key": "dashed", "objs": [{"name": "n1", "value": 1}, {"name": "n2", "value": null}],
 "zero": 0, "fzero": 0.0, "empty": "", "emptyl": [], "emptyo": {}, "strzero": "0", "strfalse": "false",
 "lol": [[1, 2], [], ["a"]], "mixed": [0, null, false, "", [], {}, "x", 1.5, [1], {"k": "v"}],
 "deep": {"a": {"b": {"c": "deep-c"}}}, "fnan": NaN, "finf": -Infinity, "tmpl": "{{s}} stays"
}`

func TestMustacheMatchesPystache(t *testing.T) {
	var cases []oracleCase
	for _, tm := range mustacheCases {
		cases = append(cases, oracleCase{Op: "render", T: tm, M: mustacheMetadata})
	}
	res := runOracle(t, cases)
	md, err := DecodeJSON([]byte(mustacheMetadata))
	if err != nil {
		t.Fatal(err)
	}
	for i, tm := range mustacheCases {
		// os-apply-config reads templates in text mode: CR LF → LF.
		src := strings.ReplaceAll(tm, "\r\n", "\n")
		got, err := Mustache{}.Render("case", []byte(src), md)
		r := res[i]
		if r.Err != "" {
			if err == nil {
				t.Errorf("template %q: pystache failed (%s), we rendered %q", tm, r.Err, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("template %q: %v; pystache rendered %q", tm, err, *r.Out)
			continue
		}
		// The oracle gets the template without text-mode newline
		// translation, so translate its output the same way.
		want := strings.ReplaceAll(*r.Out, "\r\n", "\n")
		if string(got) != want {
			t.Errorf("template %q:\n got %q\nwant %q", tm, got, want)
		}
	}
}

func TestKeyMatchesPython(t *testing.T) {
	const md = `{"s": "abc", "sn": "abc\n", "i": 5, "neg": -5, "f": 1.5, "t": true, "fa": false, "n": null,
	 "l": [10, 20, {"x": "y"}], "o": {"a": {"b": "c"}, "": "empty-key"}, "ip": "192.168.0.1",
	 "ip6": "fe80::1/64", "dev": "eth0.100", "under": "a_b",
	 "dsn": "mysql://user:pass@host/db?charset=utf8", "dsn2": "mysql+pymysql://u:p@h/d",
	 "dsn3": "sqlite:///var/lib/x.db", "dsn4": "mysql://u:p@h/d?a=b&c=d",
	 "swift": "r1z1-192.168.0.2:%PORT%/d1,r1z2-10.0.0.1:%PORT%/d2", "swiftbad": "r1z1-host:6000/d1",
	 "user": "nova-compute", "uni": "\u00e9t\u00e9", "empty": "", "zero": 0}`
	keys := []string{"s", "sn", "i", "neg", "f", "t", "fa", "n", "l", "l.0", "l.-1", "l.-1.x", "l.5", "l.x", "o", "o.a.b",
		"o.", "ip", "ip6", "dev", "under", "dsn", "dsn2", "dsn3", "dsn4", "swift", "swiftbad", "user", "uni", "empty",
		"zero", "missing", "s.0", "o.a.b.c", "l. 1", "l.+1", "l.1_0"}
	var cases []oracleCase
	for _, k := range keys {
		for _, typ := range KeyTypes {
			cases = append(cases, oracleCase{Op: "key", M: md, K: k, Type: typ})
		}
	}
	res := runOracle(t, cases)
	root, err := DecodeJSON([]byte(md))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		r := res[i]
		v, found := LookupKey(root.(*Object), c.K)
		if r.Missing {
			if found {
				t.Errorf("key %q: found %v, python: missing", c.K, v)
			}
			continue
		}
		if !found {
			t.Errorf("key %q type %s: not found; python: %+v", c.K, c.Type, r)
			continue
		}
		got, err := FormatKey(v, c.Type)
		switch {
		case r.Err != "" && err == nil:
			t.Errorf("key %q type %s: we print %q, python fails: %s", c.K, c.Type, got, r.Err)
		case r.Err == "" && err != nil:
			t.Errorf("key %q type %s: %v; python prints %q", c.K, c.Type, err, *r.Out)
		case r.Err != "":
			// Both fail: the messages must agree (Python's names the value).
			if want := strings.TrimPrefix(r.Err, "ConfigException: "); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("key %q type %s: error %q, python %q", c.K, c.Type, err, want)
			}
		case got != *r.Out:
			t.Errorf("key %q type %s: got %q, python %q", c.K, c.Type, got, *r.Out)
		}
	}
}
