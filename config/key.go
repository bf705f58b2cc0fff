package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// ErrUnknownType is returned by FormatKey for a --type it does not know.
var ErrUnknownType = errors.New("unknown key type")

// ErrKeyType is wrapped by FormatKey when a value does not match its type.
var ErrKeyType = errors.New("value does not match type")

// KeyTypeError is a --key value that does not match its --type. Its text
// is os-apply-config's.
type KeyTypeError struct {
	Value string // Python's str() of the value
	Type  string // the --type name
}

// Error implements error.
func (e *KeyTypeError) Error() string {
	return fmt.Sprintf("cannot interpret value '%s' as type %s", e.Value, e.Type)
}

// Is reports whether target is ErrKeyType.
func (e *KeyTypeError) Is(target error) bool { return target == ErrKeyType }

// KeyTypes lists the --type names os-apply-config validates --key values
// with, in the order its help text gives them (username is undocumented
// there).
var KeyTypes = []string{"int", "default", "netaddress", "netdevice", "dsn", "swiftdevices", "username", "raw"}

// keyTypePatterns are os-apply-config's value_types regular expressions,
// translated from Python's re: `$` also matches before a final newline
// (see FormatKey) and \d matches any Unicode decimal digit. They are
// compiled on first use: a render never needs them.
var keyTypePatterns = sync.OnceValue(func() map[string]*regexp.Regexp {
	return map[string]*regexp.Regexp{
		"int":          regexp.MustCompile(`^[0-9]+$`),
		"default":      regexp.MustCompile(`^[A-Za-z0-9_]*$`),
		"netaddress":   regexp.MustCompile(`^[A-Za-z0-9/.:-]*$`),
		"netdevice":    regexp.MustCompile(`^[A-Za-z0-9/.:-]*$`),
		"dsn":          regexp.MustCompile(`^[a-zA-Z0-9]+://([a-zA-Z0-9+_-]+(:[^@]+)?)?(@?[a-zA-Z0-9/_.-]+)?(/[a-zA-Z0-9_-]+)?(\?[a-zA-Z0-9=_-]+)?$`),
		"swiftdevices": regexp.MustCompile(`^(r\p{Nd}+z\p{Nd}+-[A-Za-z0-9.-_]+:%PORT%/[^,]+,?)+$`),
		"username":     regexp.MustCompile(`^[A-Za-z0-9_-]+$`),
		"raw":          regexp.MustCompile(``),
	}
})

// LookupKey follows a dotted key through md as os-apply-config's --key
// does: an object step takes the key, a list step takes an integer index
// (negative counts from the end), and anything else, or a null value, is
// not found. The empty segment is a key like any other ("a." is the key ""
// inside a).
func LookupKey(md *Object, key string) (any, bool) {
	var cur any = md
	for part := range strings.SplitSeq(key, ".") {
		switch c := cur.(type) {
		case *Object:
			v, ok := c.Get(part)
			if ok && v != nil {
				cur = v
				continue
			}
			return nil, false
		case []any:
			i, err := pyInt(part)
			if err != nil {
				return nil, false
			}
			if i < 0 {
				i += len(c)
			}
			if i < 0 || i >= len(c) || c[i] == nil {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// pyInt parses s as Python's int() does for the small values an index can
// take: surrounding whitespace, a sign, and underscores between digits.
func pyInt(s string) (int, error) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if strings.Contains(s, "__") || strings.HasPrefix(strings.TrimLeft(s, "+-"), "_") || strings.HasSuffix(s, "_") {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt32 || n < math.MinInt32 {
		return 0, strconv.ErrRange
	}
	return int(n), nil
}

// FormatKey checks v against the named --type and returns the line
// os-apply-config prints for it (without the newline): JSON for objects,
// lists and booleans, Python's str() otherwise. As in the original, the
// check runs on Python's str(v), so booleans pass "default" (True) and
// objects and lists need "raw"; and Python's `$` lets one trailing newline
// pass. A value that fails the check returns a *KeyTypeError (which is
// ErrKeyType); an unknown type returns an error wrapping ErrUnknownType.
func FormatKey(v any, typ string) (string, error) {
	re, ok := keyTypePatterns()[typ]
	if !ok {
		return "", fmt.Errorf("%w: %q (known: %s)", ErrUnknownType, typ, strings.Join(KeyTypes, ", "))
	}
	s := PyStr(v)
	if !re.MatchString(s) && !(strings.HasSuffix(s, "\n") && re.MatchString(s[:len(s)-1])) {
		return "", &KeyTypeError{Value: s, Type: typ}
	}
	switch v.(type) {
	case *Object, []any, bool:
		return string(AppendJSON(nil, v)), nil
	}
	return s, nil
}

// BooleanKey returns os-apply-config's --boolean-key exit status for the
// key: 0 when its value is JSON true, 1 when false, 255 otherwise (missing,
// null, or not a boolean).
func BooleanKey(md *Object, key string) int {
	v, _ := LookupKey(md, key)
	b, ok := v.(bool)
	switch {
	case !ok:
		return 255
	case b:
		return 0
	}
	return 1
}

// PyStr returns Python's str() of a JSON value: strings as they are, True
// and False, None, floats in repr form (inf, nan), and objects and lists in
// Python's repr ({'a': [1, 'x']}).
func PyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return string(appendPyRepr(nil, v))
}

func appendPyRepr(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "None"...)
	case bool:
		if x {
			return append(dst, "True"...)
		}
		return append(dst, "False"...)
	case string:
		return appendPyStrRepr(dst, x)
	case Int:
		return append(dst, x...)
	case float64:
		return appendPyFloat(dst, x, false)
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendPyRepr(dst, e)
		}
		return append(dst, ']')
	case *Object:
		dst = append(dst, '{')
		for i, k := range x.keys {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendPyStrRepr(dst, k)
			dst = append(dst, ": "...)
			dst = appendPyRepr(dst, x.vals[k])
		}
		return append(dst, '}')
	}
	return append(dst, "None"...)
}

// appendPyStrRepr appends Python's repr() of a str.
func appendPyStrRepr(dst []byte, s string) []byte {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	dst = append(dst, q)
	for i := 0; i < len(s); {
		if r, ok := isSurrogateAt(s, i); ok {
			dst = fmt.Appendf(dst, `\u%04x`, r)
			i += 3
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == rune(q) || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\n':
			dst = append(dst, `\n`...)
		case r == '\r':
			dst = append(dst, `\r`...)
		case r == '\t':
			dst = append(dst, `\t`...)
		case r < 0x20 || r == 0x7f:
			dst = fmt.Appendf(dst, `\x%02x`, r)
		case r < 0x7f:
			dst = append(dst, byte(r))
		case pyPrintable(r):
			dst = utf8.AppendRune(dst, r)
		case r <= 0xff:
			dst = fmt.Appendf(dst, `\x%02x`, r)
		case r <= 0xffff:
			dst = fmt.Appendf(dst, `\u%04x`, r)
		default:
			dst = fmt.Appendf(dst, `\U%08x`, r)
		}
	}
	return append(dst, q)
}

// pyPrintable approximates Python's str.isprintable for one non-ASCII rune:
// printable unless a control, format, surrogate, private-use, unassigned or
// separator character other than the ASCII space.
func pyPrintable(r rune) bool {
	if r == utf8.RuneError {
		return true
	}
	return !unicode.In(r, unicode.Cc, unicode.Cf, unicode.Cs, unicode.Co, unicode.Zl, unicode.Zp, unicode.Zs) &&
		unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S)
}
