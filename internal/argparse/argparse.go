package argparse

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Action is what an option does when it is met on the command line.
type Action int

const (
	// Store keeps the option's value(s); a repeated option replaces the
	// earlier value (argparse "store").
	Store Action = iota
	// StoreTrue sets a boolean and takes no value.
	StoreTrue
	// Version prints Parser.Version on stdout and stops with status 0.
	Version
	// Help prints the help text on stdout and stops with status 0.
	Help
)

// Nargs is how many values a Store option takes.
type Nargs int

const (
	// One value (argparse nargs=None).
	One Nargs = iota
	// ZeroOrMore values (argparse nargs='*'): every following argument up
	// to the next option.
	ZeroOrMore
)

// Option describes one command-line option.
type Option struct {
	// Short is the one-letter form with its dash ("-t"), or empty.
	Short string
	// Long is the long form with its dashes ("--templates"), or empty.
	Long string
	// Dest names the value in Values. Empty means derived from Long (or
	// Short) as argparse does: dashes stripped, inner dashes become "_".
	Dest string
	// Metavar names the value in usage and help. Empty means Dest in upper
	// case.
	Metavar string
	// Help is the help text; whitespace is collapsed and re-wrapped.
	Help string
	// Action and Nargs say what the option does.
	Action Action
	Nargs  Nargs
	// Int makes a Store option's values Python ints (argparse type=int):
	// they are checked, and parsed into Value.Int for a One option.
	Int bool
	// Choices, when not empty, lists the values a Store option accepts
	// (argparse choices=...); they also name the value in usage and help
	// when Metavar is empty.
	Choices []string
}

func (o *Option) dest() string {
	if o.Dest != "" {
		return o.Dest
	}
	name := o.Long
	if name == "" {
		name = o.Short
	}
	return strings.ReplaceAll(strings.TrimLeft(name, "-"), "-", "_")
}

func (o *Option) metavar() string {
	if o.Metavar != "" {
		return o.Metavar
	}
	if len(o.Choices) > 0 {
		return "{" + strings.Join(o.Choices, ",") + "}"
	}
	return strings.ToUpper(o.dest())
}

// names returns the option strings in declaration order, short first.
func (o *Option) names() []string {
	var n []string
	if o.Short != "" {
		n = append(n, o.Short)
	}
	if o.Long != "" {
		n = append(n, o.Long)
	}
	return n
}

func (o *Option) takesValues() bool { return o.Action == Store }

// Parser is an argparse.ArgumentParser with options only (no positional
// arguments). A "-h, --help" option is added in front of Options, as
// argparse does.
type Parser struct {
	// Prog is the program name shown in usage and errors.
	Prog string
	// Description is printed under the usage line by --help.
	Description string
	// Version is what a Version option prints.
	Version string
	// Options in the order they are declared (which is the usage order).
	Options []*Option
	// Columns is the terminal width used for usage and help. Zero means the
	// COLUMNS environment variable, or 80, as argparse does when stdout is
	// not a terminal.
	Columns int
}

// Value is what an option received.
type Value struct {
	// Set reports that the option appeared at least once.
	Set bool
	// Str is the value of a One option (the last one given).
	Str string
	// List is the values of a ZeroOrMore option (of its last occurrence).
	List []string
	// True is set by a StoreTrue option.
	True bool
	// Count is how many times the option appeared.
	Count int
	// Int is Str parsed, for an Option with Int set.
	Int int64
}

// Values maps each option's Dest to what it received. Options that did
// not appear have the zero Value.
type Values map[string]Value

// Exit is returned by Parse when the program must stop: for --help and
// --version (Code 0, text in Stdout) and for a usage error (Code 2, usage
// and message in Stderr, as argparse prints them).
type Exit struct {
	Code   int
	Stdout string
	Stderr string
	// Msg is the bare error message (empty for help and version).
	Msg string
}

// Error implements error.
func (e *Exit) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return fmt.Sprintf("exit %d", e.Code)
}

