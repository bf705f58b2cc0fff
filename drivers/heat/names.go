package heat

import (
	"net/url"
	"regexp"
	"strings"
)

// Heat keeps the members of a ResourceGroup (and the resources of a
// template resource) in a nested stack named
// "{parent stack}-{resource}-{12 random characters}". The embedded engine
// flattens them into one graph with paths such as "group/0"; the driver
// gives Heat's nested resources the same paths, so that code (and the
// conformance suite) reads both engines alike.

// nestedSuffix is the random part Heat appends to a nested stack's name.
var nestedSuffix = regexp.MustCompile(`-[a-z0-9]{12}$`)

// namer maps stack names to the path prefix of their resources: "" for
// the root stack, "group/" for a group's nested stack.
type namer struct {
	root   string
	prefix map[string]string
}

func newNamer(root string) *namer {
	return &namer{root: root, prefix: map[string]string{root: ""}}
}

// nested records that resource res of stack parent owns the nested stack
// child.
func (n *namer) nested(parent, res, child string) {
	if p, ok := n.lookup(parent); ok && child != "" {
		n.prefix[child] = p + res + "/"
	}
}

// lookup returns the prefix of stack, deriving it from the nearest known
// ancestor's name when the stack was never recorded (a nested stack that
// is gone).
func (n *namer) lookup(stack string) (string, bool) {
	if p, ok := n.prefix[stack]; ok {
		return p, true
	}
	best := ""
	for k := range n.prefix {
		if len(k) > len(best) && strings.HasPrefix(stack, k+"-") {
			best = k
		}
	}
	if best == "" {
		return "", false
	}
	rest := stack[len(best)+1:]
	rest = nestedSuffix.ReplaceAllString(rest, "")
	p := n.prefix[best] + rest + "/"
	n.prefix[stack] = p
	return p, true
}

// path returns the flattened path of resource res of stack, and whether
// the entry is a nested stack's own (not a resource's).
func (n *namer) path(stack, res string) (string, bool) {
	if stack == "" {
		return res, false
	}
	p, ok := n.lookup(stack)
	if !ok {
		return res, false
	}
	if p != "" && res == stack {
		return strings.TrimSuffix(p, "/"), true
	}
	return p + res, false
}

// link is one entry of a Heat answer's links.
type link struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
}

// stackOf returns the name and id of the stack in the link with rel.
func stackOf(links []link, rel string) (name, id string) {
	for _, l := range links {
		if l.Rel != rel {
			continue
		}
		u, err := url.Parse(l.Href)
		if err != nil {
			return "", ""
		}
		parts := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
		for i := 0; i+2 < len(parts); i++ {
			if parts[i] == "stacks" {
				name, _ = url.PathUnescape(parts[i+1])
				id, _ = url.PathUnescape(parts[i+2])
				return name, id
			}
		}
	}
	return "", ""
}

// splitState splits Heat's "ACTION_STATUS" into its parts.
func splitState(s string) (action, status string) {
	for _, st := range []string{"IN_PROGRESS", "COMPLETE", "FAILED"} {
		if strings.HasSuffix(s, "_"+st) {
			return strings.TrimSuffix(s, "_"+st), st
		}
	}
	return s, ""
}
