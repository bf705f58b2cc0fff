package main

// A randomized differential test: deterministic pseudo-random metadata and
// many well-formed random mustache templates, rendered in one run by the
// real os-apply-config and by ours; every output file must be the same.
// One process per tool and seed renders all the templates, so this covers
// far more template shapes than the case files at little cost.

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/internal/peertest"
)

// randGen produces metadata and templates from one seed.
type randGen struct {
	r     *rand.Rand
	names []string // names templates refer to (some missing on purpose)
	// partials enables {{>p1}} (a partial file) and {{>p2}} (missing).
	partials bool
}

var randKeys = []string{"a", "b", "c", "list", "obj", "n", "s", "f", "t", "x-y", "with space", "0"}

var randStrings = []string{"", "0", "false", "plain", "two words", "café", "☃ snow", "😀", "quote\"d", "back\\slash",
	"new\nline", "tab\there", "{{a}}", "<&>", "  padded  ", "ünïcödé ẞ", "\u0001ctl", "a.b"}

var randFloats = []float64{0.0, math.Copysign(0, -1), 0.1, 1.5, 1.10, 100.0, 1e16, 1e-7, 2.5e-05, 5e-324,
	1.7976931348623157e+308, 123456789.123456789, 12345678901234567.0, 1e22, 1e21, 9.999999999999999e20, 0.30000000000000004}

