package config

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
)

// GoTemplate renders templates written in Go's text/template language
// against the same metadata as Mustache. The package documentation lists
// how the metadata looks to a template and the functions it may call. The
// zero value is ready to use and safe for concurrent use.
type GoTemplate struct {
	// Funcs are added to the template functions after the built-in ones,
	// so they may replace them. Nil adds none.
	Funcs template.FuncMap
	// MissingKeyError makes a missing key an error ("missingkey=error").
	// The zero value follows text/template's default: a missing key is no
	// value, false in an if, and printed as "<no value>" (use
	// {{text .key}} to print it as empty, as mustache does).
	MissingKeyError bool
}

// goData is metadata converted for text/template: *Object becomes
// map[string]any, Int becomes int64 when it fits, float64 becomes pyFloat
// and null becomes a nil *goNull. objs maps each converted map back to its
// *Object, for key order and for json.
type goData struct {
	root any
	objs map[uintptr]*Object
}

// goNull is JSON null: a nil *goNull is false in an if and prints as
// nothing.
type goNull struct{}

// String returns "".
func (*goNull) String() string { return "" }

// pyFloat is a JSON float: it compares as a float and prints as Python's
// json.dumps does (1.0, 1e+16, Infinity).
type pyFloat float64

// String returns Python's json.dumps of the float.
func (f pyFloat) String() string { return string(appendPyFloat(nil, float64(f), true)) }

// Item is a key and its value, as the items function returns them.
type Item struct {
	Key   string
	Value any
}

// PrepareData implements DataPreparer: Apply converts the metadata once for
// all the templates it renders.
func (g GoTemplate) PrepareData(data any) (any, error) {
	if d, ok := data.(*goData); ok {
		return d, nil
	}
	d := &goData{objs: map[uintptr]*Object{}}
	d.root = d.convert(data)
	return d, nil
}

func (d *goData) convert(v any) any {
	switch v := v.(type) {
	case nil:
		return (*goNull)(nil)
	case *Object:
		m := make(map[string]any, v.Len())
		for _, k := range v.Keys() {
			e, _ := v.Get(k)
			m[k] = d.convert(e)
		}
		d.objs[reflect.ValueOf(m).Pointer()] = v
		return m
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = d.convert(e)
		}
		return l
	case Int:
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return n
		}
		return v
	case float64:
		return pyFloat(v)
	}
	return v
}

// value turns a converted value (or a template's own value) back into the
// JSON value model, for json and text.
func (d *goData) value(v any) any {
	switch v := v.(type) {
	case *goNull:
		return nil
	case map[string]any:
		if o, ok := d.objs[reflect.ValueOf(v).Pointer()]; ok {
			return o
		}
		o := NewObject()
		for _, k := range slices.Sorted(mapKeys(v)) {
			o.Set(k, d.value(v[k]))
		}
		return o
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = d.value(e)
		}
		return l
	case pyFloat:
		return float64(v)
	case float64, float32:
		return reflect.ValueOf(v).Float()
	case int, int8, int16, int32, int64:
		return Int(strconv.FormatInt(reflect.ValueOf(v).Int(), 10))
	case uint, uint8, uint16, uint32, uint64:
		return Int(strconv.FormatUint(reflect.ValueOf(v).Uint(), 10))
	case *big.Int:
		return Int(v.String())
	case []string:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = e
		}
		return l
	case Item:
		o := NewObject()
		o.Set("Key", v.Key)
		o.Set("Value", d.value(v.Value))
		return o
	case fmt.Stringer:
		return v.String()
	}
	return v
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// keys returns the keys of an object in their order (sorted for a map that
// the template made itself).
func (d *goData) keys(m map[string]any) []string {
	if o, ok := d.objs[reflect.ValueOf(m).Pointer()]; ok {
		return slices.Clone(o.Keys())
	}
	return slices.Sorted(mapKeys(m))
}

func (d *goData) funcs() template.FuncMap {
	text := func(v any) string {
		switch v := d.value(v).(type) {
		case nil:
			return ""
		case string:
			return v
		default:
			return string(AppendJSON(nil, v))
		}
	}
	return template.FuncMap{
		"json": func(v any) string { return string(AppendJSON(nil, d.value(v))) },
		"jsonIndent": func(indent int, v any) string {
			return string(MarshalIndent(d.value(v), indent))
		},
		"text": text,
		"keys": d.keys,
		"items": func(m map[string]any) []Item {
			ks := d.keys(m)
			out := make([]Item, len(ks))
			for i, k := range ks {
				out[i] = Item{k, m[k]}
			}
			return out
		},
		"default": func(def, v any) any {
			if truthy(d.value(v)) {
				return v
			}
			return def
		},
		"join": func(sep string, list []any) string {
			parts := make([]string, len(list))
			for i, e := range list {
				parts[i] = text(e)
			}
			return strings.Join(parts, sep)
		},
		"split":     func(sep, s string) []string { return strings.Split(s, sep) },
		"lower":     strings.ToLower,
		"upper":     strings.ToUpper,
		"trim":      strings.TrimSpace,
		"replace":   func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
		"contains":  func(sub, s string) bool { return strings.Contains(s, sub) },
		"hasPrefix": func(prefix, s string) bool { return strings.HasPrefix(s, prefix) },
		"hasSuffix": func(suffix, s string) bool { return strings.HasSuffix(s, suffix) },
		"indent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
		},
	}
}

var goTemplateLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^template: .*?:(\d+):`) })

// Render implements Renderer. Errors are *TemplateError with the line
// text/template reports.
func (g GoTemplate) Render(name string, src []byte, data any) ([]byte, error) {
	prepared, _ := g.PrepareData(data)
	d := prepared.(*goData)
	t := template.New(name).Funcs(d.funcs())
	if g.Funcs != nil {
		t = t.Funcs(g.Funcs)
	}
	if g.MissingKeyError {
		t = t.Option("missingkey=error")
	}
	tmplErr := func(err error) error {
		te := &TemplateError{File: name, Err: err}
		msg := strings.Replace(err.Error(), "template: "+name+":", "template: :", 1)
		if m := goTemplateLine().FindStringSubmatch(msg); m != nil {
			te.Line, _ = strconv.Atoi(m[1])
		}
		return te
	}
	if _, err := t.Parse(string(src)); err != nil {
		return nil, tmplErr(err)
	}
	var out bytes.Buffer
	if err := t.Execute(&out, d.root); err != nil {
		var ee template.ExecError
		if errors.As(err, &ee) {
			return nil, tmplErr(ee.Err)
		}
		return nil, tmplErr(err)
	}
	return out.Bytes(), nil
}
