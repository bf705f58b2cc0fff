package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tripleo-go/tripleo/internal/oacbench"
)

// mustacheErrorCases fail to parse or render, each in its own way, on
// various lines.
var mustacheErrorCases = []string{
	"{{/a}}",
	"x\ny\n  {{/a}}\n",
	"{{#a}}\n{{/b}}",
	"{{#a}}\n{{#b}}\n\n{{/a}}",
	"line1\n{{#a}}\nline3\n{{#b}}x{{/b}}",
	"{{#a}}{{^b}}",
	"one\ntwo\n{{=x=}}",
	"one\n  {{= a b =}}\n{{=(( ))=}}\n((#x))\n((/y))",
	"{{=a\u00a0b=}}a#xb\n\nab",
	"{{>p}}", "  {{>p}}\n", "{{>deep}}", "{{>bad}}", "{{>err}}",
	"{{#list}}{{>bad}}{{/list}}",
	"{{#t}}\n{{#obj}}\n{{/t}}",
	"\u00e9\n{{/\u00e9}}",
	"a\r\n{{/b}}",
}

// referenceMustache is the Mustache both implementations run in the
// differential tests, with partials that nest, indent, recurse without end
// and fail.
var referenceMustache = Mustache{Partials: func(name string) (string, bool, error) {
	switch name {
	case "p":
		return "partial {{s}}\n{{#list}}{{.}}{{/list}}\nlast", true, nil
	case "deep":
		return "{{#list}}{{.}}{{/list}}\n {{>deep}}", true, nil
	case "bad":
		return "line\n{{#open}}", true, nil
	case "err":
		return "", false, fmt.Errorf("cannot read")
	case "none":
		return "", false, nil
	}
	// Not "{{>" + name + "}}": a name holding tags would make the
	// partials nest exponentially.
	return "partial {{" + name + "}}\n  {{>deep}}\n", true, nil
}}

// checkSameAsReference renders src with the tuned renderer and the
// reference one and fails unless output and error text are the same, as
// are ParseMustache's verdicts.
func checkSameAsReference(t *testing.T, m Mustache, src []byte, data any) {
	t.Helper()
	got, gerr := m.Render("t", src, data)
	want, werr := refRenderTemplate(m, "t", src, data)
	if fmt.Sprint(gerr) != fmt.Sprint(werr) {
		t.Fatalf("template %q: error %v, reference %v", src, gerr, werr)
	}
	if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
		t.Fatalf("template %q:\n got %q\nwant %q", src, got, want)
	}
	perr := ParseMustache("t", src)
	var rperr error
	if !utf8.Valid(src) {
		rperr = &TemplateError{File: "t", Line: lineOf(src, firstInvalidUTF8(src)), Err: errors.New("not valid UTF-8")}
	} else if _, err := refParse(string(src), defaultDelims); err != nil {
		err.File = "t"
		rperr = err
	}
	if fmt.Sprint(perr) != fmt.Sprint(rperr) {
		t.Fatalf("template %q: ParseMustache %v, reference %v", src, perr, rperr)
	}
}

// TestMustacheMatchesReference renders the oracle cases, the error cases
// and both oacbench scenarios with the tuned renderer and with the
// reference (the code before tuning), and wants the same bytes and errors.
func TestMustacheMatchesReference(t *testing.T) {
	md, err := DecodeJSON([]byte(mustacheMetadata))
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range append(append([]string(nil), mustacheCases...), mustacheErrorCases...) {
		for _, m := range []Mustache{{}, referenceMustache} {
			checkSameAsReference(t, m, []byte(tm), md)
			checkSameAsReference(t, m, []byte(strings.Repeat(tm, 3)), md)
		}
	}
	for _, s := range oacbench.Scenarios {
		in, err := oacbench.Generate(t.TempDir(), s)
		if err != nil {
			t.Fatal(err)
		}
		md, err := LoadMetadata([]string{in.Metadata})
		if err != nil {
			t.Fatal(err)
		}
		tpls, err := FindTemplates(in.Templates)
		if err != nil {
			t.Fatal(err)
		}
		for i, tp := range tpls {
			if i%10 != 0 {
				continue // a sample keeps the test short
			}
			src, err := os.ReadFile(tp.Path)
			if err != nil {
				t.Fatal(err)
			}
			checkSameAsReference(t, Mustache{}, src, md)
		}
	}
}

// FuzzMustacheReference checks that the tuned parser and renderer agree
// with the reference on every template: same output, same error text
// (line numbers included).
func FuzzMustacheReference(f *testing.F) {
	for _, tm := range mustacheCases {
		f.Add(tm)
	}
	for _, tm := range mustacheErrorCases {
		f.Add(tm)
	}
	md, err := DecodeJSON([]byte(mustacheMetadata))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tmpl string) {
		checkSameAsReference(t, referenceMustache, []byte(tmpl), md)
	})
}

// TestIndexDelim compares indexDelim with strings.Index on every string of
// up to 7 bytes over a small alphabet.
func TestIndexDelim(t *testing.T) {
	const alphabet = "{}a"
	var all []string
	var gen func(prefix string)
	gen = func(prefix string) {
		all = append(all, prefix)
		if len(prefix) < 7 {
			for _, c := range alphabet {
				gen(prefix + string(c))
			}
		}
	}
	gen("")
	for _, d := range []string{"{", "{{", "}}", "{}", "a{", "{{{", "}a}"} {
		for _, s := range all {
			if got, want := indexDelim(s, d), strings.Index(s, d); got != want {
				t.Fatalf("indexDelim(%q, %q) = %d, want %d", s, d, got, want)
			}
		}
	}
}
