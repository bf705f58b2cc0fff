package config

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// maxIntDigits is Python 3.11's limit on the digits of an int parsed from
// text (sys.get_int_max_str_digits); json.loads refuses longer integers.
const maxIntDigits = 4300

// maxDepth bounds the nesting of decoded JSON, where Python would raise
// RecursionError at about 1,000 levels.
const maxDepth = 10000

// SyntaxError is a JSON syntax error with the byte offset, line and column
// where it was found.
type SyntaxError struct {
	Msg    string // what is wrong, e.g. "Expecting ',' delimiter"
	Offset int    // byte offset of the error in the input
	Line   int    // 1-based line
	Column int    // 1-based column, in bytes
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s: line %d column %d (char %d)", e.Msg, e.Line, e.Column, e.Offset)
}

// DecodeJSON parses data as Python's json.loads does, into the values listed
// in value.go: objects keep their key order (a duplicate key keeps its first
// position and its last value), integers are exact up to Python's 4,300
// digits, NaN, Infinity and -Infinity are accepted, and overflowing floats
// become infinities. A lone UTF-16 surrogate escape (\ud800) is kept as its
// three-byte WTF-8 form so that AppendJSON writes it back unchanged. The
// input must be UTF-8 without a byte-order mark. DecodeJSON does not keep
// data; the strings it returns share one copy of it, which stays in memory
// as long as any of them does.
func DecodeJSON(data []byte) (any, error) {
	// One copy of the input, which the decoded strings share.
	return decodeJSON(string(data))
}

// decodeOwnedJSON is DecodeJSON without the copy of data: the decoded
// strings share data's memory, so the caller must never modify data
// afterwards (nor let anyone else hold it).
func decodeOwnedJSON(data []byte) (any, error) {
	return decodeJSON(unsafe.String(unsafe.SliceData(data), len(data)))
}

func decodeJSON(s string) (any, error) {
	d := decoder{s: s}
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

// member is a key and value of an object being decoded.
type member struct {
	key string
	val any
}

type decoder struct {
	s string // the input; decoded strings without escapes are substrings of it
	i int    // the offset of the next byte to read
	// The members and elements of the objects and arrays being decoded,
	// innermost last: each container takes its own from the top when it
	// is complete, then allocates them once at their final size.
	members stack[member]
	elems   stack[any]
	buf     []byte // scratch for strings with escapes
}

func (d *decoder) errorf(format string, args ...any) error {
	line, col := 1, 1
	for j := range min(d.i, len(d.s)) {
		if d.s[j] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &SyntaxError{Msg: fmt.Sprintf(format, args...), Offset: d.i, Line: line, Column: col}
}

func (d *decoder) skipSpace() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) hasPrefix(p string) bool {
	return strings.HasPrefix(d.s[d.i:], p)
}

func (d *decoder) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, d.errorf("Nesting deeper than %d levels", maxDepth)
	}
	if d.i >= len(d.s) {
		return nil, d.errorf("Expecting value")
	}
	switch c := d.s[d.i]; {
	case c == '"':
		d.i++
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return s, nil
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
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

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (d *decoder) number() (any, error) {
	start := d.i
	if d.s[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.s) && d.s[d.i] == '0':
		d.i++
	case d.i < len(d.s) && isDigit(d.s[d.i]):
		for d.i < len(d.s) && isDigit(d.s[d.i]) {
			d.i++
		}
	default:
		d.i = start
		return nil, d.errorf("Expecting value")
	}
	isFloat := false
	if d.i+1 < len(d.s) && d.s[d.i] == '.' && isDigit(d.s[d.i+1]) {
		isFloat = true
		d.i += 2
		for d.i < len(d.s) && isDigit(d.s[d.i]) {
			d.i++
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		j := d.i + 1
		if j < len(d.s) && (d.s[j] == '+' || d.s[j] == '-') {
			j++
		}
		if j < len(d.s) && isDigit(d.s[j]) {
			for j < len(d.s) && isDigit(d.s[j]) {
				j++
			}
			isFloat = true
			d.i = j
		}
	}
	text := d.s[start:d.i]
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

func (d *decoder) object(depth int) (any, error) {
	d.i++ // '{'
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return &Object{}, nil
	}
	base, n := d.members.top(), 0
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
		d.members.push(member{key, v})
		n++
		d.skipSpace()
		if d.i < len(d.s) && d.s[d.i] == '}' {
			d.i++
			return d.objectOf(base, n), nil
		}
		if d.i >= len(d.s) || d.s[d.i] != ',' {
			return nil, d.errorf("Expecting ',' delimiter")
		}
		d.i++
		d.skipSpace()
	}
}

