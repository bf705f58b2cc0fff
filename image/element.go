package image

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Element is a reusable piece of an image, diskimage-builder's idea in a
// form a Go program composes: dependencies, provided capabilities, typed
// environment values, hooks per phase run on the staging tree, a file
// overlay and declarative package lists.
type Element struct {
	// Name identifies the element. Required.
	Name string `yaml:"name"`
	// Deps are the elements (or capabilities) this one needs; they are
	// applied before it (DIB's element-deps).
	Deps []string `yaml:"deps,omitempty"`
	// Provides are capabilities this element stands for (DIB's
	// element-provides); two applied elements may not provide the same.
	Provides []string `yaml:"provides,omitempty"`
	// Env are environment values given to the hooks.
	Env []EnvVar `yaml:"env,omitempty"`
	// Packages are package names recorded in the manifest; an element
	// hook (or a driver with root) installs them.
	Packages []string `yaml:"packages,omitempty"`
	// Hooks run on the staging tree in phase order.
	Hooks []Hook `yaml:"-"`
	// Overlay is copied over the root before the hooks of the install
	// phase (DIB's static/ files): os-apply-config templates,
	// os-refresh-config scripts and the like.
	Overlay fs.FS `yaml:"-"`
	// Dir is the directory the element was loaded from, if any.
	Dir string `yaml:"-"`
}

// EnvVar is a typed environment value.
type EnvVar struct {
	Name string `yaml:"name"`
	// Type is "string" (default), "int", "bool" or "path".
	Type  string `yaml:"type,omitempty"`
	Value string `yaml:"value"`
}

// HookPhase is one of diskimage-builder's phases that run on the tree.
type HookPhase string

// Hook phases in the order they run.
const (
	HookExtraData   HookPhase = "extra-data"
	HookPreInstall  HookPhase = "pre-install"
	HookInstall     HookPhase = "install"
	HookPostInstall HookPhase = "post-install"
	HookFinalise    HookPhase = "finalise"
	HookCleanup     HookPhase = "cleanup"
)

// HookPhases lists the phases in order.
var HookPhases = []HookPhase{HookExtraData, HookPreInstall, HookInstall, HookPostInstall, HookFinalise, HookCleanup}

// HookContext is what a hook gets: the staging root and the environment.
type HookContext struct {
	// Root is the staging tree's directory (TARGET_ROOT).
	Root string
	// Element is the element the hook belongs to.
	Element string
	// Env holds every applied element's environment values.
	Env map[string]string
}

// Hook is one step of an element in one phase. Hooks of a phase run
// ordered by element order, then Name.
type Hook struct {
	Phase HookPhase
	Name  string
	// Run does the work. It must only touch files under hc.Root.
	Run func(ctx context.Context, hc *HookContext) error
}

// ParseElement parses an element.yaml (name, deps, provides, env,
// packages) and validates it; errors name the field at fault.
func ParseElement(b []byte) (*Element, error) {
	var e Element
	if err := decodeStrict(b, &e); err != nil {
		return nil, err
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return &e, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Validate checks names and typed environment values.
func (e *Element) Validate() error {
	if !validName(e.Name) {
		return invalid("name", "%q must be letters, digits, '-', '_' or '.'", e.Name)
	}
	for field, list := range map[string][]string{"deps": e.Deps, "provides": e.Provides, "packages": e.Packages} {
		for i, v := range list {
			if !validName(strings.ReplaceAll(strings.ReplaceAll(v, "+", ""), ":", "")) {
				return invalid(fmt.Sprintf("%s[%d]", field, i), "%q is not a valid name", v)
			}
		}
	}
	for i, v := range e.Env {
		f := fmt.Sprintf("env[%d]", i)
		if v.Name == "" || strings.ContainsAny(v.Name, "= \t\n") {
			return invalid(f+".name", "%q is not a valid variable name", v.Name)
		}
		switch v.Type {
		case "", "string":
		case "int":
			if _, err := strconv.ParseInt(v.Value, 10, 64); err != nil {
				return invalid(f+".value", "%q is not an int", v.Value)
			}
		case "bool":
			if _, err := strconv.ParseBool(v.Value); err != nil {
				return invalid(f+".value", "%q is not a bool", v.Value)
			}
		case "path":
			if !strings.HasPrefix(v.Value, "/") {
				return invalid(f+".value", "%q is not an absolute path", v.Value)
			}
		default:
			return invalid(f+".type", "%q is not one of string, int, bool, path", v.Type)
		}
	}
	for i, h := range e.Hooks {
		if !knownPhase(h.Phase) {
			return invalid(fmt.Sprintf("hooks[%d].phase", i), "%q is not a hook phase", h.Phase)
		}
		if h.Run == nil {
			return invalid(fmt.Sprintf("hooks[%d]", i), "hook %q has no Run", h.Name)
		}
	}
	return nil
}

func knownPhase(p HookPhase) bool {
	for _, k := range HookPhases {
		if k == p {
			return true
		}
	}
	return false
}

// LoadElement reads an element directory: element.yaml (optional; the
// name defaults to the directory name), DIB's element-deps,
// element-provides and package-installs lists (one name a line), static/
// as the overlay, and executable scripts in <phase>.d/ as hooks. As in
// diskimage-builder, scripts of pre-install.d, install.d, post-install.d
// and finalise.d run inside the staging tree (chroot, root only), those
// of extra-data.d and cleanup.d on the host with TARGET_ROOT set.
func LoadElement(dir string) (*Element, error) {
	e := &Element{Name: filepath.Base(filepath.Clean(dir))}
	if b, err := os.ReadFile(filepath.Join(dir, "element.yaml")); err == nil {
		pe, err := ParseElement(b)
		if err != nil {
			var se *SpecError
			if errors.As(err, &se) {
				se.File = filepath.Join(dir, "element.yaml")
			}
			return nil, err
		}
		e = pe
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("image: element %s: %w", dir, err)
	}
	for file, dst := range map[string]*[]string{"element-deps": &e.Deps, "element-provides": &e.Provides, "package-installs": &e.Packages} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("image: element %s: %w", e.Name, err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			l, _, _ = strings.Cut(l, "#")
			if l = strings.TrimSpace(l); l != "" {
				*dst = append(*dst, l)
			}
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "static")); err == nil && fi.IsDir() {
		e.Overlay = os.DirFS(filepath.Join(dir, "static"))
	}
	for _, ph := range HookPhases {
		ents, err := os.ReadDir(filepath.Join(dir, string(ph)+".d"))
		if err != nil {
			continue
		}
		for _, de := range ents {
			fi, err := de.Info()
			if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
				continue
			}
			script := filepath.Join(dir, string(ph)+".d", de.Name())
			e.Hooks = append(e.Hooks, Hook{Phase: ph, Name: de.Name(), Run: scriptHook(script, ph)})
		}
	}
	e.Dir = dir
	if err := e.Validate(); err != nil {
		var se *SpecError
		if errors.As(err, &se) {
			se.File = dir
		}
		return nil, err
	}
	return e, nil
}

