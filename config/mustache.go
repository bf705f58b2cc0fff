package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// ErrTemplate is wrapped by every error about a template (see TemplateError).
var ErrTemplate = errors.New("template error")

// TemplateError is an error in one template: a syntax error, a failing
// executable template, an unreadable file.
type TemplateError struct {
	File string // the template's path (or name)
	Line int    // 1-based line of the fault; 0 when it has none
	Err  error  // the cause
}

// Error implements error.
func (e *TemplateError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("template %s line %d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("template %s: %v", e.File, e.Err)
}

// Unwrap returns the cause.
func (e *TemplateError) Unwrap() error { return e.Err }

// Is reports whether target is ErrTemplate.
func (e *TemplateError) Is(target error) bool { return target == ErrTemplate }

// Renderer turns one template into the content of one file. Implementations
// must be safe for concurrent use.
type Renderer interface {
	// Render renders the template src, named name (for errors), against
	// data (normally a *Object).
	Render(name string, src []byte, data any) ([]byte, error)
}

// Mustache renders os-apply-config's mustache dialect: pystache 0.6.0 with
// missing tags ignored, no HTML escaping, and Python's json.dumps as the
// coercion of every value that is not a string. The package documentation
// lists the rules. The zero value is ready to use and renders partials as
// empty text.
type Mustache struct {
	// Partials loads the template of a {{>name}} tag. It returns ok false
	// when there is no such partial (which renders empty). Nil means no
	// partials. PartialsDir gives os-apply-config's behaviour.
	Partials func(name string) (src string, ok bool, err error)
}

// PartialsDir returns a Mustache.Partials loader that reads name +
// ".mustache" from dir, as pystache does from the working directory when
// os-apply-config runs (dir "."). A missing file is no partial.
func PartialsDir(dir string) func(name string) (string, bool, error) {
	return func(name string) (string, bool, error) {
		b, err := os.ReadFile(filepath.Join(dir, name+".mustache"))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", false, nil
			}
			return "", false, err
		}
		if !utf8.Valid(b) {
			return "", false, fmt.Errorf("partial %q is not UTF-8", name)
		}
		return string(b), true, nil
	}
}

// maxPartialDepth bounds partials that include themselves.
const maxPartialDepth = 100

// Render implements Renderer.
func (m Mustache) Render(name string, src []byte, data any) ([]byte, error) {
	if !utf8.Valid(src) {
		return nil, &TemplateError{File: name, Line: lineOf(src, firstInvalidUTF8(src)), Err: errors.New("not valid UTF-8")}
	}
	return m.render(name, string(src), data)
}

// renderOwned implements ownedRenderer: the parsed template points into
// src rather than into a copy of it.
func (m Mustache) renderOwned(name string, src []byte, data any) ([]byte, error) {
	return m.render(name, unsafe.String(unsafe.SliceData(src), len(src)), data)
}

// render renders the valid UTF-8 template tmpl.
func (m Mustache) render(name, tmpl string, data any) ([]byte, error) {
	sc := scratches.Get().(*scratch)
	defer sc.put()
	tree, err := parseMustacheInto(sc.nodes[:0], tmpl, defaultDelims, false)
	sc.nodes = tree
	if err != nil {
		err.File = name
		return nil, err
	}
	r := mrender{m: m, stack: append(sc.stack[:0], data)}
	buf, rerr := r.nodes(sc.out[:0], tree, 0)
	sc.stack = r.stack
	if rerr != nil {
		return nil, &TemplateError{File: name, Err: rerr}
	}
	sc.out = buf
	// One allocation of the exact size, rather than the output growing
	// from nothing in every Render.
	return append([]byte(nil), buf...), nil
}