// objectOf pops the n members above base and returns the Object that
// calling Set with each in turn would build (a repeated key keeps its first
// position and takes its last value), with its keys and map allocated once
// at their final size. It fills Object's fields itself (small included),
// to do one map operation per member where Set does two.
func (d *decoder) objectOf(base stackPos, n int) *Object {
	o := &Object{keys: make([]string, 0, n), vals: make(map[string]any, n)}
	for ms := range d.members.popTo(base) {
		for _, m := range ms {
			l := len(o.vals)
			o.vals[m.key] = m.val
			if len(o.vals) != l {
				o.keys = append(o.keys, m.key)
			}
		}
	}
	if len(o.keys) <= smallObject {
		// Keep Object's small-object index in step, as Set does.
		o.small = make([]any, len(o.keys))
		for i, k := range o.keys {
			o.small[i] = o.vals[k]
		}
	}
	return o
}

func (d *decoder) array(depth int) (any, error) {
	d.i++ // '['
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		return []any{}, nil
	}
	base, n := d.elems.top(), 0
	for {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d.elems.push(v)
		n++
		d.skipSpace()
		if d.i < len(d.s) && d.s[d.i] == ']' {
			d.i++
			arr := make([]any, 0, n)
			for vs := range d.elems.popTo(base) {
				arr = append(arr, vs...)
			}
			return arr, nil
		}
		if d.i >= len(d.s) || d.s[d.i] != ',' {
			return nil, d.errorf("Expecting ',' delimiter")
		}
		d.i++
		d.skipSpace()
	}
}

// stack is a stack of values kept in chunks that never move: growing it
// neither copies the values nor leaves garbage, and the chunks serve again
// for the containers that follow. The zero value is an empty stack.
type stack[T any] struct {
	chunks [][]T
	pos    stackPos // the top: where the next value goes
}

// stackPos is a place in a stack: chunk ci, index i in it.
type stackPos struct{ ci, i int }

// top returns the place of the top of s.
func (s *stack[T]) top() stackPos { return s.pos }

// push puts v on top of s. Chunks hold 32 values, doubling up to 1,024.
func (s *stack[T]) push(v T) {
	if s.pos.ci == len(s.chunks) {
		s.chunks = append(s.chunks, make([]T, 32<<min(s.pos.ci, 5)))
	}
	c := s.chunks[s.pos.ci]
	c[s.pos.i] = v
	if s.pos.i++; s.pos.i == len(c) {
		s.pos = stackPos{s.pos.ci + 1, 0}
	}
}

// popTo yields the values from p to the top of s, oldest first, in runs
// of consecutive values, and makes p the top.
func (s *stack[T]) popTo(p stackPos) iter.Seq[[]T] {
	return func(yield func([]T) bool) {
		top := s.pos
		s.pos = p
		for ci := p.ci; ci <= top.ci && ci < len(s.chunks); ci++ {
			c := s.chunks[ci]
			if ci == top.ci {
				c = c[:top.i]
			}
			if ci == p.ci {
				c = c[p.i:]
			}
			if !yield(c) {
				return
			}
		}
	}
}

const (
	ones  = 0x0101010101010101 // 0x01 in each byte of a word
	highs = 0x8080808080808080 // 0x80 in each byte of a word
)

