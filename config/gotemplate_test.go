package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
)

const goMeta = `{"name": "node1", "port": 8080, "big": 123456789012345678901234567890,
 "ratio": 1.0, "huge": 1e300, "on": true, "off": false, "none": null, "empty": "",
 "z": {"b": 2, "a": [1, "x", null, {"k": "é"}]}, "list": ["b", "a", 3],
 "services": {"nova": {"port": 8774}, "glance": {"port": 9292}}}`

func TestGoTemplate(t *testing.T) {
	md := metadata(t, goMeta)
	tests := []struct{ src, want string }{
		{`{{.name}}:{{.port}}`, "node1:8080"},
		{`{{if eq .port 8080}}yes{{end}}`, "yes"},
		{`{{.big}}`, "123456789012345678901234567890"},
		{`{{.ratio}} {{.huge}}`, "1.0 1e+300"},
		{`{{.on}} {{.off}} [{{.none}}] [{{.empty}}]`, "true false [] []"},
		{`{{if .none}}x{{else}}null is false{{end}}`, "null is false"},
		{`{{.missing}}`, "<no value>"},
		{`[{{text .missing}}] [{{text .none}}] {{text .z}}`, `[] [] {"b": 2, "a": [1, "x", null, {"k": "\u00e9"}]}`},
		{`{{.missing | default "dflt"}} {{.empty | default "e"}} {{.name | default "n"}}`, "dflt e node1"},
		{`{{json .z}} {{json .name}} {{json .ratio}}`, `{"b": 2, "a": [1, "x", null, {"k": "\u00e9"}]} "node1" 1.0`},
		{`{{jsonIndent 1 .z.a}}`, "[\n 1,\n \"x\",\n null,\n {\n  \"k\": \"\\u00e9\"\n }\n]"},
		{`{{.z.b}} {{index .z.a 1}} {{(index .z.a 3).k}}`, "2 x é"},
		{`{{range keys .z}}{{.}},{{end}}`, "b,a,"},
		{`{{range items .services}}{{.Key}}={{.Value.port}} {{end}}`, "nova=8774 glance=9292 "},
		{`{{range $k, $v := .services}}{{$k}}={{$v.port}} {{end}}`, "glance=9292 nova=8774 "},
		{`{{range .list}}{{.}};{{end}}`, "b;a;3;"},
		{`{{join "," .list}}`, "b,a,3"},
		{`{{range split "," "a,b"}}<{{.}}>{{end}}`, "<a><b>"},
		{`{{upper .name}} {{lower "AB"}} {{trim "  x "}} {{replace "o" "0" .name}}`, "NODE1 ab x n0de1"},
		{`{{contains "ode" .name}} {{hasPrefix "no" .name}} {{hasSuffix "x" .name}}`, "true true false"},
		{"{{indent 2 \"a\\nb\"}}", "  a\n  b"},
		{`{{json (index (items .services) 0)}}`, `{"Key": "nova", "Value": {"port": 8774}}`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := GoTemplate{}.Render("t", []byte(tt.src), md)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGoTemplateErrors(t *testing.T) {
	md := metadata(t, goMeta)
	tests := []struct {
		g    GoTemplate
		src  string
		line int
		msg  string
	}{
		{GoTemplate{}, "a\n{{if}}", 2, "missing value for if"},
		{GoTemplate{}, "a\nb\n{{.name", 3, "unclosed action"},
		{GoTemplate{}, "\n{{.name.x}}", 2, "can't evaluate field x"},
		{GoTemplate{MissingKeyError: true}, "{{.nope}}", 1, `map has no entry for key "nope"`},
		{GoTemplate{}, "{{nosuchfunc 1}}", 1, `function "nosuchfunc" not defined`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := tt.g.Render("dir/x:y", []byte(tt.src), md)
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("error %v (%T), want *TemplateError", err, err)
			}
			if te.File != "dir/x:y" || te.Line != tt.line || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %+v %q, want line %d and %q", te, err, tt.line, tt.msg)
			}
		})
	}
}

func TestGoTemplateFuncsAndApply(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	tree(t, dir, map[string]string{"t/a": "{{shout .name}}", "t/b": "{{range items .}}{{.Key}} {{end}}"})
	g := GoTemplate{Funcs: template.FuncMap{"shout": func(s string) string { return strings.ToUpper(s) + "!" }}}
	if _, err := Apply(t.Context(), metadata(t, `{"name": "n", "z": 1, "a": 2}`), &ApplyOptions{TemplatesDir: filepath.Join(dir, "t"), OutputDir: filepath.Join(dir, "o"), Renderer: g}); err != nil {
		t.Fatal(err)
	}
	want := []string{"a 0644 0:0 N!", "b 0644 0:0 name z a "}
	if got := listTree(t, filepath.Join(dir, "o")); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func ExampleGoTemplate() {
	md, _ := DecodeJSON([]byte(`{"hosts": {"web1": "10.0.0.1", "db1": "10.0.0.2"}, "port": 80, "tls": null}`))
	src := `{{range items .hosts}}{{.Key}} {{.Value}}:{{$.port}}
{{end}}{{if eq .port 80}}plain http{{end}}{{if .tls}} and tls{{end}}
`
	out, err := GoTemplate{}.Render("hosts", []byte(src), md)
	if err != nil {
		panic(err)
	}
	fmt.Print(string(out))
	// Output:
	// web1 10.0.0.1:80
	// db1 10.0.0.2:80
	// plain http
}
