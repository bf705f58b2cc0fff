package hot

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Environment is a parsed Heat environment file, or several merged.
type Environment struct {
	Parameters        map[string]any
	ParameterDefaults map[string]any
	Registry          Registry
}

// Registry is an environment's resource_registry.
type Registry struct {
	// Types maps a type name or glob ("OS::Nova::*") to a type name, a
	// template file, or a glob substitution ("OS::Neutron::*").
	Types map[string]string
	// Resources scopes mappings to resources by name or name glob.
	Resources map[string]map[string]string
	// Hooks maps a resource pattern to its hooks (pre-create,
	// pre-update, pre-delete, post-create, post-update, post-delete). A
	// pattern is a path of name globs, "/" between a template resource
	// (or group) and a resource of its nested stack: "server",
	// "*_server", "group/*/UpdateDeployment".
	Hooks map[string][]string
}

// HookTypes are the hooks a resource_registry may set on resources, in
// Heat's order.
var HookTypes = []string{"pre-create", "pre-update", "pre-delete", "post-create", "post-update", "post-delete"}

// ValidHook reports whether name is one of HookTypes.
func ValidHook(name string) bool {
	for _, h := range HookTypes {
		if h == name {
			return true
		}
	}
	return false
}

// Hooked reports whether the registry sets hook on the resource whose
// path in the flattened stack is resource ("server", "group/0/deploy"):
// a pattern matches when it has as many "/"-separated names and each
// name glob matches.
func (r *Registry) Hooked(resource, hook string) bool {
	parts := strings.Split(resource, "/")
	for pattern, hooks := range r.Hooks {
		found := false
		for _, h := range hooks {
			found = found || h == hook
		}
		if !found {
			continue
		}
		ps := strings.Split(pattern, "/")
		if len(ps) != len(parts) {
			continue
		}
		match := true
		for i := range ps {
			match = match && globMatch(ps[i], parts[i])
		}
		if match {
			return true
		}
	}
	return false
}

// NewEnvironment returns an empty environment.
func NewEnvironment() *Environment {
	return &Environment{Parameters: map[string]any{}, ParameterDefaults: map[string]any{},
		Registry: Registry{Types: map[string]string{}, Resources: map[string]map[string]string{},
			Hooks: map[string][]string{}}}
}

// ParseEnvironment decodes an environment document. Relative template
// paths in its resource_registry are made relative to the file's directory
// (with "/" separators), as Heat's client does.
func ParseEnvironment(file string, data []byte) (*Environment, error) {
	root, err := Decode(file, data)
	if err != nil {
		return nil, err
	}
	env := NewEnvironment()
	bad := func(p string, format string, args ...any) error {
		return &Error{File: file, Path: p, Err: fmt.Errorf(format, args...)}
	}
	dir := path.Dir(file)
	for _, k := range sortedKeys(root) {
		v := root[k]
		switch k {
		case "parameters", "parameter_defaults":
			if v == nil {
				continue
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, bad(k, "%w: must be a mapping", ErrInvalid)
			}
			dst := env.Parameters
			if k == "parameter_defaults" {
				dst = env.ParameterDefaults
			}
			for pk, pv := range m {
				dst[pk] = pv
			}
		case "resource_registry":
			if v == nil {
				continue
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, bad(k, "%w: must be a mapping", ErrInvalid)
			}
			for rk, rv := range m {
				switch rk {
				case "resources":
					rm, ok := rv.(map[string]any)
					if !ok {
						return nil, bad(k+".resources", "%w: must be a mapping", ErrInvalid)
					}
					for name, spec := range rm {
						scoped, err := parseScope(env, file, dir, k+".resources."+name, name, spec)
						if err != nil {
							return nil, err
						}
						env.Registry.Resources[name] = scoped
					}
				case "base_url":
				default:
					s, ok := rv.(string)
					if !ok {
						return nil, bad(k+"."+rk, "%w: must be a string", ErrInvalid)
					}
					env.Registry.Types[rk] = relTarget(dir, s)
				}
			}
		case "encrypted_param_names", "event_sinks", "parameter_merge_strategies":
		default:
			return nil, bad(k, "%w: unknown environment section", ErrInvalid)
		}
	}
	return env, nil
}

// parseScope reads a resource_registry.resources entry for the resource
// pattern at pattern: its type mappings (returned), its hooks, and the
// entries for the resources of its nested stack (maps; hooks only).
func parseScope(env *Environment, file, dir, where, pattern string, spec any) (map[string]string, error) {
	bad := func(p string, format string, args ...any) error {
		return &Error{File: file, Path: p, Err: fmt.Errorf(format, args...)}
	}
	sm, ok := spec.(map[string]any)
	if !ok {
		return nil, bad(where, "%w: must be a mapping", ErrInvalid)
	}
	scoped := map[string]string{}
	for _, typ := range sortedKeys(sm) {
		target := sm[typ]
		switch {
		case typ == "hooks":
			var hooks []string
			switch h := target.(type) {
			case string:
				hooks = []string{h}
			case []any:
				for _, x := range h {
					s, _ := x.(string)
					hooks = append(hooks, s)
				}
			case nil:
			default:
				return nil, bad(where+".hooks", "%w: must be a hook name or a list of them", ErrInvalid)
			}
			for _, h := range hooks {
				if !ValidHook(h) {
					return nil, bad(where+".hooks", "%w: invalid hook type %q (one of %s)", ErrInvalid, h, strings.Join(HookTypes, ", "))
				}
			}
			env.Registry.Hooks[pattern] = hooks
		case typ == "restricted_actions":
		default:
			if _, nested := target.(map[string]any); nested {
				inner, err := parseScope(env, file, dir, where+"."+typ, pattern+"/"+typ, target)
				if err != nil {
					return nil, err
				}
				if len(inner) > 0 {
					return nil, bad(where+"."+typ, "%w: type mappings for the resources of a nested stack are not supported (hooks are)", ErrInvalid)
				}
				continue
			}
			s, ok := target.(string)
			if !ok {
				return nil, bad(where+"."+typ, "%w: must be a string", ErrInvalid)
			}
			scoped[typ] = relTarget(dir, s)
		}
	}
	return scoped, nil
}