func (p *Parser) all() []*Option {
	return append([]*Option{{Short: "-h", Long: "--help", Help: "show this help message and exit", Action: Help}}, p.Options...)
}

func (p *Parser) errorf(format string, args ...any) *Exit {
	msg := fmt.Sprintf(format, args...)
	return &Exit{Code: 2, Msg: msg, Stderr: p.Usage() + p.Prog + ": error: " + msg + "\n"}
}

// negNumber is argparse's _negative_number_matcher: such arguments are
// values, not options, when no option looks like a negative number.
// (Compiled on first use: most command lines have no argument starting
// with a dash and a digit, and start-up matters to a command run often.)
var negNumber = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^-\d+$|^-\d*\.\d+$`) })

type match struct {
	opt      *Option
	name     string // the option string as matched ("-t", "--templates")
	explicit *string
}

// classify is argparse's _parse_optional: nil means the argument is a
// value; a match with opt == nil is an unknown option.
func (p *Parser) classify(opts []*Option, arg string) (*match, error) {
	if arg == "" || arg[0] != '-' {
		return nil, nil
	}
	exact := func(s string) *Option {
		for _, o := range opts {
			for _, n := range o.names() {
				if n == s {
					return o
				}
			}
		}
		return nil
	}
	if o := exact(arg); o != nil {
		return &match{opt: o, name: arg}, nil
	}
	if len(arg) == 1 {
		return nil, nil
	}
	if name, val, ok := strings.Cut(arg, "="); ok {
		if o := exact(name); o != nil {
			return &match{opt: o, name: name, explicit: &val}, nil
		}
	}
	ms := p.prefixMatches(opts, arg)
	if len(ms) > 1 {
		names := make([]string, len(ms))
		for i, m := range ms {
			names[i] = m.name
		}
		return nil, p.errorf("ambiguous option: %s could match %s", arg, strings.Join(names, ", "))
	}
	if len(ms) == 1 {
		return &ms[0], nil
	}
	if negNumber().MatchString(arg) {
		return nil, nil
	}
	if strings.Contains(arg, " ") {
		return nil, nil
	}
	return &match{name: arg}, nil
}

// prefixMatches is argparse's _get_option_tuples (allow_abbrev=True).
func (p *Parser) prefixMatches(opts []*Option, arg string) []match {
	var out []match
	if strings.HasPrefix(arg, "--") {
		prefix, val, hasVal := strings.Cut(arg, "=")
		for _, o := range opts {
			for _, n := range o.names() {
				if strings.HasPrefix(n, prefix) {
					m := match{opt: o, name: n}
					if hasVal {
						v := val
						m.explicit = &v
					}
					out = append(out, m)
				}
			}
		}
		return out
	}
	short, rest := arg[:2], arg[2:]
	for _, o := range opts {
		for _, n := range o.names() {
			if n == short {
				v := rest
				out = append(out, match{opt: o, name: n, explicit: &v})
			} else if strings.HasPrefix(n, arg) {
				out = append(out, match{opt: o, name: n})
			}
		}
	}
	return out
}

// Parse parses args (without the program name) as argparse's parse_args
// does. It returns an *Exit for --help, --version and usage errors.
func (p *Parser) Parse(args []string) (Values, error) {
	opts := p.all()
	vals := make(Values)

	// Classify every argument first, as argparse does (an ambiguous
	// abbreviation is an error before anything runs).
	kinds := make([]*match, len(args))
	isOpt := make([]bool, len(args))
	dashdash := len(args)
	for i, a := range args {
		if a == "--" {
			dashdash = i
			break
		}
		m, err := p.classify(opts, a)
		if err != nil {
			return nil, err
		}
		kinds[i], isOpt[i] = m, m != nil
	}

	var extras []string
	i := 0
	for i < dashdash {
		m := kinds[i]
		if m == nil {
			extras = append(extras, args[i])
			i++
			continue
		}
		if m.opt == nil {
			extras = append(extras, args[i])
			i++
			continue
		}
		i++
		// A cluster of short flags ("-vt X") is unrolled one letter at a time.
		for {
			o, name, explicit := m.opt, m.name, m.explicit
			if !o.takesValues() {
				if explicit != nil {
					if name[1] != '-' && *explicit != "" {
						if err := p.run(o, name, nil, vals); err != nil {
							return nil, err
						}
						next := string(name[0]) + (*explicit)[:1]
						rest := (*explicit)[1:]
						var no *Option
						for _, c := range opts {
							if c.Short == next {
								no = c
							}
						}
						if no == nil {
							return nil, p.errorf("argument %s: ignored explicit argument %s", p.display(o), PyRepr(*explicit))
						}
						m = &match{opt: no, name: next}
						if rest != "" {
							m.explicit = &rest
						}
						continue
					}
					return nil, p.errorf("argument %s: ignored explicit argument %s", p.display(o), PyRepr(*explicit))
				}
				if err := p.run(o, name, nil, vals); err != nil {
					return nil, err
				}
				break
			}
			if explicit != nil {
				if err := p.run(o, name, []string{*explicit}, vals); err != nil {
					return nil, err
				}
				break
			}
			var got []string
			switch o.Nargs {
			case One:
				if i >= dashdash || isOpt[i] {
					return nil, p.errorf("argument %s: expected one argument", p.display(o))
				}
				got = []string{args[i]}
				i++
			case ZeroOrMore:
				for i < dashdash && !isOpt[i] {
					got = append(got, args[i])
					i++
				}
			}
			if err := p.run(o, name, got, vals); err != nil {
				return nil, err
			}
			break
		}
	}
	extras = append(extras, args[dashdash:]...)
	if len(extras) > 0 {
		return nil, p.errorf("unrecognized arguments: %s", strings.Join(extras, " "))
	}
	return vals, nil
}

func (p *Parser) run(o *Option, name string, got []string, vals Values) error {
	switch o.Action {
	case Help:
		return &Exit{Code: 0, Stdout: p.HelpText()}
	case Version:
		return &Exit{Code: 0, Stdout: p.Version + "\n"}
	case StoreTrue:
		vals[o.dest()] = Value{Set: true, True: true, Count: vals[o.dest()].Count + 1}
	case Store:
		v := Value{Set: true, Count: vals[o.dest()].Count + 1}
		for _, g := range got {
			if o.Int {
				n, err := pyInt(g)
				if err != nil {
					return p.errorf("argument %s: invalid int value: %s", p.display(o), PyRepr(g))
				}
				v.Int = n
			}
			if len(o.Choices) > 0 && !slices.Contains(o.Choices, g) {
				quoted := make([]string, len(o.Choices))
				for i, c := range o.Choices {
					quoted[i] = PyRepr(c)
				}
				return p.errorf("argument %s: invalid choice: %s (choose from %s)", p.display(o), PyRepr(g), strings.Join(quoted, ", "))
			}
		}
		if o.Nargs == One {
			v.Str = got[0]
		} else {
			v.List = append([]string{}, got...)
		}
		vals[o.dest()] = v
	}
	return nil
}

// pyInt parses s as Python's int(s) does for base 10: surrounding
// whitespace, an optional sign, and single underscores between digits.
func pyInt(s string) (int64, error) {
	t := strings.TrimSpace(s)
	digits := strings.TrimLeft(t, "+-")
	if len(t)-len(digits) > 1 || digits == "" || digits[0] == '_' || digits[len(digits)-1] == '_' || strings.Contains(digits, "__") {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(strings.ReplaceAll(t, "_", ""), 10, 64)
}

// display is how argparse names an option in errors: "-t/--templates".
func (p *Parser) display(o *Option) string { return strings.Join(o.names(), "/") }

// PyRepr renders s as Python's repr() of a str does (control characters
// escaped, other characters kept), as argparse quotes values in errors.
func PyRepr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || (r >= 0x7f && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// width is argparse's HelpFormatter width: COLUMNS (or 80) minus 2.
func (p *Parser) width() int {
	c := p.Columns
	if c == 0 {
		c = 80
		if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
			c = n
		}
	}
	return c - 2
}