func (g *randGen) jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		case r > 0x7f && g.r.IntN(2) == 0:
			// Sometimes escaped, sometimes raw: both must decode alike.
			if r > 0xffff {
				r -= 0x10000
				fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (g *randGen) scalar() string {
	switch g.r.IntN(9) {
	case 0:
		return strconv.Itoa(g.r.IntN(2000) - 1000)
	case 1:
		return "123456789012345678901234567890"
	case 2:
		return strconv.FormatFloat(randFloats[g.r.IntN(len(randFloats))], 'g', -1, 64)
	case 3:
		f := (g.r.Float64() - 0.5) * math.Pow(10, float64(g.r.IntN(40)-20))
		return strconv.FormatFloat(f, 'g', -1, 64)
	case 4:
		return []string{"true", "false"}[g.r.IntN(2)]
	case 5:
		return "null"
	default:
		return g.jsonString(randStrings[g.r.IntN(len(randStrings))])
	}
}

func (g *randGen) value(depth int) string {
	if depth <= 0 {
		return g.scalar()
	}
	switch g.r.IntN(5) {
	case 0:
		return g.object(depth-1, "")
	case 1:
		n := g.r.IntN(4)
		items := make([]string, n)
		objs := g.r.IntN(2) == 0
		for i := range items {
			if objs {
				items[i] = g.object(depth-1, "")
			} else {
				items[i] = g.scalar()
			}
		}
		return "[" + strings.Join(items, ", ") + "]"
	default:
		return g.scalar()
	}
}

// object returns a JSON object and records the dotted names under prefix.
func (g *randGen) object(depth int, prefix string) string {
	n := g.r.IntN(5)
	var parts []string
	for range n {
		k := randKeys[g.r.IntN(len(randKeys))]
		v := g.value(depth)
		if prefix != "" || depth > 0 {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			g.names = append(g.names, name)
		}
		parts = append(parts, g.jsonString(k)+": "+v)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func (g *randGen) metadata() string {
	var parts []string
	for _, k := range randKeys {
		if g.r.IntN(4) == 0 {
			continue
		}
		var v string
		if g.r.IntN(3) == 0 {
			v = g.object(2, k)
		} else {
			v = g.value(3)
		}
		parts = append(parts, g.jsonString(k)+": "+v)
		g.names = append(g.names, k)
	}
	g.names = append(g.names, "missing", "a.missing", ".")
	return "{" + strings.Join(parts, ", ") + "}\n"
}

var randText = []string{"x", "y=", " ", "  ", "\t", "\n", "\n", "word ", "é", ":", "-", "\r\n"}

func (g *randGen) name() string { return g.names[g.r.IntN(len(g.names))] }

func (g *randGen) template(depth int) string {
	var b strings.Builder
	n := 12
	if g.partials {
		n = 13
	}
	for range g.r.IntN(8) + 1 {
		switch g.r.IntN(n) {
		case 0, 1, 2:
			b.WriteString(randText[g.r.IntN(len(randText))])
		case 3, 4:
			fmt.Fprintf(&b, "{{%s}}", g.name())
		case 5:
			fmt.Fprintf(&b, []string{"{{{%s}}}", "{{&%s}}", "{{ %s }}", "{{& %s }}"}[g.r.IntN(4)], g.name())
		case 6, 7, 8:
			if depth > 0 {
				n := g.name()
				op := []string{"#", "^"}[g.r.IntN(2)]
				nl1 := []string{"", "\n", "  ", "\n  "}[g.r.IntN(4)]
				nl2 := []string{"", "\n", "\t"}[g.r.IntN(3)]
				fmt.Fprintf(&b, "%s{{%s%s}}%s%s{{/%s}}%s", nl1, op, n, nl2, g.template(depth-1), n, []string{"", "\n"}[g.r.IntN(2)])
			}
		case 9:
			fmt.Fprintf(&b, "{{! comment %d }}", g.r.IntN(9))
		case 10:
			fmt.Fprintf(&b, "{{=<%% %%>=}}<%%%s%%><%%={{ }}=%%>", g.name())
		case 11:
			b.WriteString("{{.}}")
		case 12:
			b.WriteString([]string{"{{>p1}}", "{{> p2 }}", "\n  {{>p1}}\n", "\t{{>p1}}\n"}[g.r.IntN(4)])
		}
	}
	return b.String()
}

// TestDiffRandomTree exercises the writing rules: random .oac control
// files (mode, owner, group, allow_empty), empty and non-empty bodies, and
// random pre-existing targets (absent, or present with some mode, owner and
// content, the same content included), all in one run per tool and seed.
func TestDiffRandomTree(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changes file owners: run as root (as .ci/run does)")
	}
	real := peertest.Look(t, "os-apply-config")[0]
	for seed := uint64(1); seed <= randomSeeds(3); seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(seed, 0x7ee))
			pick := func(l ...string) string { return l[r.IntN(len(l))] }
			c := &diffCase{name: t.Name(), files: map[string][]byte{"md.json": []byte(`{"e": "", "v": "value"}`)},
				order: []string{"md.json"}, args: []string{"--fallback-metadata", "-t", "templates", "-o", "out", "-m", "md.json"}}
			add := func(name, body string) {
				c.files[name] = []byte(body)
				c.order = append(c.order, name)
			}
			for i := range 60 {
				name := fmt.Sprintf("d%d/f%02d", i%4, i)
				body := pick("{{e}}", "{{v}}\n", "static\n", "", "{{v}}")
				add("templates/"+name, body)
				var ctl []string
				if r.IntN(2) == 0 {
					ctl = append(ctl, "mode: "+pick("0", "0600", "0640", "0755", "0644", "0700", "0444"))
				}
				if r.IntN(3) == 0 {
					ctl = append(ctl, "owner: "+pick("root", "nobody", "0", "65534"))
				}
				if r.IntN(3) == 0 {
					ctl = append(ctl, "group: "+pick("root", "nogroup", "0", "65534"))
				}
				if r.IntN(3) == 0 {
					ctl = append(ctl, "allow_empty: "+pick("true", "false", "yes", "no", "off"))
				}
				if len(ctl) > 0 || r.IntN(4) == 0 {
					add("templates/"+name+".oac", strings.Join(ctl, "\n"))
				}
				switch r.IntN(3) {
				case 0: // no existing target
				default:
					out := "out/" + name
					rendered := strings.NewReplacer("{{e}}", "", "{{v}}", "value").Replace(body)
					add(out, pick("old\n", rendered, ""))
					mode, _ := strconv.ParseUint(pick("600", "640", "755", "4755", "2750", "700", "644"), 8, 32)
					owner := pick("0:0", "65534:65534", "0:65534")
					us, gs, _ := strings.Cut(owner, ":")
					uid, _ := strconv.Atoi(us)
					gid, _ := strconv.Atoi(gs)
					c.setup = append(c.setup, func(dir string) error {
						p := filepath.Join(dir, out)
						if err := os.Lchown(p, uid, gid); err != nil {
							return err
						}
						return os.Chmod(p, chmodBits(uint32(mode)))
					})
				}
			}
			dir := filepath.Join(t.TempDir(), "case")
			want := c.run(t, real, dir)
			got := c.run(t, ourBinary, dir)
			if want.exit != 0 || got.exit != 0 {
				t.Fatalf("exit: real %d, ours %d\nreal:\n%s\nours:\n%s", want.exit, got.exit, want.stderr, got.stderr)
			}
			for _, p := range slices.Sorted(maps.Keys(want.tree)) {
				if w, g := want.tree[p], got.tree[p]; w != g {
					t.Errorf("%s:\nbefore %v\ntemplate %q\n.oac %q\nreal %v\nours %v", p, want.before[p],
						c.files[strings.Replace(p, "out/", "templates/", 1)], c.files[strings.Replace(p, "out/", "templates/", 1)+".oac"], w, g)
				}
			}
			for p := range got.tree {
				if _, ok := want.tree[p]; !ok {
					t.Errorf("%s: we left %v, the real tool nothing", p, got.tree[p])
				}
			}
		})
	}
}

