package refresh

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/tripleo-go/tripleo/config"

	"github.com/tripleo-go/tripleo/internal/atomicfile"
)

// Cache locations os-collect-config uses by default.
const (
	DefaultCacheDir       = "/var/lib/os-collect-config"
	DefaultBackupCacheDir = "/var/run/os-collect-config"
)

// MetaListName is the cache entry holding the list of the files of the
// last round (os_config_files.json), which os-apply-config reads when
// OS_CONFIG_FILES is not set.
const MetaListName = "os_config_files"

// CacheOptions configure a Cache. The zero value is usable.
type CacheOptions struct {
	// BackupDir, when set, receives a full copy of the cache directory
	// every time something changed, as os-collect-config's
	// --backup-cachedir (which lives on tmpfs, /var/run).
	BackupDir string
	// Logger receives warnings (a corrupt .last). Nil discards.
	Logger *slog.Logger
	// NoSync skips fsync (tests, benchmarks). Writes stay atomic.
	NoSync bool
}

// Cache is os-collect-config's metadata cache, file for file: for each
// output name, name.json (the latest content, json.dumps(indent=1), mode
// 0600, rewritten every round), name.json.orig (the first content ever
// seen) and name.json.last (the content last applied successfully), plus
// os_config_files.json. Cache methods are not safe for concurrent use on
// one directory.
type Cache struct {
	dir  string
	opts CacheOptions
	log  *slog.Logger
}

// NewCache returns the cache in dir (created on first store).
func NewCache(dir string, opts *CacheOptions) *Cache {
	c := &Cache{dir: dir}
	if opts != nil {
		c.opts = *opts
	}
	c.log = c.opts.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Dir returns the cache directory.
func (c *Cache) Dir() string { return c.dir }

// Path returns the path of name's latest content, dir/name.json (joined as
// Python's os.path.join does, so a relative dir gives a relative path).
func (c *Cache) Path(name string) string {
	if c.dir == "" {
		return name + ".json"
	}
	if c.dir[len(c.dir)-1] == '/' {
		return c.dir + name + ".json"
	}
	return c.dir + "/" + name + ".json"
}

// Store writes content as name's latest content and reports whether it
// changed: name was never seen (its .orig is created now), it has no .last,
// or its .last differs (by Equal) from content. A .last that cannot be
// parsed counts as changed (the original crashed).
func (c *Cache) Store(name string, content any) (changed bool, path string, err error) {
	if !safeName(name) {
		return false, "", fmt.Errorf("cache entry name %q is not a plain file name", name)
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return false, "", fmt.Errorf("create cache dir: %w", err)
	}
	path = c.Path(name)
	body := config.MarshalIndent(content, 1)
	orig := path + ".orig"
	if _, err := os.Lstat(orig); errors.Is(err, fs.ErrNotExist) {
		if err := c.writeFile(orig, body, "tmp"); err != nil {
			return false, "", err
		}
		changed = true
	}
	// The original rewrites name.json on every poll; an identical file is
	// left alone here (same content, no write and fsync per poll and
	// source, which added up to seconds of CPU for hundreds of agents).
	if old, err := os.ReadFile(path); err != nil || !bytes.Equal(old, body) {
		if err := c.writeFile(path, body, "tmp"); err != nil {
			return false, "", err
		}
	}
	if changed {
		return true, path, nil
	}
	last, err := os.ReadFile(path + ".last")
	if err != nil {
		return true, path, nil
	}
	then, err := config.DecodeJSON(last)
	if err != nil {
		c.log.Warn(fmt.Sprintf("%s.last is not valid JSON (%v); treating %s as changed", path, err, name))
		return true, path, nil
	}
	return !Equal(then, content), path, nil
}

// Load returns name's latest cached content, and false when there is none
// or it is not valid JSON.
func (c *Cache) Load(name string) (any, bool) {
	b, err := os.ReadFile(c.Path(name))
	if err != nil {
		return nil, false
	}
	v, err := config.DecodeJSON(b)
	if err != nil {
		c.log.Warn(fmt.Sprintf("%s: %v", c.Path(name), err))
		return nil, false
	}
	return v, true
}

// Commit records name's latest content as successfully applied (copies
// name.json to name.json.last, atomically). A name with no content is a
// no-op.
func (c *Cache) Commit(name string) error {
	body, err := os.ReadFile(c.Path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("commit %s: %w", name, err)
	}
	return c.writeFile(c.Path(name)+".last", body, "tmp")
}

// StoreList writes os_config_files.json, the JSON list of the cache paths
// of names (in order), then replaces the backup directory, if any, with a
// copy of the cache directory, as os-collect-config does after a change.
func (c *Cache) StoreList(names []string) error {
	list := make([]any, len(names))
	for i, n := range names {
		list[i] = c.Path(n)
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("create cache dir: %w", err)
	}
	if err := c.writeFile(c.Path(MetaListName), config.AppendJSON(nil, list), "tmp_meta_list."); err != nil {
		return err
	}
	if c.opts.BackupDir != "" {
		if err := c.backup(); err != nil {
			return fmt.Errorf("backup cache to %s: %w", c.opts.BackupDir, err)
		}
	}
	return nil
}

// writeFile writes body to path through a 0600 temporary file in the same
// directory and a rename.
func (c *Cache) writeFile(path string, body []byte, prefix string) error {
	return writeAtomic(path, body, prefix, c.opts.NoSync)
}

func writeAtomic(path string, body []byte, prefix string, noSync bool) error {
	return atomicfile.WriteFile(path, body, &atomicfile.Options{TempPrefix: prefix, NoSync: noSync})
}

// backup copies the cache dir to a temporary sibling of the backup dir,
// then swaps it in, so the backup is never half-written.
func (c *Cache) backup() error {
	dst := filepath.Clean(c.opts.BackupDir)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".new-")
	if err != nil {
		return err
	}
	if err := copyTree(c.dir, tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if fi, err := os.Stat(c.dir); err == nil {
		_ = os.Chmod(tmp, fi.Mode().Perm())
	}
	old := ""
	if _, err := os.Lstat(dst); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dst, old); err != nil {
			os.RemoveAll(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// copyTree copies the regular files and directories under src into dst
// (which exists), following symlinks and keeping modes, as Python's
// shutil.copytree does by default.
func copyTree(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		fi, err := os.Stat(s)
		if err != nil {
			continue // a dangling symlink or a file that just went away
		}
		switch {
		case fi.IsDir():
			if err := os.Mkdir(d, fi.Mode().Perm()); err != nil {
				return err
			}
			if err := copyTree(s, d); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := copyFile(s, d, fi.Mode().Perm()); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(perm); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
