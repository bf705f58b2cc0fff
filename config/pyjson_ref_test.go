package config

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tripleo-go/tripleo/internal/oacbench"
)

// The decoder below is DecodeJSON as it was before it was tuned for speed
// (commit fbc0652), kept as the reference the tuned decoder must match
// exactly: same values, same errors, same positions.

func refDecodeJSON(data []byte) (any, error) {
	d := refDecoder{s: data}
	d.skipSpace()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.i != len(d.s) {
		return nil, d.errorf("Extra data")
	}
	return v, nil
}

type refDecoder struct {
	s []byte
	i int
}

func (d *refDecoder) errorf(format string, args ...any) error {
	line, col := 1, 1
	for _, c := range d.s[:min(d.i, len(d.s))] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &SyntaxError{Msg: fmt.Sprintf(format, args...), Offset: d.i, Line: line, Column: col}
}

func (d *refDecoder) skipSpace() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *refDecoder) hasPrefix(p string) bool {
	return len(d.s)-d.i >= len(p) && string(d.s[d.i:d.i+len(p)]) == p
}

func (d *refDecoder) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, d.errorf("Nesting deeper than %d levels", maxDepth)
	}
	if d.i >= len(d.s) {
		return nil, d.errorf("Expecting value")
	}
	switch c := d.s[d.i]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		d.i++
		return d.str()
	case c == 'n' && d.hasPrefix("null"):
		d.i += 4
		return nil, nil
	case c == 't' && d.hasPrefix("true"):
		d.i += 4
		return true, nil
	case c == 'f' && d.hasPrefix("false"):
		d.i += 5
		return false, nil
	case c == 'N' && d.hasPrefix("NaN"):
		d.i += 3
		return math.NaN(), nil
	case c == 'I' && d.hasPrefix("Infinity"):
		d.i += 8
		return math.Inf(1), nil
	case c == '-' && d.hasPrefix("-Infinity"):
		d.i += 9
		return math.Inf(-1), nil
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return nil, d.errorf("Expecting value")
}

func refIsDigit(c byte) bool { return c >= '0' && c <= '9' }

func (d *refDecoder) number() (any, error) {
	start := d.i
	if d.s[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.s) && d.s[d.i] == '0':
		d.i++
	case d.i < len(d.s) && refIsDigit(d.s[d.i]):
		for d.i < len(d.s) && refIsDigit(d.s[d.i]) {
			d.i++
		}
	default:
		d.i = start
		return nil, d.errorf("Expecting value")
	}
	isFloat := false
	if d.i+1 < len(d.s) && d.s[d.i] == '.' && refIsDigit(d.s[d.i+1]) {
		isFloat = true
		d.i += 2
		for d.i < len(d.s) && refIsDigit(d.s[d.i]) {
			d.i++
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		j := d.i + 1
		if j < len(d.s) && (d.s[j] == '+' || d.s[j] == '-') {
			j++
		}
		if j < len(d.s) && refIsDigit(d.s[j]) {
			for j < len(d.s) && refIsDigit(d.s[j]) {
				j++
			}
			isFloat = true
			d.i = j
		}
	}
	text := string(d.s[start:d.i])
	if !isFloat {
		digits := strings.TrimPrefix(text, "-")
		if len(digits) > maxIntDigits {
			d.i = start
			return nil, d.errorf("Exceeds the limit (%d digits) for integer string conversion", maxIntDigits)
		}
		if digits == "0" {
			return Int("0"), nil
		}
		return Int(text), nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		d.i = start
		return nil, d.errorf("Invalid number %q", text)
	}
	return f, nil
}

func (d *refDecoder) object(depth int) (any, error) {
	d.i++ // '{'
	obj := &Object{}
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return obj, nil
	}
	for {
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return nil, d.errorf("Expecting property name enclosed in double quotes")
		}
		d.i++
		key, err := d.str()
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return nil, d.errorf("Expecting ':' delimiter")
		}
		d.i++
		d.skipSpace()
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		obj.Set(key.(string), v)
		d.skipSpace()
		if d.i < len(d.s) && d.s[d.i] == '}' {
			d.i++
			return obj, nil
		}
		if d.i >= len(d.s) || d.s[d.i] != ',' {
			return nil, d.errorf("Expecting ',' delimiter")
		}
		d.i++
		d.skipSpace()
	}
}

func (d *refDecoder) array(depth int) (any, error) {
	d.i++ // '['
	arr := []any{}
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		return arr, nil
	}
	for {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		d.skipSpace()
		if d.i < len(d.s) && d.s[d.i] == ']' {
			d.i++
			return arr, nil
		}
		if d.i >= len(d.s) || d.s[d.i] != ',' {
			return nil, d.errorf("Expecting ',' delimiter")
		}
		d.i++
		d.skipSpace()
	}
}

