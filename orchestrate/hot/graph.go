package hot

import (
	"fmt"
	"sort"
	"strings"
)

// Graph is a dependency graph: each node lists the nodes it depends on
// (which must be created before it).
type Graph struct {
	Nodes []string            // in a stable order (document order for templates)
	Deps  map[string][]string // node → its dependencies, sorted
}

// CycleError reports every dependency cycle, each as a path that starts
// and ends with the same node.
type CycleError struct {
	Cycles [][]string
}

// Error implements error.
func (e *CycleError) Error() string {
	parts := make([]string, len(e.Cycles))
	for i, c := range e.Cycles {
		parts[i] = strings.Join(c, " -> ")
	}
	return fmt.Sprintf("%v: circular dependency: %s", ErrInvalid, strings.Join(parts, "; "))
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *CycleError) Unwrap() error { return ErrInvalid }

// Graph returns the template's dependency graph over all its resources:
// get_resource and get_attr references in properties and metadata, and
// depends_on.
func (t *Template) Graph() *Graph {
	g := &Graph{Deps: map[string][]string{}}
	for _, r := range t.Resources {
		g.Nodes = append(g.Nodes, r.Name)
		set := map[string]bool{}
		References(r.Properties, set)
		References(r.Metadata, set)
		for _, d := range r.DependsOn {
			set[d] = true
		}
		delete(set, r.Name)
		deps := make([]string, 0, len(set))
		for d := range set {
			if t.resources[d] != nil {
				deps = append(deps, d)
			}
		}
		sort.Strings(deps)
		g.Deps[r.Name] = deps
	}
	return g
}

// References adds to set the names of the resources that v refers to with
// get_resource or get_attr.
func References(v any, set map[string]bool) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			References(e, set)
		}
	case map[string]any:
		if len(x) == 1 {
			if a, ok := x["get_resource"]; ok {
				if s, ok := a.(string); ok {
					set[s] = true
					return
				}
			}
			if a, ok := x["get_attr"]; ok {
				if l, ok := a.([]any); ok && len(l) > 0 {
					if s, ok := l[0].(string); ok {
						set[s] = true
					}
					References(l[1:], set)
					return
				}
			}
		}
		for _, e := range x {
			References(e, set)
		}
	}
}

// Edges returns every edge as "dependent -> dependency", sorted.
func (g *Graph) Edges() []string {
	out := []string{}
	for _, n := range g.Nodes {
		for _, d := range g.Deps[n] {
			out = append(out, n+" -> "+d)
		}
	}
	sort.Strings(out)
	return out
}

// Order returns a creation order (every node after its dependencies), ties
// broken by the order of Nodes. It fails with a *CycleError.
func (g *Graph) Order() ([]string, error) {
	if c := g.Cycles(); len(c) > 0 {
		return nil, &CycleError{Cycles: c}
	}
	known := map[string]bool{}
	for _, n := range g.Nodes {
		known[n] = true
	}
	pending := map[string]int{}
	dependents := map[string][]string{}
	for _, n := range g.Nodes {
		for _, d := range g.Deps[n] {
			if known[d] {
				pending[n]++
				dependents[d] = append(dependents[d], n)
			}
		}
	}
	out := make([]string, 0, len(g.Nodes))
	for _, n := range g.Nodes {
		if pending[n] == 0 {
			out = append(out, n)
		}
	}
	for i := 0; i < len(out); i++ {
		for _, m := range dependents[out[i]] {
			pending[m]--
			if pending[m] == 0 {
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// Cycles returns one path for each strongly connected component that has a
// cycle (Tarjan's algorithm), e.g. [a b c a] when a needs b, b needs c and
// c needs a. Every node on a cycle is on exactly one reported path's
// component.
func (g *Graph) Cycles() [][]string {
	index := map[string]int{}
	low := map[string]int{}
	on := map[string]bool{}
	var stack []string
	var sccs [][]string
	next := 0
	var strong func(v string)
	strong = func(v string) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		on[v] = true
		for _, w := range g.Deps[v] {
			if _, seen := index[w]; !seen {
				if _, exists := g.Deps[w]; !exists {
					continue
				}
				strong(w)
				low[v] = min(low[v], low[w])
			} else if on[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				on[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			sccs = append(sccs, comp)
		}
	}
	for _, n := range g.Nodes {
		if _, seen := index[n]; !seen {
			strong(n)
		}
	}
	var out [][]string
	for _, comp := range sccs {
		in := map[string]bool{}
		for _, n := range comp {
			in[n] = true
		}
		if len(comp) == 1 {
			self := false
			for _, d := range g.Deps[comp[0]] {
				if d == comp[0] {
					self = true
				}
			}
			if !self {
				continue
			}
			out = append(out, []string{comp[0], comp[0]})
			continue
		}
		// Start from the component's first node in graph order and walk a
		// path back to it inside the component.
		start := ""
		for _, n := range g.Nodes {
			if in[n] {
				start = n
				break
			}
		}
		out = append(out, cyclePath(g, start, in))
	}
	sort.Slice(out, func(i, j int) bool { return strings.Join(out[i], ",") < strings.Join(out[j], ",") })
	return out
}

func cyclePath(g *Graph, start string, in map[string]bool) []string {
	prev := map[string]string{}
	queue := []string{start}
	seen := map[string]bool{start: true}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range g.Deps[v] {
			if !in[w] {
				continue
			}
			if w == start {
				path := []string{start}
				for x := v; x != start; x = prev[x] {
					path = append(path, x)
				}
				// path is start, v, ..., reversed; rebuild forward order.
				fwd := []string{start}
				for i := len(path) - 1; i >= 1; i-- {
					fwd = append(fwd, path[i])
				}
				return append(fwd, start)
			}
			if !seen[w] {
				seen[w] = true
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	return []string{start, start}
}
