package argparse

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// invocationUsage is an option's part of the usage line: "-t TEMPLATE_ROOT".
func (o *Option) usagePart() string {
	name := o.names()[0]
	switch {
	case !o.takesValues():
		return "[" + name + "]"
	case o.Nargs == ZeroOrMore:
		return "[" + name + " [" + o.metavar() + " ...]]"
	default:
		return "[" + name + " " + o.metavar() + "]"
	}
}

// header is an option's line in the help: "-t TEMPLATE_ROOT, --templates
// TEMPLATE_ROOT".
func (o *Option) header() string {
	if !o.takesValues() {
		return strings.Join(o.names(), ", ")
	}
	arg := o.metavar()
	if o.Nargs == ZeroOrMore {
		arg = "[" + arg + " ...]"
	}
	parts := make([]string, 0, 2)
	for _, n := range o.names() {
		parts = append(parts, n+" "+arg)
	}
	return strings.Join(parts, ", ")
}

// Usage returns the usage text argparse prints before an error, ending in
// a newline.
func (p *Parser) Usage() string {
	const prefix = "usage: "
	textWidth := p.width()
	var parts []string
	for _, o := range p.all() {
		parts = append(parts, o.usagePart())
	}
	usage := p.Prog + " " + strings.Join(parts, " ")
	if len(prefix)+len(usage) <= textWidth {
		return prefix + usage + "\n"
	}
	getLines := func(parts []string, indent string, withPrefix bool) []string {
		var lines []string
		var line []string
		lineLen := len(indent) - 1
		if withPrefix {
			lineLen = len(prefix) - 1
		}
		for _, part := range parts {
			if lineLen+1+len(part) > textWidth && len(line) > 0 {
				lines = append(lines, indent+strings.Join(line, " "))
				line = nil
				lineLen = len(indent) - 1
			}
			line = append(line, part)
			lineLen += len(part) + 1
		}
		if len(line) > 0 {
			lines = append(lines, indent+strings.Join(line, " "))
		}
		if withPrefix && len(lines) > 0 {
			lines[0] = lines[0][len(indent):]
		}
		return lines
	}
	var lines []string
	if float64(len(prefix)+len(p.Prog)) <= 0.75*float64(textWidth) {
		indent := strings.Repeat(" ", len(prefix)+len(p.Prog)+1)
		lines = getLines(append([]string{p.Prog}, parts...), indent, true)
	} else {
		indent := strings.Repeat(" ", len(prefix))
		lines = append([]string{p.Prog}, getLines(parts, indent, false)...)
	}
	return prefix + strings.Join(lines, "\n") + "\n"
}

// HelpText returns what --help prints.
func (p *Parser) HelpText() string {
	width := p.width()
	var b strings.Builder
	b.WriteString(p.Usage())
	if p.Description != "" {
		b.WriteString("\n")
		for _, l := range wrap(p.Description, max(width, 11)) {
			b.WriteString(l + "\n")
		}
	}
	b.WriteString("\noptions:\n")
	const indent = 2
	maxHelpPos := min(24, max(width-20, 4))
	actionMax := 0
	for _, o := range p.all() {
		actionMax = max(actionMax, len(o.header())+indent)
	}
	helpPos := min(actionMax+2, maxHelpPos)
	helpWidth := max(width-helpPos, 11)
	actionWidth := helpPos - indent - 2
	for _, o := range p.all() {
		h := o.header()
		help := o.Help
		switch o.Action {
		case Version:
			if help == "" {
				help = "show program's version number and exit"
			}
		}
		var lines []string
		if help != "" {
			lines = wrap(help, helpWidth)
		}
		switch {
		case len(lines) == 0:
			b.WriteString(strings.Repeat(" ", indent) + h + "\n")
			continue
		case len(h) <= actionWidth:
			b.WriteString(strings.Repeat(" ", indent) + h + strings.Repeat(" ", actionWidth-len(h)) + "  " + lines[0] + "\n")
			lines = lines[1:]
		default:
			b.WriteString(strings.Repeat(" ", indent) + h + "\n")
		}
		for _, l := range lines {
			b.WriteString(strings.Repeat(" ", helpPos) + l + "\n")
		}
	}
	return b.String()
}

// wrap is Python's textwrap.wrap(text, width) after argparse collapses
// whitespace: words break after hyphens inside words, and words longer than
// the width are cut.
func wrap(text string, width int) []string {
	text = strings.Join(strings.Fields(text), " ")
	chunks := splitChunks(text)
	// textwrap works on a reversed list; we index forwards.
	var lines []string
	for len(chunks) > 0 {
		var cur []string
		curLen := 0
		if chunks[0] == " " && len(lines) > 0 {
			chunks = chunks[1:]
		}
		for len(chunks) > 0 {
			l := utf8.RuneCountInString(chunks[0])
			if curLen+l <= width {
				cur = append(cur, chunks[0])
				curLen += l
				chunks = chunks[1:]
			} else {
				break
			}
		}
		if len(chunks) > 0 && utf8.RuneCountInString(chunks[0]) > width {
			spaceLeft := width - curLen
			if width < 1 {
				spaceLeft = 1
			}
			c := []rune(chunks[0])
			end := spaceLeft
			if len(c) > spaceLeft {
				if h := lastHyphen(c[:spaceLeft]); h > 0 && strings.Trim(string(c[:h]), "-") != "" {
					end = h + 1
				}
			}
			cur = append(cur, string(c[:end]))
			chunks[0] = string(c[end:])
		}
		if len(cur) > 0 && strings.TrimSpace(cur[len(cur)-1]) == "" {
			cur = cur[:len(cur)-1]
		}
		if len(cur) > 0 {
			lines = append(lines, strings.Join(cur, ""))
		}
	}
	return lines
}

func lastHyphen(r []rune) int {
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] == '-' {
			return i
		}
	}
	return -1
}

// splitChunks splits collapsed text into spaces and words, breaking words
// after a hyphen that follows two letters (or letter-hyphen-letter) and
// precedes a letter, as textwrap's wordsep_re does.
func splitChunks(text string) []string {
	var out []string
	for i, w := range strings.Split(text, " ") {
		if i > 0 {
			out = append(out, " ")
		}
		r := []rune(w)
		start := 0
		for j := 1; j < len(r); j++ {
			if r[j] != '-' || j+1 >= len(r) {
				continue
			}
			before := (j >= 2 && isLetter(r[j-1]) && isLetter(r[j-2])) ||
				(j >= 3 && isLetter(r[j-1]) && r[j-2] == '-' && isLetter(r[j-3]))
			after := isLetter(r[j+1]) && ((j+2 < len(r) && isLetter(r[j+2])) ||
				(j+3 < len(r) && r[j+2] == '-' && isLetter(r[j+3])))
			if before && after && j > start {
				out = append(out, string(r[start:j+1]))
				start = j + 1
			}
		}
		if start < len(r) {
			out = append(out, string(r[start:]))
		}
	}
	return out
}

// isLetter is Python's [^\d\W]: a word character that is not a digit.
func isLetter(r rune) bool {
	return r == '_' || unicode.IsLetter(r)
}