// str decodes a string whose opening quote has been consumed.
func (d *refDecoder) str() (any, error) {
	start := d.i
	// Fast path: no escapes.
	for d.i < len(d.s) {
		c := d.s[d.i]
		if c == '"' {
			s := string(d.s[start:d.i])
			d.i++
			if !utf8.ValidString(s) {
				d.i = start
				return nil, d.errorf("Invalid UTF-8 in string")
			}
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		d.i++
	}
	var b strings.Builder
	b.Write(d.s[start:d.i])
	for {
		if d.i >= len(d.s) {
			return nil, d.errorf("Unterminated string starting at")
		}
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			s := b.String()
			if !utf8.ValidString(stripSurrogates(s)) {
				return nil, d.errorf("Invalid UTF-8 in string")
			}
			return s, nil
		case c < 0x20:
			return nil, d.errorf("Invalid control character at")
		case c != '\\':
			b.WriteByte(c)
			d.i++
			continue
		}
		d.i++ // backslash
		if d.i >= len(d.s) {
			return nil, d.errorf("Unterminated string starting at")
		}
		e := d.s[d.i]
		d.i++
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return nil, d.errorf("Invalid \\uXXXX escape")
			}
			if r >= 0xd800 && r <= 0xdbff && d.hasPrefix(`\u`) {
				save := d.i
				d.i += 2
				if r2, ok := d.hex4(); ok && r2 >= 0xdc00 && r2 <= 0xdfff {
					b.WriteRune(0x10000 + (r-0xd800)<<10 + (r2 - 0xdc00))
					continue
				}
				d.i = save
			}
			if r >= 0xd800 && r <= 0xdfff {
				// A lone surrogate: keep its WTF-8 bytes.
				b.WriteByte(0xed)
				b.WriteByte(byte(0x80 | (r>>6)&0x3f))
				b.WriteByte(byte(0x80 | r&0x3f))
				continue
			}
			b.WriteRune(r)
		default:
			d.i -= 2
			return nil, d.errorf("Invalid \\escape")
		}
	}
}

func (d *refDecoder) hex4() (rune, bool) {
	if len(d.s)-d.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.s[d.i : d.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	d.i += 4
	return r, true
}

// sameJSON reports whether a and b are the same decoded value, down to the
// Go types, float bits, key order and nil-ness of empty containers.
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool, string, Int:
		return a == b
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case []any:
		y, ok := b.([]any)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case *Object:
		y, ok := b.(*Object)
		if !ok || (x.vals == nil) != (y.vals == nil) || len(x.keys) != len(y.keys) || len(x.vals) != len(y.vals) {
			return false
		}
		for i, k := range x.keys {
			if y.keys[i] != k {
				return false
			}
			yv, ok := y.vals[k]
			if !ok || !sameJSON(x.vals[k], yv) {
				return false
			}
		}
		return true
	}
	return false
}

// checkDecodeSameAsReference fails t unless DecodeJSON and refDecodeJSON agree
// on data, and checks that DecodeJSON left data as it was.
func checkDecodeSameAsReference(t *testing.T, data []byte) {
	t.Helper()
	orig := bytes.Clone(data)
	want, werr := refDecodeJSON(data)
	got, gerr := DecodeJSON(data)
	if !bytes.Equal(data, orig) {
		t.Fatalf("DecodeJSON modified its input")
	}
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("DecodeJSON(%.200q): error %v, reference %v", data, gerr, werr)
	}
	if werr != nil {
		var ws, gs *SyntaxError
		if !errors.As(werr, &ws) || !errors.As(gerr, &gs) || *ws != *gs || werr.Error() != gerr.Error() {
			t.Fatalf("DecodeJSON(%.200q): error %#v, reference %#v", data, gerr, werr)
		}
		return
	}
	if !sameJSON(want, got) {
		t.Fatalf("DecodeJSON(%.200q) = %.300s, reference %.300s", data, AppendJSON(nil, got), AppendJSON(nil, want))
	}
}

