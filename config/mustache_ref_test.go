package config

// The mustache implementation as it was before the parser and renderer
// were tuned for speed (commit fbc0652), kept as the oracle of
// TestMustacheMatchesReference and FuzzMustacheReference: the tuned code
// must render every template to the same bytes and fail with the same
// errors (message and line). Only the parts that changed are here; the
// rest (matchTag, tagRE, truthy, lineOf...) is shared.

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// refRenderTemplate is Mustache.Render as it was.
func refRenderTemplate(m Mustache, name string, src []byte, data any) ([]byte, error) {
	if !utf8.Valid(src) {
		return nil, &TemplateError{File: name, Line: lineOf(src, firstInvalidUTF8(src)), Err: errors.New("not valid UTF-8")}
	}
	tree, err := refParse(string(src), defaultDelims)
	if err != nil {
		err.File = name
		return nil, err
	}
	r := refRender{m: m, stack: []any{data}}
	out, rerr := r.nodes(nil, tree, 0)
	if rerr != nil {
		return nil, &TemplateError{File: name, Err: rerr}
	}
	return out, nil
}

type refNode struct {
	kind     nodeKind
	text     string // nText: the text; others: the key
	indent   string // nPartial: leading whitespace of a standalone partial
	children []refNode
}

type refOpenSection struct {
	kind  nodeKind
	key   string
	line  int
	outer []refNode
}

func refParse(tmpl string, d delims) ([]refNode, *TemplateError) {
	return refParseWith(tmpl, d, false)
}

// refParseWith is parseMustache; regexOnly turns off matchTag's fast
// path (the tests compare both).
func refParseWith(tmpl string, d delims, regexOnly bool) ([]refNode, *TemplateError) {
	re, rerr := tagRE(d)
	if rerr != nil {
		return nil, &TemplateError{Err: fmt.Errorf("invalid delimiters %q %q: %w", d.open, d.close, rerr)}
	}
	var (
		cur     []refNode
		stack   []refOpenSection
		start   int
		openTag = d.open
	)
	lastClose := strings.LastIndex(tmpl, d.close)
	for pos := start; ; {
		i := strings.Index(tmpl[pos:], openTag)
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
			cur = append(cur, refNode{kind: nText, text: tmpl[start:matchIndex]})
		}
		start, pos = endIndex, endIndex
		line := lineOf(tmpl, w+len(whitespace))
		switch tagType {
		case "#", "^":
			kind := nSection
			if tagType == "^" {
				kind = nInverted
			}
			stack = append(stack, refOpenSection{kind: kind, key: key, line: line, outer: cur})
			cur = nil
		case "/":
			if len(stack) == 0 {
				return nil, &TemplateError{Line: line, Err: fmt.Errorf("Section end tag mismatch: %s != None", key)}
			}
			top := stack[len(stack)-1]
			if key != top.key {
				return nil, &TemplateError{Line: line, Err: fmt.Errorf("Section end tag mismatch: %s != %s", key, top.key)}
			}
			stack = stack[:len(stack)-1]
			cur = append(top.outer, refNode{kind: top.kind, text: key, children: cur})
		case "!":
		case "=":
			parts := strings.FieldsFunc(key, isPySpace)
			if len(parts) < 2 {
				return nil, &TemplateError{Line: line, Err: fmt.Errorf("invalid delimiter change %q: want two delimiters separated by white space", key)}
			}
			d = delims{parts[0], parts[1]}
			var err error
			if re, err = tagRE(d); err != nil {
				return nil, &TemplateError{Line: line, Err: fmt.Errorf("invalid delimiters %q: %w", key, err)}
			}
			openTag = d.open
			lastClose = strings.LastIndex(tmpl, d.close)
		case ">":
			cur = append(cur, refNode{kind: nPartial, text: key, indent: whitespace})
		default: // "" and "&"
			cur = append(cur, refNode{kind: nVar, text: key})
		}
	}
	if len(stack) > 0 {
		// pystache silently returns the innermost open section's text as
		// the whole template, losing everything before it. We refuse.
		top := stack[len(stack)-1]
		return nil, &TemplateError{Line: top.line, Err: fmt.Errorf("unclosed section %q", top.key)}
	}
	if start != len(tmpl) {
		cur = append(cur, refNode{kind: nText, text: tmpl[start:]})
	}
	return cur, nil
}

type refRender struct {
	m     Mustache
	stack []any
}

// refMissing is what pystache resolves a refMissing name to: the empty string.
const refMissing = ""

// lookup resolves a name as pystache's ContextStack.get does: "." is the
// top of the stack; otherwise the first dotted part is looked up in the
// objects of the stack, innermost first, and later parts only in objects.
func (r *refRender) lookup(name string) any {
	if name == "." {
		return r.stack[len(r.stack)-1]
	}
	first, rest, dotted := strings.Cut(name, ".")
	var v any = refMissing
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
		return refMissing
	}
	for dotted {
		var part string
		part, rest, dotted = strings.Cut(rest, ".")
		o, ok := v.(*Object)
		if !ok {
			return refMissing
		}
		if v, ok = o.Get(part); !ok {
			return refMissing
		}
	}
	return v
}

func (r *refRender) nodes(dst []byte, nodes []refNode, depth int) ([]byte, error) {
	for i := range nodes {
		n := &nodes[i]
		switch n.kind {
		case nText:
			dst = append(dst, n.text...)
		case nVar:
			switch v := r.lookup(n.text).(type) {
			case string:
				dst = append(dst, v...)
			case nil:
			default:
				dst = AppendJSON(dst, v)
			}
		case nSection:
			v := r.lookup(n.text)
			if !truthy(v) {
				continue
			}
			items, isList := v.([]any)
			if !isList {
				items = []any{v}
			}
			for _, it := range items {
				r.stack = append(r.stack, it)
				var err error
				dst, err = r.nodes(dst, n.children, depth)
				r.stack = r.stack[:len(r.stack)-1]
				if err != nil {
					return nil, err
				}
			}
		case nInverted:
			if truthy(r.lookup(n.text)) {
				continue
			}
			var err error
			if dst, err = r.nodes(dst, n.children, depth); err != nil {
				return nil, err
			}
		case nPartial:
			if r.m.Partials == nil {
				continue
			}
			if depth >= maxPartialDepth {
				return nil, fmt.Errorf("partial %q: nested more than %d deep", n.text, maxPartialDepth)
			}
			src, ok, err := r.m.Partials(n.text)
			if err != nil {
				return nil, fmt.Errorf("partial %q: %w", n.text, err)
			}
			if !ok {
				continue
			}
			if n.indent != "" {
				src = indentLines(src, n.indent)
			}
			tree, perr := refParse(src, defaultDelims)
			if perr != nil {
				return nil, fmt.Errorf("partial %q: %w", n.text, perr)
			}
			if dst, err = r.nodes(dst, tree, depth+1); err != nil {
				return nil, err
			}
		}
	}
	return dst, nil
}
