package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Template is one template of a templates tree.
type Template struct {
	// Path is the template file's path: the root as given joined with Rel,
	// the way the original names it (relative when the root is relative).
	Path string
	// Rel is the slash-separated path of the template under the root. It is
	// also the path of the output file under the output root.
	Rel string
	// Control is the path of the template's .oac control file, or "" when
	// there is none (no regular file, after following symlinks, of that
	// name).
	Control string
}

// listedTemplate is a Template and whether the directory listing said a
// regular file (not a symlink), so that Apply may open it before its
// stat.
type listedTemplate struct {
	Template
	regular bool
}

// FindTemplates lists the templates under root the way os-apply-config's
// os.walk does, sorted by Rel (the original uses the directory order,
// which is arbitrary):
//   - every non-directory entry is a template, dotfiles and symlinks to files
//     (even dangling ones) included, except the names ending in ".oac";
//   - directories are descended into, symlinks to directories are not;
//   - a root that does not exist or is not a directory gives no template and
//     no error.
//
// Unlike os.walk, which skips a subdirectory it cannot read, an unreadable
// directory is an error: half a tree is never applied.
func FindTemplates(root string) ([]Template, error) {
	listed, err := findTemplates(root)
	if listed == nil {
		return nil, err
	}
	out := make([]Template, len(listed))
	for i := range listed {
		out[i] = listed[i].Template
	}
	return out, nil
}

// findTemplates is FindTemplates, with what the listing said of each.
func findTemplates(root string) ([]listedTemplate, error) {
	var out []listedTemplate
	if err := walkTemplates(root, "", &out); err != nil {
		if errors.Is(err, errRootMissing) {
			return nil, nil
		}
		return nil, err
	}
	slices.SortFunc(out, func(a, b listedTemplate) int { return strings.Compare(a.Rel, b.Rel) })
	return out, nil
}

var errRootMissing = errors.New("templates root missing")

func walkTemplates(root, rel string, out *[]listedTemplate) error {
	dir := root
	if rel != "" {
		dir = pyJoin(root, filepath.FromSlash(rel))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if rel == "" && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) {
			return errRootMissing
		}
		return fmt.Errorf("read templates directory: %w", err)
	}
	byName := make(map[string]fs.DirEntry, len(entries))
	for _, e := range entries {
		byName[e.Name()] = e
	}
	for _, e := range entries {
		name := e.Name()
		r := name
		if rel != "" {
			r = rel + "/" + name
		}
		p := pyJoin(dir, name)
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			// os.walk lists a symlink to a directory among the directories
			// (and does not descend into it), anything else among the files.
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				continue
			}
		}
		if isDir {
			if err := walkTemplates(root, r, out); err != nil {
				return err
			}
			continue
		}
		if strings.HasSuffix(name, ControlSuffix) {
			continue
		}
		t := listedTemplate{Template{Path: p, Rel: r}, e.Type().IsRegular()}
		// The control file must be a regular file, symlinks followed (the
		// listing spares a stat for the templates that have none).
		if ce, ok := byName[name+ControlSuffix]; ok {
			if ce.Type().IsRegular() {
				t.Control = p + ControlSuffix
			} else if ce.Type()&fs.ModeSymlink != 0 {
				if fi, err := os.Stat(p + ControlSuffix); err == nil && fi.Mode().IsRegular() {
					t.Control = p + ControlSuffix
				}
			}
		}
		*out = append(*out, t)
	}
	return nil
}

// pyJoin is Python's os.path.join(a, b) for a relative b: it adds a slash
// only when a does not end in one, and cleans nothing, so that paths read
// exactly as the original prints them.
func pyJoin(a, b string) string {
	if a == "" || strings.HasSuffix(a, "/") {
		return a + b
	}
	return a + "/" + b
}