// refCorpus is inputs aimed at the tuned decoder's fast paths: strings
// around the 8-byte word boundaries, escapes, control characters and
// invalid UTF-8 at every offset, duplicate keys in big and nested objects,
// numbers at the end of input.
func refCorpus() []string {
	c := append([]string(nil), jsonCorpus...)
	c = append(c, mustacheMetadata,
		`{"a": 1, "a": 2}`, `{"a": {"x": 1}, "b": 2, "a": [3], "c": {}, "b": {"y": []}}`,
		`[[], [[]], {}, [{}], {"": ""}]`, `{"": 1, "": 2}`, `-0`, `-00`, `-0.0e-0`, `0e5`, `1e+400`,
		`-01`, `12`, `[-`, `[1e`, `1E+`, `[1.`, `"\ud83d\ude00\ud83d"`, `"\udc00\ud800"`, `"\ud800\u0041"`,
		`"\ud800\ud800\udc00"`, `"\uD83D\uDE00"`, `"\u00"`, `"\`, `"abc\`, `"\ud800\`, `"\ud800\u`,
		`{"a" : 1 , "b":2}`, `{"a"`, `{"a" `, `{"a":`, `{"a":1`, `{"a":1,`, `{"a":1,"`, `[1,`, `[`,
		"\"\xff\"", "\"\xed\xa0\x80\"", "\"\xc3\xa9\"", "\"\xc3\"", "\"\xe6\x97\xa5\xe6\x9c\xac\"",
		"\"\\n\xff\"", "\"\\n\xed\xa0\x80\"", "[\"a\", \"\x7f\x80\"]",
		`"`+strings.Repeat("9", 4300)+`"`, strings.Repeat("9", 4300), "-"+strings.Repeat("9", 4301),
		strings.Repeat("[", 100)+strings.Repeat("]", 100), strings.Repeat(`{"a":`, 50)+"1"+strings.Repeat("}", 50),
	)
	for n := range 20 {
		body := strings.Repeat("x", n)
		for _, bad := range []string{"\"", "\\\"", "\\u00e9", "\x01", "\x1f", "\x80", "\xff", "\xc3\xa9", "\n", "\\", "\\q"} {
			for _, tail := range []string{"", "yyyyyyyyy"} {
				c = append(c, `"`+body+bad+tail+`"`, `{"`+body+bad+tail+`": 1}`, `["`+body+bad+tail)
				// The same after an escape, on the slow path.
				c = append(c, `"\t`+body+bad+tail+`"`, `["\u00e9`+body+bad+tail)
			}
		}
	}
	var big strings.Builder
	big.WriteString("{")
	for i := range 300 {
		fmt.Fprintf(&big, `"k%d": %d, `, i%250, i)
	}
	big.WriteString(`"end": [1.5, -2, "s"]}`)
	c = append(c, big.String())
	// Containers of every size nested in others, so that their members
	// straddle the decoder's stack chunks at every offset.
	var nest strings.Builder
	nest.WriteString("[")
	for i := range 300 {
		if i > 0 {
			nest.WriteString(", ")
		}
		fmt.Fprintf(&nest, `{"i": %d`, i)
		for k := range i % 37 {
			fmt.Fprintf(&nest, `, "k%d": [`, k%29)
			for e := range (i + k) % 13 {
				if e > 0 {
					nest.WriteString(", ")
				}
				fmt.Fprintf(&nest, `{"e": %d, "s": "v%d"}`, e, k)
			}
			nest.WriteString("]")
		}
		nest.WriteString("}")
	}
	nest.WriteString("]")
	c = append(c, nest.String())
	return c
}

func TestDecodeJSONSameAsReference(t *testing.T) {
	for _, s := range refCorpus() {
		checkDecodeSameAsReference(t, []byte(s))
		// Every prefix, for the errors at the end of input.
		if len(s) < 200 {
			for i := range len(s) {
				checkDecodeSameAsReference(t, []byte(s[:i]))
			}
		}
	}
	in, err := oacbench.Generate(t.TempDir(), oacbench.BigMeta)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(in.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	checkDecodeSameAsReference(t, data)
	md, err := LoadMetadata([]string{in.Metadata})
	if err != nil {
		t.Fatal(err)
	}
	// The decoded values share memory (the input) that nothing else
	// points to: collect garbage and scribble
	// on freed memory before comparing.
	got, err := DecodeJSON(bytes.Clone(data))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		runtime.GC()
		junk := make([][]byte, 0, 1000)
		for i := range 1000 {
			junk = append(junk, bytes.Repeat([]byte{byte(i)}, 1000))
		}
		runtime.KeepAlive(junk)
	}
	want, _ := refDecodeJSON(data)
	if !sameJSON(want, md) {
		t.Fatal("LoadMetadata differs from the reference decoder")
	}
	if !sameJSON(want, got) {
		t.Fatal("DecodeJSON's values changed after garbage collection")
	}
}

// FuzzDecodeJSONSameAsReference checks that DecodeJSON decodes, and
// refuses, exactly as the reference decoder does.
func FuzzDecodeJSONSameAsReference(f *testing.F) {
	for _, s := range refCorpus() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecodeSameAsReference(t, data)
	})
}