// inChroot reports whether diskimage-builder runs a phase's scripts
// inside the image (chroot) rather than on the host.
func inChroot(p HookPhase) bool {
	switch p {
	case HookPreInstall, HookInstall, HookPostInstall, HookFinalise:
		return true
	}
	return false
}

// ErrNeedsRoot is wrapped when a hook must run in a chroot and the build
// has no root privilege.
var ErrNeedsRoot = errors.New("needs root")

// scriptHook runs an element's script as diskimage-builder does: scripts
// of the in-image phases (pre-install, install, post-install, finalise)
// are copied into the staging tree and run chrooted into it (root only:
// running them on the host could change the host), the others run on the
// host with TARGET_ROOT set to the staging tree.
func scriptHook(script string, phase HookPhase) func(context.Context, *HookContext) error {
	return func(ctx context.Context, hc *HookContext) error {
		env := append(os.Environ(), "TARGET_ROOT="+hc.Root)
		var cmd *exec.Cmd
		if inChroot(phase) {
			if os.Geteuid() != 0 {
				return fmt.Errorf("%s.d/%s runs inside the image (chroot): %w", phase, filepath.Base(script), ErrNeedsRoot)
			}
			b, err := os.ReadFile(script)
			if err != nil {
				return err
			}
			dir, err := os.MkdirTemp(hc.Root, ".tripleo-hook-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			in := filepath.Join(dir, filepath.Base(script))
			if err := os.WriteFile(in, b, 0o755); err != nil {
				return err
			}
			cmd = exec.CommandContext(ctx, "/"+filepath.Base(dir)+"/"+filepath.Base(script))
			cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: hc.Root}
			cmd.Dir = "/"
			env = append(os.Environ(), "TARGET_ROOT=/")
		} else {
			cmd = exec.CommandContext(ctx, script)
			cmd.Dir = hc.Root
		}
		for _, k := range sortedKeys(hc.Env) {
			env = append(env, k+"="+hc.Env[k])
		}
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w: %s", filepath.Base(script), err, strings.TrimSpace(string(out)))
		}
		return nil
	}
}

// CycleError is a dependency cycle between elements.
type CycleError struct {
	// Path is the cycle, its first element repeated at the end.
	Path []string
}

// Error implements error.
func (e *CycleError) Error() string {
	return "image: element dependency cycle: " + strings.Join(e.Path, " -> ")
}

// ConflictError is two elements providing the same capability.
type ConflictError struct {
	Capability string
	Elements   [2]string
}

// Error implements error.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("image: elements %q and %q both provide %q", e.Elements[0], e.Elements[1], e.Capability)
}

// ErrUnknownElement is wrapped when a spec or a dependency names an
// element nobody provides.
var ErrUnknownElement = errors.New("unknown element")

// ResolveElements returns the named elements and their dependencies in
// application order: dependencies first, ties broken by name.
func ResolveElements(names []string, set []*Element) ([]*Element, error) {
	return resolveElements(names, set)
}