// word returns s[i:i+8] as a little-endian word (one load).
func word(s string, i int) uint64 {
	w := s[i : i+8]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// specials returns a mask of x's bytes that end a run of plain string
// body: '"', '\\' and control characters. The high bit is set at least in
// the first such byte; bits above it may be false alarms, below it there
// are none.
func specials(x uint64) uint64 {
	q := x ^ (ones * '"')
	bs := x ^ (ones * '\\')
	return ((q-ones)&^q | (bs-ones)&^bs | (x-ones*0x20)&^x) & highs
}

// str decodes a string whose opening quote has been consumed.
func (d *decoder) str() (string, error) {
	start := d.i
	// Fast path: no escapes. The string is a substring of the input.
	s, i, ascii := d.s, d.i, true
	for {
		// Skip 8 plain ASCII bytes at a time; stop at the first byte that
		// is special or not ASCII (it needs a UTF-8 check).
		for i+8 <= len(s) {
			x := word(s, i)
			if m := specials(x) | x&highs; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c == '"' {
			if !ascii && !utf8.ValidString(s[start:i]) {
				d.i = start
				return "", d.errorf("Invalid UTF-8 in string")
			}
			d.i = i + 1
			return s[start:i], nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		if c >= 0x80 {
			ascii = false
		}
		i++
	}
	d.i = i
	// Slow path: the string is built in d.buf, then copied once.
	b := append(d.buf[:0], d.s[start:d.i]...)
	for {
		if d.i >= len(d.s) {
			return "", d.errorf("Unterminated string starting at")
		}
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			d.buf = b
			s := string(b)
			if !utf8.ValidString(stripSurrogates(s)) {
				return "", d.errorf("Invalid UTF-8 in string")
			}
			return s, nil
		case c < 0x20:
			return "", d.errorf("Invalid control character at")
		case c != '\\':
			// Copy the run of bytes up to the next special one.
			j := d.i + 1
			for j+8 <= len(d.s) {
				if m := specials(word(d.s, j)); m != 0 {
					j += bits.TrailingZeros64(m) >> 3
					break
				}
				j += 8
			}
			for j < len(d.s) && d.s[j] != '"' && d.s[j] != '\\' && d.s[j] >= 0x20 {
				j++
			}
			b = append(b, d.s[d.i:j]...)
			d.i = j
			continue
		}
		d.i++ // backslash
		if d.i >= len(d.s) {
			return "", d.errorf("Unterminated string starting at")
		}
		e := d.s[d.i]
		d.i++
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", d.errorf("Invalid \\uXXXX escape")
			}
			if r >= 0xd800 && r <= 0xdbff && d.hasPrefix(`\u`) {
				save := d.i
				d.i += 2
				if r2, ok := d.hex4(); ok && r2 >= 0xdc00 && r2 <= 0xdfff {
					b = utf8.AppendRune(b, 0x10000+(r-0xd800)<<10+(r2-0xdc00))
					continue
				}
				d.i = save
			}
			if r >= 0xd800 && r <= 0xdfff {
				// A lone surrogate: keep its WTF-8 bytes.
				b = append(b, 0xed, byte(0x80|(r>>6)&0x3f), byte(0x80|r&0x3f))
				continue
			}
			b = utf8.AppendRune(b, r)
		default:
			d.i -= 2
			return "", d.errorf("Invalid \\escape")
		}
	}
}

