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
}

// NewEnvironment returns an empty environment.
func NewEnvironment() *Environment {
	return &Environment{Parameters: map[string]any{}, ParameterDefaults: map[string]any{},
		Registry: Registry{Types: map[string]string{}, Resources: map[string]map[string]string{}}}
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
						sm, ok := spec.(map[string]any)
						if !ok {
							return nil, bad(k+".resources."+name, "%w: must be a mapping", ErrInvalid)
						}
						scoped := map[string]string{}
						for typ, target := range sm {
							if typ == "hooks" || typ == "restricted_actions" {
								continue
							}
							s, ok := target.(string)
							if !ok {
								return nil, bad(k+".resources."+name+"."+typ, "%w: must be a string", ErrInvalid)
							}
							scoped[typ] = relTarget(dir, s)
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