func resolveElements(names []string, set []*Element) ([]*Element, error) {
	byName := map[string]*Element{}
	for _, e := range set {
		if _, dup := byName[e.Name]; dup {
			return nil, fmt.Errorf("image: element %q is defined twice", e.Name)
		}
		byName[e.Name] = e
	}
	// providers of each capability among the available elements
	providers := map[string][]string{}
	for _, e := range set {
		for _, p := range e.Provides {
			providers[p] = append(providers[p], e.Name)
		}
	}
	lookup := func(from, n string) (*Element, error) {
		if e, ok := byName[n]; ok {
			return e, nil
		}
		if ps := providers[n]; len(ps) > 0 {
			sort.Strings(ps)
			return byName[ps[0]], nil
		}
		if from == "" {
			return nil, fmt.Errorf("image: %w %q", ErrUnknownElement, n)
		}
		return nil, fmt.Errorf("image: element %q: dependency %w %q", from, ErrUnknownElement, n)
	}
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var order []*Element
	var stack []string
	var visit func(from, n string) error
	visit = func(from, n string) error {
		e, err := lookup(from, n)
		if err != nil {
			return err
		}
		switch state[e.Name] {
		case done:
			return nil
		case visiting:
			i := len(stack) - 1
			for i > 0 && stack[i] != e.Name {
				i--
			}
			return &CycleError{Path: append(append([]string(nil), stack[i:]...), e.Name)}
		}
		state[e.Name] = visiting
		stack = append(stack, e.Name)
		deps := append([]string(nil), e.Deps...)
		sort.Strings(deps)
		for _, d := range deps {
			if err := visit(e.Name, d); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[e.Name] = done
		order = append(order, e)
		return nil
	}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	for _, n := range sorted {
		if err := visit("", n); err != nil {
			return nil, err
		}
	}
	// conflicting providers among the applied elements
	owner := map[string]string{}
	for _, e := range order {
		owner[e.Name] = e.Name
	}
	for _, e := range order {
		for _, p := range e.Provides {
			if o, ok := owner[p]; ok && o != e.Name {
				a, b := o, e.Name
				if a > b {
					a, b = b, a
				}
				return nil, &ConflictError{Capability: p, Elements: [2]string{a, b}}
			}
			owner[p] = e.Name
		}
	}
	return order, nil
}

// applyElements runs the elements' overlays and hooks on the staging
// tree, phase by phase, and returns their manifest records and the
// declared packages (sorted, unique).
func (b *builder) applyElements(ctx context.Context, st *Staging, elems []*Element) ([]ElementRecord, []string, error) {
	env := map[string]string{}
	var records []ElementRecord
	pkgSet := map[string]bool{}
	for _, e := range elems {
		for _, v := range e.Env {
			env[v.Name] = v.Value
		}
		r := ElementRecord{Name: e.Name, Provides: e.Provides, Packages: e.Packages}
		for _, h := range e.Hooks {
			r.Hooks = append(r.Hooks, string(h.Phase)+"/"+h.Name)
		}
		sort.Strings(r.Hooks)
		records = append(records, r)
		for _, p := range e.Packages {
			pkgSet[p] = true
		}
	}
	for _, ph := range HookPhases {
		for _, e := range elems {
			if ph == HookInstall && e.Overlay != nil {
				b.emit(PhaseElements, e.Name+": overlay", 0, 0)
				if err := overlay(ctx, st, e.Overlay); err != nil {
					return nil, nil, &BuildError{Phase: PhaseElements, Subject: "element " + e.Name + " overlay", Err: err}
				}
			}
			hooks := make([]Hook, 0, len(e.Hooks))
			for _, h := range e.Hooks {
				if h.Phase == ph {
					hooks = append(hooks, h)
				}
			}
			sort.SliceStable(hooks, func(i, j int) bool { return hooks[i].Name < hooks[j].Name })
			for _, h := range hooks {
				b.emit(PhaseElements, fmt.Sprintf("%s: %s.d/%s", e.Name, ph, h.Name), 0, 0)
				if err := h.Run(ctx, &HookContext{Root: st.Dir, Element: e.Name, Env: env}); err != nil {
					return nil, nil, &BuildError{Phase: PhaseElements, Subject: fmt.Sprintf("element %s hook %s.d/%s", e.Name, ph, h.Name), Err: err}
				}
			}
		}
	}
	return records, sortedKeys(pkgSet), nil
}

// overlay copies an fs.FS over the staging root (owner root, modes from
// the source, directories created 0755).
func overlay(ctx context.Context, st *Staging, fsys fs.FS) error {
	return fs.WalkDir(fsys, ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		fi, err := de.Info()
		if err != nil {
			return err
		}
		e := Entry{Path: path.Clean(p), Mode: fi.Mode()}
		if de.IsDir() {
			dst, _ := st.Path(p)
			if fi, err := os.Lstat(dst); err == nil && fi.IsDir() {
				return nil // keep the existing directory's owner and mode
			}
			return st.Create(e, nil)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if rl, ok := fsys.(fs.ReadLinkFS); ok {
				t, err := rl.ReadLink(p)
				if err != nil {
					return err
				}
				e.Target = t
				return st.Create(e, nil)
			}
			return fmt.Errorf("%s: symlink in an overlay that cannot read links", p)
		}
		f, err := fsys.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return st.Create(e, f)
	})
}
