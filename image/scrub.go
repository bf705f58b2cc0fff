package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// stateRules are the configuration and persistent state a golden image
// must not carry: the paths are globs relative to the root; a trailing
// "/**" removes the files below a directory but keeps the directories.
var stateRules = []string{
	"etc/ssh/ssh_host_*",
	"var/lib/dbus/machine-id",
	"var/lib/systemd/random-seed",
	"var/lib/dhcp/*.leases",
	"var/log/**",
	"var/cache/apt/*.bin",
	"var/cache/apt/archives/*.deb",
	"var/cache/apt/archives/partial/*",
	"var/cache/debconf/*-old",
	"var/cache/ldconfig/aux-cache",
	"var/lib/apt/lists/*_*",
	"var/lib/apt/lists/partial/*",
	"var/tmp/*",
	"tmp/*",
	"root/.bash_history",
	"var/lib/dpkg/*-old",
}

// excludeState removes configuration and persistent state from the staged
// root and returns what it removed (root-relative paths, sorted).
// /etc/machine-id is emptied, not removed, so systemd makes a new one on
// first boot.
func excludeState(st *Staging, extra []string, keepBuiltin bool) ([]string, error) {
	var removed []string
	rules := extra
	if !keepBuiltin {
		rules = append(append([]string(nil), stateRules...), extra...)
		mid := filepath.Join(st.Dir, "etc", "machine-id")
		if fi, err := os.Lstat(mid); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 && st.checkParents("etc/machine-id") == nil {
			// Replace rather than truncate: the file may be shared with
			// the source tree through a hard link.
			if err := replaceEmpty(mid, fi); err != nil {
				return nil, fmt.Errorf("image: exclude state: %w", err)
			}
			removed = append(removed, "etc/machine-id (emptied)")
		}
	}
	for _, r := range rules {
		r = strings.TrimPrefix(filepath.ToSlash(r), "/")
		if base, ok := strings.CutSuffix(r, "/**"); ok {
			// Never follow a symlink out of the tree: a rule under a
			// symlinked directory is skipped.
			if st.checkParents(base+"/x") != nil {
				continue
			}
			root := filepath.Join(st.Dir, base)
			err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
				if err != nil {
					if errors.Is(err, fs.ErrNotExist) {
						return nil
					}
					return err
				}
				if de.IsDir() {
					return nil
				}
				rel, _ := filepath.Rel(st.Dir, p)
				removed = append(removed, filepath.ToSlash(rel))
				return os.Remove(p)
			})
			if err != nil {
				return nil, fmt.Errorf("image: exclude %s: %w", r, err)
			}
			continue
		}
		matches, err := filepath.Glob(filepath.Join(st.Dir, filepath.FromSlash(r)))
		if err != nil {
			return nil, fmt.Errorf("image: exclude %s: %w", r, err)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(st.Dir, m)
			if rel == "." || strings.HasPrefix(rel, "..") || st.checkParents(filepath.ToSlash(rel)) != nil {
				continue // outside, or reached through a symlinked directory
			}
			removed = append(removed, filepath.ToSlash(rel))
			if err := os.RemoveAll(m); err != nil {
				return nil, fmt.Errorf("image: exclude %s: %w", rel, err)
			}
			delete(st.fixups, filepath.ToSlash(rel))
		}
	}
	sort.Strings(removed)
	return removed, nil
}

// replaceEmpty replaces a file by an empty one with the same owner, mode
// and mtime.
func replaceEmpty(p string, fi os.FileInfo) error {
	if err := os.Remove(p); err != nil {
		return err
	}
	if err := os.WriteFile(p, nil, fi.Mode().Perm()); err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(p, int(st.Uid), int(st.Gid)); err != nil && !errors.Is(err, syscall.EPERM) {
			return err
		}
	}
	if err := os.Chmod(p, fi.Mode().Perm()); err != nil {
		return err
	}
	return os.Chtimes(p, fi.ModTime(), fi.ModTime())
}
