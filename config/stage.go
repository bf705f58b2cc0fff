package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/tripleo-go/tripleo/internal/atomicfile"
	"golang.org/x/sys/unix"
)

// A directory of the output tree that does not exist yet is not made in
// place: it is built under a temporary name beside it (".oac-tmp-dir-N",
// with any directories below it) and renamed into place whole once every
// file in it is written and durable. Its files are written under their own
// names, with no temporary file and rename each, and a crash leaves either
// no directory or a complete one, never a half-filled one. The output
// directory itself, and those above it, are made in place as the original
// does: nothing is ever written outside the output directory.

// staging is one directory built under a temporary name.
type staging struct {
	top     string   // the directory to make
	tmp     string   // its temporary name, in the same parent
	dirs    []string // tmp and the directories made in it, parents first
	renamed bool     // tmp is now top
	err     error    // the rename's error
}

// stagedDir is where the files of one output directory are written.
type stagedDir struct {
	wdir string   // the directory itself, or its twin in a staging
	st   *staging // nil: the directory itself
}

// stager decides where the files of each output directory are written.
// The zero value is not usable: root, dirs and exists must be set.
type stager struct {
	root     string               // the output directory, absolute
	dirs     map[string]stagedDir // by output directory
	exists   map[string]bool      // for mkdirAll
	created  []string             // directories made in place, parents first
	stagings []*staging
}

// dirFor returns the directory to write the files of the output directory
// dir in, and the staging it is in (nil: dir itself), making it or its
// staging twin if needed.
func (s *stager) dirFor(dir string) (string, *staging, error) {
	if d, ok := s.dirs[dir]; ok {
		return d.wdir, d.st, nil
	}
	if dir == s.root || !within(s.root, dir) {
		// The output directory and those above it: made in place.
		if err := mkdirAll(dir, &s.created, s.exists); err != nil {
			return "", nil, err
		}
		s.dirs[dir] = stagedDir{wdir: dir}
		return dir, nil, nil
	}
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return "", nil, &fs.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
	case err == nil:
		s.dirs[dir] = stagedDir{wdir: dir}
		return dir, nil, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", nil, err
	}
	parent := filepath.Dir(dir)
	pw, pst, err := s.dirFor(parent)
	if err != nil {
		return "", nil, err
	}
	if pst == nil {
		// The parent exists: dir is the top of a new staging.
		st := &staging{top: dir}
		if st.tmp, err = mkdirTemp(parent); err != nil {
			return "", nil, err
		}
		st.dirs = []string{st.tmp}
		s.stagings = append(s.stagings, st)
		s.dirs[dir] = stagedDir{wdir: st.tmp, st: st}
		return st.tmp, st, nil
	}
	w := pw + "/" + filepath.Base(dir)
	if err := os.Mkdir(w, 0o755); err != nil {
		return "", nil, err
	}
	pst.dirs = append(pst.dirs, w)
	s.dirs[dir] = stagedDir{wdir: w, st: pst}
	return w, pst, nil
}

// mkdirTemp makes a new directory ".oac-tmp-dir-<random>" in parent, mode
// 0755 less the umask (as mkdirAll), and returns its path. (os.MkdirTemp
// makes 0700, and a chmod after it would ignore the umask, unlike the
// original's makedirs.)
func mkdirTemp(parent string) (string, error) {
	var err error
	for range 100 {
		p := filepath.Join(parent, ".oac-tmp-dir-"+strconv.FormatUint(uint64(rand.Uint32()), 10))
		if err = os.Mkdir(p, 0o755); err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	return "", err
}

// syncDirs fsyncs every directory of every staging, deepest first, so
// that their entries are durable before the stagings are renamed.
func (s *stager) syncDirs() error {
	for _, st := range s.stagings {
		for i := len(st.dirs) - 1; i >= 0; i-- {
			if err := atomicfile.SyncDir(st.dirs[i]); err != nil {
				return fmt.Errorf("sync directory %s: %w", st.dirs[i], err)
			}
		}
	}
	return nil
}

// parents returns the directories whose entries changed by making
// directories: the parents of those made in place and of the stagings
// renamed.
func (s *stager) parents() map[string]bool {
	dirs := map[string]bool{}
	for _, d := range s.created {
		dirs[filepath.Dir(d)] = true
	}
	for _, st := range s.stagings {
		if st.renamed {
			dirs[filepath.Dir(st.top)] = true
		}
	}
	return dirs
}

// undoStagings removes the stagings not renamed (their files already
// removed), deepest directories first.
func (s *stager) undoStagings() {
	for _, st := range s.stagings {
		if st.renamed {
			continue
		}
		for i := len(st.dirs) - 1; i >= 0; i-- {
			os.Remove(st.dirs[i])
		}
	}
}

// undo removes every directory made: the stagings not renamed, and those
// made in place, deepest first. The files written must be removed first.
func (s *stager) undo() {
	s.undoStagings()
	for i := len(s.created) - 1; i >= 0; i-- {
		os.Remove(s.created[i])
	}
}

// stagedName is the name a's file is written under in a.wdir: its own in
// a staging, "" (a temporary name) otherwise.
func (a *action) stagedName() string {
	if a.staged == nil {
		return ""
	}
	return filepath.Base(a.path)
}

// renameNoReplace renames the directory oldpath to newpath, failing if
// newpath exists (another writer made it since it was found missing). On
// a filesystem without RENAME_NOREPLACE it is rename(2), which still
// refuses to replace a directory that is not empty.
func renameNoReplace(oldpath, newpath string) error {
	_, err := retryEINTR(func() (int, error) {
		return 0, unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	})
	if err == unix.EINVAL || err == unix.ENOSYS {
		_, err = retryEINTR(func() (int, error) { return 0, unix.Rename(oldpath, newpath) })
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}