// scratch is the memory a Render or ParseMustache works in and leaves for
// the next: the parsed template (which lives only for the call), the
// context stack and the output before its copy.
type scratch struct {
	nodes []mnode
	stack []any
	out   []byte
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

// Scratch memory bigger than this is left to the garbage collector rather
// than kept in the pool.
const (
	maxScratchOut   = 1 << 20
	maxScratchNodes = 1 << 14
)

// put returns sc to the pool, without the references its nodes and stack
// hold into the template and the data, unless it grew too big to keep.
func (sc *scratch) put() {
	clear(sc.nodes)
	sc.nodes = sc.nodes[:0]
	clear(sc.stack[:cap(sc.stack)])
	sc.stack = sc.stack[:0]
	if cap(sc.out) > maxScratchOut || cap(sc.nodes) > maxScratchNodes || cap(sc.stack) > maxScratchNodes {
		return
	}
	scratches.Put(sc)
}

// ParseMustache checks a template's syntax without rendering it, returning
// a *TemplateError for a mismatched or unclosed section or a bad delimiter
// change.
func ParseMustache(name string, src []byte) error {
	if !utf8.Valid(src) {
		return &TemplateError{File: name, Line: lineOf(src, firstInvalidUTF8(src)), Err: errors.New("not valid UTF-8")}
	}
	sc := scratches.Get().(*scratch)
	defer sc.put()
	tree, err := parseMustacheInto(sc.nodes[:0], string(src), defaultDelims, false)
	sc.nodes = tree
	if err != nil {
		err.File = name
		return err
	}
	return nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

func lineOf[T string | []byte](s T, off int) int {
	n := 1
	for i := 0; i < off && i < len(s); i++ {
		if s[i] == '\n' {
			n++
		}
	}
	return n
}

type nodeKind uint8

const (
	nText nodeKind = iota
	nVar
	nSection
	nInverted
	nPartial
)

// mnode is one node of a parsed template. A template is a flat list of
// nodes in document order: a section's (or inverted section's) children
// are the kids nodes right after it, nested sections included.
type mnode struct {
	// nText: the text; nPartial: the leading white space of a standalone
	// partial (its indent), then the key; others: the key.
	text string
	kids int // nSection, nInverted: how many nodes follow inside it
	// nVar, nSection, nInverted: index of the key's first '.', or -1;
	// nPartial: where the key starts in text (the indent's length).
	dot  int
	kind nodeKind
}

type delims struct{ open, close string }

var defaultDelims = delims{"{{", "}}"}

// pySpace is Python's \s for str patterns (Unicode whitespace).
const pySpace = `[\t\n\v\f\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]`

var tagREs sync.Map // delims → *regexp.Regexp

// defaultTagRE is tagRE(defaultDelims), looked up once.
var defaultTagRE = sync.OnceValues(func() (*regexp.Regexp, error) { return tagRE(defaultDelims) })

// tagRE returns pystache's tag regular expression for the delimiters,
// anchored at the start (see parseMustache for why that is equivalent to
// pystache's unanchored search).
func tagRE(d delims) (*regexp.Regexp, error) {
	if re, ok := tagREs.Load(d); ok {
		return re.(*regexp.Regexp), nil
	}
	s := pySpace + `*`
	pat := `\A([ \t]*)` + regexp.QuoteMeta(d.open) + s + `(?:` +
		`(=)` + s + `([^\n]+?)` + s + `=|` +
		`(\{)` + s + `([^\n]+?)` + s + `\}|` +
		`([!>&/#^]?)` + s + `((?s:.)+?)` +
		`)` + s + regexp.QuoteMeta(d.close)
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, err
	}
	// The key is copied: d's strings may point into a template's source,
	// whose buffer is reused (renderOwned).
	tagREs.Store(delims{strings.Clone(d.open), strings.Clone(d.close)}, re)
	return re, nil
}

// openSection is a section whose end tag the parser has not met yet.
type openSection struct {
	key string
	off int // byte offset of its tag, for the line of an error
	at  int // index of its node
}

// parseMustache parses like pystache's _Parser.parse. pystache searches for
// its tag pattern `[ \t]*OTAG...` from the current position; the leftmost
// match can only start in the run of spaces and tabs just before the first
// opening delimiter at or after that position (a delimiter never starts with
// blank, since delimiter changes split on white space), so we find that
// delimiter with strings.Index and try the pattern anchored there, moving to
// the next delimiter when it does not match, exactly as the search would.
func parseMustache(tmpl string, d delims) ([]mnode, *TemplateError) {
	return parseMustacheWith(tmpl, d, false)
}

// nodesHint is the capacity to give the nodes of tmpl, whose opening
// delimiter is open: tags do not overlap and each holds its opening
// delimiter, so there are at most as many as the occurrences of the
// delimiter's first byte over its count in the delimiter; each adds at
// most two nodes (the text before it and itself), plus the text after the
// last one. That bound is capped (text full of braces is not full of
// tags): past it, the list grows as needed.
func nodesHint(tmpl, open string) int {
	const maxHint = 1024
	per := strings.Count(open, open[:1])
	return min(2*(strings.Count(tmpl, open[:1])/per)+1, maxHint)
}

// keyDot returns the index of key's first '.', or -1.
func keyDot(key string) int { return strings.IndexByte(key, '.') }

// parseMustacheWith is parseMustache; regexOnly turns off matchTag's fast
// path (the tests compare both).
func parseMustacheWith(tmpl string, d delims, regexOnly bool) ([]mnode, *TemplateError) {
	nodes, err := parseMustacheInto(nil, tmpl, d, regexOnly)
	if err != nil {
		return nil, err
	}
	return nodes, nil
}

// parseMustacheInto is parseMustacheWith appending the nodes to dst, which
// it returns with the nodes parsed so far when it fails, for the caller to
// clear. Line numbers are computed only for an error, from the byte offset
// of the faulty tag.
func parseMustacheInto(dst []mnode, tmpl string, d delims, regexOnly bool) ([]mnode, *TemplateError) {
	var (
		re   *regexp.Regexp
		rerr error
	)
	if d == defaultDelims {
		re, rerr = defaultTagRE()
	} else {
		re, rerr = tagRE(d)
	}
	if rerr != nil {
		return dst, &TemplateError{Err: fmt.Errorf("invalid delimiters %q %q: %w", d.open, d.close, rerr)}
	}
	nodes := dst
	if nodes == nil {
		nodes = make([]mnode, 0, nodesHint(tmpl, d.open))
	}
	var (
		stackBuf [8]openSection
		stack    = stackBuf[:0]
		start    int
		openTag  = d.open
	)
	lastClose := strings.LastIndex(tmpl, d.close)
	for pos := start; ; {
		i := indexDelim(tmpl[pos:], openTag)
		if i < 0 {
			break
		}
		at := pos + i
		if lastClose < at+len(openTag) {
			// No closing delimiter after this opening one: no tag can
			// match from here on, and the rest is text. (This keeps
			// templates with many unmatched openings linear.)
			break
		}
		w := at
		for w > start && (tmpl[w-1] == ' ' || tmpl[w-1] == '\t') {
			w--
		}
		tagType, key, end, ok := matchTag(tmpl, w, at, d, re, regexOnly)
		if !ok {
			pos = at + 1
			continue
		}
		matchIndex, endIndex := w, end
		whitespace := tmpl[w:at]
		beginsLine := matchIndex == 0 || tmpl[matchIndex-1] == '\n' || tmpl[matchIndex-1] == '\r'
		endsLine := endIndex == len(tmpl) || tmpl[endIndex] == '\n' || tmpl[endIndex] == '\r'
		interpolating := tagType == "" || tagType == "&"
		if beginsLine && endsLine && !interpolating {
			if endIndex < len(tmpl) && tmpl[endIndex] == '\r' {
				endIndex++
			}
			if endIndex < len(tmpl) && tmpl[endIndex] == '\n' {
				endIndex++
			}
		} else if whitespace != "" {
			matchIndex += len(whitespace)
			whitespace = ""
		}
		if start != matchIndex {
			nodes = append(nodes, mnode{kind: nText, text: tmpl[start:matchIndex]})
		}
		start, pos = endIndex, endIndex
		off := w + len(whitespace) // where the tag's line is counted
		switch tagType {
		case "#", "^":
			kind := nSection
			if tagType == "^" {
				kind = nInverted
			}
			stack = append(stack, openSection{key: key, off: off, at: len(nodes)})
			nodes = append(nodes, mnode{kind: kind, text: key, dot: keyDot(key)})
		case "/":
			if len(stack) == 0 {
				//lint:ignore ST1005 pystache's wording, which log scrapers match
				return nodes, &TemplateError{Line: lineOf(tmpl, off), Err: fmt.Errorf("Section end tag mismatch: %s != None", key)}
			}
			top := stack[len(stack)-1]
			if key != top.key {
				//lint:ignore ST1005 pystache's wording, which log scrapers match
				return nodes, &TemplateError{Line: lineOf(tmpl, off), Err: fmt.Errorf("Section end tag mismatch: %s != %s", key, top.key)}
			}
			stack = stack[:len(stack)-1]
			nodes[top.at].kids = len(nodes) - top.at - 1
		case "!":
		case "=":
			parts := strings.FieldsFunc(key, isPySpace)
			if len(parts) < 2 {
				return nodes, &TemplateError{Line: lineOf(tmpl, off), Err: fmt.Errorf("invalid delimiter change %q: want two delimiters separated by white space", key)}
			}
			d = delims{parts[0], parts[1]}
			var err error
			if re, err = tagRE(d); err != nil {
				return nodes, &TemplateError{Line: lineOf(tmpl, off), Err: fmt.Errorf("invalid delimiters %q: %w", key, err)}
			}
			openTag = d.open
			lastClose = strings.LastIndex(tmpl, d.close)
		case ">":
			nodes = append(nodes, mnode{kind: nPartial, text: whitespace + key, dot: len(whitespace)})
		default: // "" and "&"
			nodes = append(nodes, mnode{kind: nVar, text: key, dot: keyDot(key)})
		}
	}
	if len(stack) > 0 {
		// pystache silently returns the innermost open section's text as
		// the whole template, losing everything before it. We refuse.
		top := stack[len(stack)-1]
		return nodes, &TemplateError{Line: lineOf(tmpl, top.off), Err: fmt.Errorf("unclosed section %q", top.key)}
	}
	if start != len(tmpl) {
		nodes = append(nodes, mnode{kind: nText, text: tmpl[start:]})
	}
	return nodes, nil
}

// matchTag matches pystache's tag pattern anchored at w, where the run of
// blanks tmpl[w:at] precedes the opening delimiter at at. It returns the tag
// type ("" for a variable, or one of = & ! > / # ^), the key and the end of
// the match.
//
// The common tags take a fast path that finds the same match as the regular
// expression without running it: after the opening delimiter and maximal
// white space, a tag character or none, more white space, then the key is
// the shortest non-empty text followed by white space and the closing
// delimiter. Because a delimiter never starts with white space, that key
// ends where the white space before the first closing delimiter (after the
// key's first character) begins, which is the first match the regexp's
// backtracking order reaches. Delimiter changes, triple mustaches and tags
// whose key would be empty take the regexp.
func matchTag(tmpl string, w, at int, d delims, re *regexp.Regexp, regexOnly bool) (tagType, key string, end int, ok bool) {
	if !regexOnly {
		i := skipPySpace(tmpl, at+len(d.open))
		if i < len(tmpl) && tmpl[i] != '=' && tmpl[i] != '{' {
			switch tmpl[i] {
			case '!', '>', '&', '/', '#', '^':
				tagType = tmpl[i : i+1]
				i = skipPySpace(tmpl, i+1)
			}
			if i < len(tmpl) {
				_, size := utf8.DecodeRuneInString(tmpl[i:])
				if c := indexDelim(tmpl[i+size:], d.close); c >= 0 {
					c += i + size
					k := c
					for k > i+size {
						r, sz := utf8.DecodeLastRuneInString(tmpl[:k])
						if !isPySpace(r) {
							break
						}
						k -= sz
					}
					return tagType, tmpl[i:k], c + len(d.close), true
				}
			}
		}
	}
	m := re.FindStringSubmatchIndex(tmpl[w:])
	if m == nil {
		return "", "", 0, false
	}
	group := func(n int) (string, bool) {
		if m[2*n] < 0 {
			return "", false
		}
		return tmpl[w+m[2*n] : w+m[2*n+1]], true
	}
	switch {
	case m[4] >= 0:
		tagType, key = "=", must(group(3))
	case m[8] >= 0:
		tagType, key = "&", must(group(5))
	default:
		tagType, key = must(group(6)), must(group(7))
	}
	return tagType, key, w + m[1], true
}

// indexDelim is strings.Index(s, d), quicker for a two-byte delimiter on
// the short stretches between tags.
func indexDelim(s, d string) int {
	if len(d) != 2 {
		return strings.Index(s, d)
	}
	for i := 0; i+1 < len(s); {
		j := strings.IndexByte(s[i:len(s)-1], d[0])
		if j < 0 {
			break
		}
		i += j
		if s[i+1] == d[1] {
			return i
		}
		i++
	}
	return -1
}

// skipPySpace returns the index of the first character at or after i that
// is not Python white space.
func skipPySpace(s string, i int) int {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isPySpace(r) {
			break
		}
		i += size
	}
	return i
}