// randomSeeds is how many seeds a randomized test runs: def, or
// $OAC_DIFF_RANDOM_SEEDS for a longer hunt
// (OAC_DIFF_RANDOM_SEEDS=200 go test -run TestDiffRandom).
func randomSeeds(def uint64) uint64 {
	if n, err := strconv.ParseUint(os.Getenv("OAC_DIFF_RANDOM_SEEDS"), 10, 64); err == nil {
		return n
	}
	return def
}

func TestDiffRandom(t *testing.T) {
	real := peertest.Look(t, "os-apply-config")[0]
	const templates = 200
	for seed := uint64(1); seed <= randomSeeds(4); seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			t.Parallel()
			g := &randGen{r: rand.New(rand.NewPCG(seed, 0x0ac))}
			// Three metadata files deep-merged (sometimes one has a
			// non-object root, which is ignored), and two templates showing
			// the merged whole: {{.}} and an executable echoing its stdin.
			files := map[string][]byte{"templates/all": []byte("{{.}}"), "templates/stdin": []byte("#!/bin/sh\ncat\n")}
			order := []string{"templates/all", "templates/stdin"}
			mdArgs := []string{"-m"}
			for i := range 3 {
				name := fmt.Sprintf("md%d.json", i)
				md := g.metadata()
				if g.r.IntN(8) == 0 {
					md = g.value(2) + "\n"
				}
				files[name] = []byte(md)
				order = append(order, name)
				mdArgs = append(mdArgs, name)
			}
			// A partial (read from the working directory, as pystache
			// does), made before partial tags are enabled so that it
			// cannot include itself.
			files["p1.mustache"] = []byte(g.template(2))
			order = append(order, "p1.mustache")
			g.partials = true
			for i := range templates {
				name := fmt.Sprintf("templates/t%03d", i)
				files[name] = []byte(g.template(3))
				order = append(order, name)
			}
			c := &diffCase{name: t.Name(), files: files, order: order,
				args: append([]string{"--fallback-metadata", "-t", "templates", "-o", "out"}, mdArgs...),
				// An executable template echoing its stdin: the merged
				// metadata as json.dumps.
				setup: []func(string) error{func(dir string) error {
					return os.Chmod(filepath.Join(dir, "templates/stdin"), 0o755)
				}}}
			dir := filepath.Join(t.TempDir(), "case")
			want := c.run(t, real, dir)
			got := c.run(t, ourBinary, dir)
			if want.exit != 0 {
				t.Fatalf("the real tool failed on the generated input (a generator bug): %s", want.stderr)
			}
			if got.exit != 0 {
				t.Fatalf("we exit %d:\n%s", got.exit, got.stderr)
			}
			bad := 0
			for p, w := range want.tree {
				g := got.tree[p]
				if g == w {
					continue
				}
				bad++
				if bad <= 5 {
					tmpl := strings.Replace(p, "out/", "templates/", 1)
					t.Errorf("%s differs\ntemplate: %q\nmetadata: %s | %s | %s\nreal: %v\nours: %v", p, files[tmpl], files["md0.json"], files["md1.json"], files["md2.json"], w, g)
				}
			}
			if len(got.tree) != len(want.tree) {
				t.Errorf("real wrote %d paths, we %d", len(want.tree), len(got.tree))
			}
			if bad > 0 {
				t.Errorf("%d of %d files differ", bad, templates)
				if os.Getenv("OAC_DIFF_SHOW") != "" {
					t.Log(treeString(got.tree))
				}
			}
		})
	}
}