func (d *decoder) hex4() (rune, bool) {
	if len(d.s)-d.i < 4 {
		return 0, false
	}
	var r rune
	for j := d.i; j < d.i+4; j++ {
		c := d.s[j]
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

// isSurrogateAt reports whether s[i:] starts with the WTF-8 encoding of a
// UTF-16 surrogate, and returns it.
func isSurrogateAt(s string, i int) (rune, bool) {
	if i+2 < len(s) && s[i] == 0xed && s[i+1] >= 0xa0 && s[i+1] <= 0xbf && s[i+2] >= 0x80 && s[i+2] <= 0xbf {
		return 0xd000 | rune(s[i+1]&0x3f)<<6 | rune(s[i+2]&0x3f), true
	}
	return 0, false
}

func stripSurrogates(s string) string {
	if !strings.Contains(s, "\xed") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if _, ok := isSurrogateAt(s, i); ok {
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// AppendJSON appends v encoded as Python's json.dumps(v) with its default
// settings: ", " and ": " separators, keys in order, every character
// outside printable ASCII escaped as \uXXXX, floats in Python's repr
// (1.0, 1e+16, 1e-07), NaN and Infinity as bare words. Values of types not
// listed in value.go are encoded as null.
func AppendJSON(dst []byte, v any) []byte {
	return appendJSON(dst, v, -1, 0)
}

// MarshalIndent encodes v as Python's json.dumps(v, indent=indent) does:
// one item per line indented by indent spaces per level, "," and ": "
// separators, empty containers as [] and {}.
func MarshalIndent(v any, indent int) []byte {
	return appendJSON(nil, v, max(indent, 0), 0)
}

func appendNewline(dst []byte, indent, level int) []byte {
	dst = append(dst, '\n')
	for range indent * level {
		dst = append(dst, ' ')
	}
	return dst
}

func appendJSON(dst []byte, v any, indent, level int) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		if x {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case string:
		return appendPyString(dst, x)
	case Int:
		return append(dst, x...)
	case float64:
		return appendPyFloat(dst, x, true)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case []any:
		if len(x) == 0 {
			return append(dst, "[]"...)
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
				if indent < 0 {
					dst = append(dst, ' ')
				}
			}
			if indent >= 0 {
				dst = appendNewline(dst, indent, level+1)
			}
			dst = appendJSON(dst, e, indent, level+1)
		}
		if indent >= 0 {
			dst = appendNewline(dst, indent, level)
		}
		return append(dst, ']')
	case *Object:
		if x.Len() == 0 {
			return append(dst, "{}"...)
		}
		dst = append(dst, '{')
		for i, k := range x.keys {
			if i > 0 {
				dst = append(dst, ',')
				if indent < 0 {
					dst = append(dst, ' ')
				}
			}
			if indent >= 0 {
				dst = appendNewline(dst, indent, level+1)
			}
			dst = appendPyString(dst, k)
			dst = append(dst, ": "...)
			dst = appendJSON(dst, x.vals[k], indent, level+1)
		}
		if indent >= 0 {
			dst = appendNewline(dst, indent, level)
		}
		return append(dst, '}')
	}
	return append(dst, "null"...)
}

const hexDigits = "0123456789abcdef"

func appendU(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// shortEscape maps the control characters json.dumps writes as a two-byte
// escape to their letter.
var shortEscape = [256]byte{'\n': 'n', '\r': 'r', '\t': 't', '\b': 'b', '\f': 'f'}

// appendPyString appends s as a JSON string with Python's ensure_ascii.
func appendPyString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			if c == '"' || c == '\\' {
				dst = append(dst, '\\')
			}
			dst = append(dst, c)
			i++
			continue
		}
		if e := shortEscape[c]; e != 0 {
			dst = append(dst, '\\', e)
			i++
			continue
		}
		if r, ok := isSurrogateAt(s, i); ok {
			dst = appendU(dst, r)
			i += 3
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			r -= 0x10000
			dst = appendU(dst, 0xd800+(r>>10))
			dst = appendU(dst, 0xdc00+(r&0x3ff))
			continue
		}
		dst = appendU(dst, r)
	}
	return append(dst, '"')
}

// appendPyFloat appends f as Python's float repr. With json set, infinities
// and NaN are written as json.dumps does (Infinity, -Infinity, NaN);
// otherwise as str() does (inf, -inf, nan).
func appendPyFloat(dst []byte, f float64, json bool) []byte {
	switch {
	case math.IsNaN(f):
		if json {
			return append(dst, "NaN"...)
		}
		return append(dst, "nan"...)
	case math.IsInf(f, 1):
		if json {
			return append(dst, "Infinity"...)
		}
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		if json {
			return append(dst, "-Infinity"...)
		}
		return append(dst, "-inf"...)
	}
	if f == 0 {
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	// Shortest digits that round-trip, as Python's repr uses.
	e := strconv.AppendFloat(nil, f, 'e', -1, 64) // -d.ddde±XX
	neg := e[0] == '-'
	if neg {
		e = e[1:]
		dst = append(dst, '-')
	}
	mant, exps, _ := strings.Cut(string(e), "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(exps)
	decpt := exp + 1 // value = 0.digits × 10^decpt
	if decpt <= -4 || decpt > 16 {
		dst = append(dst, digits[0])
		if len(digits) > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if exp < 0 {
			dst = append(dst, '-')
			exp = -exp
		} else {
			dst = append(dst, '+')
		}
		if exp < 10 {
			dst = append(dst, '0')
		}
		return strconv.AppendInt(dst, int64(exp), 10)
	}
	switch {
	case decpt <= 0:
		dst = append(dst, "0."...)
		for range -decpt {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	case decpt >= len(digits):
		dst = append(dst, digits...)
		for range decpt - len(digits) {
			dst = append(dst, '0')
		}
		dst = append(dst, ".0"...)
	default:
		dst = append(dst, digits[:decpt]...)
		dst = append(dst, '.')
		dst = append(dst, digits[decpt:]...)
	}
	return dst
}