// IsTemplatePath reports whether a registry target names a template file
// rather than a resource type.
func IsTemplatePath(s string) bool {
	for _, ext := range []string{".yaml", ".yml", ".template", ".json", ".hot"} {
		if strings.HasSuffix(s, ext) {
			return true
		}
	}
	return strings.Contains(s, "/")
}

func relTarget(dir, s string) string {
	if !IsTemplatePath(s) || strings.Contains(s, "://") || path.IsAbs(s) || dir == "." || dir == "" {
		return s
	}
	return path.Join(dir, s)
}

// Merge returns the environments merged in order: later parameters,
// parameter_defaults and registry entries override earlier ones.
func Merge(envs ...*Environment) *Environment {
	out := NewEnvironment()
	for _, e := range envs {
		if e == nil {
			continue
		}
		for k, v := range e.Parameters {
			out.Parameters[k] = v
		}
		for k, v := range e.ParameterDefaults {
			out.ParameterDefaults[k] = v
		}
		for k, v := range e.Registry.Types {
			out.Registry.Types[k] = v
		}
		for k, v := range e.Registry.Hooks {
			out.Registry.Hooks[k] = append([]string(nil), v...)
		}
		for name, m := range e.Registry.Resources {
			dst := out.Registry.Resources[name]
			if dst == nil {
				dst = map[string]string{}
				out.Registry.Resources[name] = dst
			}
			for k, v := range m {
				dst[k] = v
			}
		}
	}
	return out
}

// Resolve maps a resource's type through the registry: resource-scoped
// entries first, then exact type names, then the longest matching glob; a
// mapped type is mapped again until it is stable. The result is a type
// name or a template path (IsTemplatePath). A chain that revisits a type,
// or grows past maxRegistryChain types (a glob such as "*": "B::*" maps
// every result again, to a new name each time), is an error.
func (r *Registry) Resolve(resource, typ string) (string, error) {
	seen := map[string]bool{}
	cur := typ
	for {
		if seen[cur] {
			return "", fmt.Errorf("%w: resource_registry loops on %s", ErrInvalid, cur)
		}
		if len(seen) >= maxRegistryChain {
			return "", fmt.Errorf("%w: resource_registry maps %s through more than %d types (now %s)", ErrInvalid, typ, maxRegistryChain, cur)
		}
		seen[cur] = true
		next, ok := r.lookup(resource, cur)
		if !ok || next == cur {
			return cur, nil
		}
		if IsTemplatePath(next) {
			return next, nil
		}
		cur = next
	}
}

// maxRegistryChain bounds the type → type mappings Resolve follows.
const maxRegistryChain = 64

func (r *Registry) lookup(resource, typ string) (string, bool) {
	var scopes []string
	for name := range r.Resources {
		if globMatch(name, resource) {
			scopes = append(scopes, name)
		}
	}
	// Exact resource names before globs, longer globs first.
	sort.Slice(scopes, func(i, j int) bool {
		ei, ej := !strings.Contains(scopes[i], "*"), !strings.Contains(scopes[j], "*")
		if ei != ej {
			return ei
		}
		return len(scopes[i]) > len(scopes[j])
	})
	for _, s := range scopes {
		if t, ok := matchType(r.Resources[s], typ); ok {
			return t, true
		}
	}
	return matchType(r.Types, typ)
}

func matchType(m map[string]string, typ string) (string, bool) {
	if t, ok := m[typ]; ok {
		return t, true
	}
	best := ""
	for k := range m {
		if strings.HasSuffix(k, "*") && strings.HasPrefix(typ, k[:len(k)-1]) && len(k) > len(best) {
			best = k
		}
	}
	if best == "" {
		return "", false
	}
	t := m[best]
	if strings.HasSuffix(t, "*") {
		t = t[:len(t)-1] + typ[len(best)-1:]
	}
	return t, true
}

func globMatch(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// Loader reads template files that are not in the files map.
type Loader interface {
	Load(name string) ([]byte, error)
}

// FSLoader loads files from a file system (os.DirFS for a directory).
type FSLoader struct{ FS fs.FS }

// Load reads name from the file system; "file://" prefixes and leading
// slashes are stripped.
func (l FSLoader) Load(name string) ([]byte, error) {
	name = strings.TrimPrefix(name, "file://")
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	b, err := fs.ReadFile(l.FS, name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNotFound, name, err)
	}
	return b, nil
}