func must(s string, _ bool) string { return s }

func isPySpace(r rune) bool {
	switch {
	case r >= '\t' && r <= '\r', r >= 0x1c && r <= 0x20, r == 0x85, r == 0xa0, r == 0x1680,
		r >= 0x2000 && r <= 0x200a, r == 0x2028, r == 0x2029, r == 0x202f, r == 0x205f, r == 0x3000:
		return true
	}
	return false
}

type mrender struct {
	m     Mustache
	stack []any
}

// missing is what pystache resolves a missing name to: the empty string.
const missing = ""

// lookup resolves the key of n as pystache's ContextStack.get does: "." is
// the top of the stack; otherwise the first dotted part is looked up in the
// objects of the stack, innermost first, and later parts only in objects.
func (r *mrender) lookup(n *mnode) any {
	name := n.text
	if name == "." {
		return r.stack[len(r.stack)-1]
	}
	first, rest, dotted := name, "", n.dot >= 0
	if dotted {
		first, rest = name[:n.dot], name[n.dot+1:]
	}
	var v any
	found := false
	for i := len(r.stack) - 1; i >= 0; i-- {
		if o, ok := r.stack[i].(*Object); ok {
			if x, ok := o.Get(first); ok {
				v, found = x, true
				break
			}
		}
	}
	if !found {
		return missing
	}
	for dotted {
		var part string
		part, rest, dotted = strings.Cut(rest, ".")
		o, ok := v.(*Object)
		if !ok {
			return missing
		}
		if v, ok = o.Get(part); !ok {
			return missing
		}
	}
	return v
}

