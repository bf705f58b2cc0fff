package config

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeJSON checks that whatever DecodeJSON accepts, AppendJSON
// writes back as JSON that decodes to the same encoding (a fixed point).
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range jsonCorpus {
		f.Add([]byte(s))
	}
	f.Add([]byte(mustacheMetadata))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeJSON(data)
		if err != nil {
			return
		}
		enc := AppendJSON(nil, v)
		v2, err := DecodeJSON(enc)
		if err != nil {
			t.Fatalf("re-decoding %q: %v", enc, err)
		}
		if enc2 := AppendJSON(nil, v2); !bytes.Equal(enc, enc2) {
			t.Fatalf("not a fixed point:\n%q\n%q", enc, enc2)
		}
		ind := MarshalIndent(v, 1)
		v3, err := DecodeJSON(ind)
		if err != nil {
			t.Fatalf("re-decoding indented %q: %v", ind, err)
		}
		if enc3 := AppendJSON(nil, v3); !bytes.Equal(enc, enc3) {
			t.Fatalf("indent changed the value:\n%q\n%q", enc, enc3)
		}
	})
}

// FuzzMustache checks that parsing and rendering never panic, and that
// rendering is deterministic.
func FuzzMustache(f *testing.F) {
	for _, tm := range mustacheCases {
		f.Add(tm)
	}
	f.Add("before {{#s}}inside after")
	f.Add("{{#a}}{{/b}}")
	f.Add("{{=<% %>=}}<%#x%><%/x%>")
	md, err := DecodeJSON([]byte(mustacheMetadata))
	if err != nil {
		f.Fatal(err)
	}
	m := Mustache{Partials: func(name string) (string, bool, error) {
		return "partial {{" + name + "}}\n{{>" + name + "}}", true, nil
	}}
	f.Fuzz(func(t *testing.T, tmpl string) {
		out1, err1 := m.Render("fuzz", []byte(tmpl), md)
		out2, err2 := m.Render("fuzz", []byte(tmpl), md)
		if (err1 == nil) != (err2 == nil) || !bytes.Equal(out1, out2) {
			t.Fatalf("not deterministic: %q %v / %q %v", out1, err1, out2, err2)
		}
		if perr := ParseMustache("fuzz", []byte(tmpl)); (perr == nil) != (err1 == nil) && err1 != nil && perr != nil {
			t.Fatalf("parse and render disagree: %v / %v", perr, err1)
		}
	})
}

// FuzzMerge checks Merge's contract on arbitrary pairs of objects: every
// key of both survives, non-object values of src win, and src is never
// modified.
func FuzzMerge(f *testing.F) {
	f.Add([]byte(`{"a": {"b": 1, "c": [1]}, "d": 2}`), []byte(`{"a": {"b": {"x": 1}}, "e": null}`))
	f.Add([]byte(`{"a": 1}`), []byte(`{"a": {"b": 2}}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		va, err := DecodeJSON(a)
		if err != nil {
			return
		}
		vb, err := DecodeJSON(b)
		if err != nil {
			return
		}
		oa, ok1 := va.(*Object)
		ob, ok2 := vb.(*Object)
		if !ok1 || !ok2 {
			return
		}
		before := AppendJSON(nil, ob)
		dst := Clone(oa).(*Object)
		Merge(dst, ob)
		Merge(dst, ob) // merging twice is the same as once
		if !bytes.Equal(before, AppendJSON(nil, ob)) {
			t.Fatal("Merge modified src")
		}
		for _, k := range oa.Keys() {
			if _, ok := dst.Get(k); !ok {
				t.Fatalf("key %q of dst lost", k)
			}
		}
		for _, k := range ob.Keys() {
			got, _ := dst.Get(k)
			want, _ := ob.Get(k)
			if _, isObj := want.(*Object); !isObj && !bytes.Equal(AppendJSON(nil, got), AppendJSON(nil, want)) {
				t.Fatalf("key %q: got %s, want src's %s", k, AppendJSON(nil, got), AppendJSON(nil, want))
			}
		}
	})
}

// FuzzMustacheFastPath checks that the tag scanner's fast path parses every
// template exactly as pystache's regular expression alone does.
func FuzzMustacheFastPath(f *testing.F) {
	for _, tm := range mustacheCases {
		f.Add(tm)
	}
	f.Add("{{ }}{{#}}{{# }}{{#\u00a0x\u2028}}{{a}}}{{{b}}}{{=<% %>=}}<%c%>")
	f.Fuzz(func(t *testing.T, tmpl string) {
		if !utf8.ValidString(tmpl) {
			return // Render refuses it before parsing
		}
		fast, ferr := parseMustacheWith(tmpl, defaultDelims, false)
		slow, serr := parseMustacheWith(tmpl, defaultDelims, true)
		if (ferr == nil) != (serr == nil) || (ferr != nil && ferr.Error() != serr.Error()) {
			t.Fatalf("errors differ: fast %v, regexp %v", ferr, serr)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("trees differ:\nfast   %+v\nregexp %+v", fast, slow)
		}
	})
}

// dirent64 builds one linux_dirent64 record, padded to 8 bytes.
func dirent64(name string, typ byte) []byte {
	reclen := (19 + len(name) + 1 + 7) &^ 7
	b := make([]byte, reclen)
	binary.NativeEndian.PutUint64(b, 1)
	binary.NativeEndian.PutUint16(b[16:], uint16(reclen))
	b[18] = typ
	copy(b[19:], name)
	return b
}

func FuzzParseDirents(f *testing.F) {
	f.Add(slices.Concat(dirent64(".", 4), dirent64("..", 4), dirent64("a", 8), dirent64("dir", 4), dirent64("l", 10), dirent64("u", 0), dirent64("gone", 0), dirent64("fifo", 1)))
	f.Add([]byte{})
	f.Add(dirent64("x", 8)[:10])
	f.Fuzz(func(t *testing.T, b []byte) {
		lstat := func(name string) (fs.FileMode, error) {
			if name == "gone" {
				return 0, fs.ErrNotExist
			}
			return fs.ModeSocket, nil
		}
		out, err := parseDirents(b, "p/", nil, lstat)
		if err != nil && err != errBadDirent {
			t.Fatalf("error %v", err)
		}
		for _, e := range out {
			name := e.name()
			if name == "" || name == "." || name == ".." || strings.IndexByte(name, 0) >= 0 || e.path != "p/"+name {
				t.Fatalf("entry %+v", e)
			}
		}
	})
}

func TestParseDirents(t *testing.T) {
	b := slices.Concat(dirent64(".", 4), dirent64("..", 4), dirent64("a", 8), dirent64("dir", 4), dirent64("l", 10), dirent64("u", 0), dirent64("gone", 0), dirent64("fifo", 1))
	out, err := parseDirents(b, "p/", nil, func(name string) (fs.FileMode, error) {
		if name == "gone" {
			return 0, fs.ErrNotExist
		}
		return fs.ModeDir, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range out {
		got = append(got, e.path+" "+e.typ.String())
	}
	want := []string{"p/a ----------", "p/dir d---------", "p/l L---------", "p/u d---------", "p/fifo ?---------"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := parseDirents(b[:len(b)-3], "p/", nil, func(string) (fs.FileMode, error) { return 0, nil }); err != errBadDirent {
		t.Errorf("truncated: %v", err)
	}
}