// truthy is Python's truth value of a JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case Int:
		return x != "0"
	case float64:
		return x != 0 || math.IsNaN(x)
	case []any:
		return len(x) > 0
	case *Object:
		return x.Len() > 0
	}
	return true
}

func (r *mrender) nodes(dst []byte, nodes []mnode, depth int) ([]byte, error) {
	for i := 0; i < len(nodes); i++ {
		n := &nodes[i]
		switch n.kind {
		case nText:
			dst = append(dst, n.text...)
		case nVar:
			switch v := r.lookup(n).(type) {
			case string:
				dst = append(dst, v...)
			case nil:
			case Int: // as AppendJSON writes them, without its call
				dst = append(dst, v...)
			case bool:
				if v {
					dst = append(dst, "true"...)
				} else {
					dst = append(dst, "false"...)
				}
			default:
				dst = AppendJSON(dst, v)
			}
		case nSection:
			kids := nodes[i+1 : i+1+n.kids]
			i += n.kids
			v := r.lookup(n)
			if !truthy(v) {
				continue
			}
			// A list's items replace one another on top of the stack.
			top := len(r.stack)
			r.stack = append(r.stack, v)
			var err error
			if items, isList := v.([]any); isList {
				for j := range items {
					r.stack[top] = items[j]
					if dst, err = r.nodes(dst, kids, depth); err != nil {
						break
					}
				}
			} else {
				dst, err = r.nodes(dst, kids, depth)
			}
			r.stack = r.stack[:top]
			if err != nil {
				return nil, err
			}
		case nInverted:
			kids := nodes[i+1 : i+1+n.kids]
			i += n.kids
			if truthy(r.lookup(n)) {
				continue
			}
			var err error
			if dst, err = r.nodes(dst, kids, depth); err != nil {
				return nil, err
			}
		case nPartial:
			if r.m.Partials == nil {
				continue
			}
			key := n.text[n.dot:]
			if depth >= maxPartialDepth {
				return nil, fmt.Errorf("partial %q: nested more than %d deep", key, maxPartialDepth)
			}
			// A copy: key may point into a source buffer that is reused
			// (renderOwned), and a loader may keep its argument.
			src, ok, err := r.m.Partials(strings.Clone(key))
			if err != nil {
				return nil, fmt.Errorf("partial %q: %w", key, err)
			}
			if !ok {
				continue
			}
			if n.dot > 0 {
				src = indentLines(src, n.text[:n.dot])
			}
			tree, perr := parseMustache(src, defaultDelims)
			if perr != nil {
				return nil, fmt.Errorf("partial %q: %w", key, perr)
			}
			if dst, err = r.nodes(dst, tree, depth+1); err != nil {
				return nil, err
			}
		}
	}
	return dst, nil
}

// indentLines prefixes every line that has a character other than the
// newline with indent (pystache's re.sub('^(.)', indent + r'\1', re.M)).
func indentLines(s, indent string) string {
	var b strings.Builder
	atStart := true
	for i := 0; i < len(s); i++ {
		if atStart && s[i] != '\n' {
			b.WriteString(indent)
		}
		b.WriteByte(s[i])
		atStart = s[i] == '\n'
	}
	return b.String()
}
