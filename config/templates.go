package config

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
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

// findTemplates is FindTemplates, with what the listing said of each. The
// directories of each depth are listed in parallel; an unreadable one is
// reported as a walk in order would meet it first.
func findTemplates(root string) ([]listedTemplate, error) {
	type job struct {
		rel     string
		tpls    []listedTemplate
		subdirs []string
		err     error
	}
	var done [][]listedTemplate // per directory listed
	var errs []job
	level := []string{""}
	var bufs sync.Pool
	for len(level) > 0 {
		jobs := make([]job, len(level))
		parallel(len(jobs), 1, func(i int) {
			buf, _ := bufs.Get().(*[]byte)
			if buf == nil {
				b := make([]byte, 16<<10)
				buf = &b
			}
			j := &jobs[i]
			j.rel = level[i]
			j.tpls, j.subdirs, j.err = listTemplates(root, j.rel, *buf)
			bufs.Put(buf)
		})
		level = nil
		for _, j := range jobs {
			if j.err != nil {
				if j.rel == "" && errors.Is(j.err, errRootMissing) {
					return nil, nil
				}
				errs = append(errs, j)
				continue
			}
			done = append(done, j.tpls)
			level = append(level, j.subdirs...)
		}
	}
	if len(errs) > 0 {
		first := slices.MinFunc(errs, func(a, b job) int { return compareWalkOrder(a.rel, b.rel) })
		return nil, first.err
	}
	out := slices.Concat(done...)
	slices.SortFunc(out, func(a, b listedTemplate) int { return strings.Compare(a.Rel, b.Rel) })
	return out, nil
}

// compareWalkOrder orders two directories (slash-separated, relative to
// the root) as a depth-first walk of sorted listings meets them: component
// by component, a directory before what it holds.
func compareWalkOrder(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return -1
	case b == "":
		return 1
	}
	for {
		ac, arest, amore := strings.Cut(a, "/")
		bc, brest, bmore := strings.Cut(b, "/")
		if c := strings.Compare(ac, bc); c != 0 {
			return c
		}
		switch {
		case !amore && !bmore:
			return 0
		case !amore:
			return -1 // a holds b
		case !bmore:
			return 1
		}
		a, b = arest, brest
	}
}

var errRootMissing = errors.New("templates root missing")

// listTemplates lists the directory rel of root: its templates and its
// subdirectories (relative to root); buf is getdents(2) scratch.
func listTemplates(root, rel string, buf []byte) (tpls []listedTemplate, subdirs []string, err error) {
	dir := root
	if rel != "" {
		dir = pyJoin(root, filepath.FromSlash(rel))
	}
	prefix := pyJoin(dir, "")
	entries, err := readDir(dir, prefix, buf)
	if err != nil {
		if rel == "" && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) {
			return nil, nil, errRootMissing
		}
		return nil, nil, fmt.Errorf("read templates directory: %w", err)
	}
	tpls = make([]listedTemplate, 0, len(entries))
	for _, e := range entries {
		// e.path is pyJoin(dir, name), which ends with rel/name.
		name, p := e.name(), e.path
		r := p[len(prefix)-len(rel)-min(len(rel), 1):]
		isDir := e.typ == fs.ModeDir
		if e.typ == fs.ModeSymlink {
			// os.walk lists a symlink to a directory among the directories
			// (and does not descend into it), anything else among the files.
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				continue
			}
		}
		if isDir {
			subdirs = append(subdirs, r)
			continue
		}
		if strings.HasSuffix(name, ControlSuffix) {
			continue
		}
		t := listedTemplate{Template{Path: p, Rel: r}, e.typ == 0}
		// The control file must be a regular file, symlinks followed (the
		// listing spares a stat for the templates that have none).
		if i, ok := slices.BinarySearchFunc(entries, name, func(e dirent, n string) int { return compareConcat(e.name(), n, ControlSuffix) }); ok {
			switch ce := entries[i]; ce.typ {
			case 0:
				t.Control = p + ControlSuffix
			case fs.ModeSymlink:
				if fi, err := os.Stat(p + ControlSuffix); err == nil && fi.Mode().IsRegular() {
					t.Control = p + ControlSuffix
				}
			}
		}
		tpls = append(tpls, t)
	}
	return tpls, subdirs, nil
}

// dirent is a directory entry: its path (the listing's prefix and its
// name), the length of its name and its type (the fs.ModeType bits; 0 for
// a regular file).
type dirent struct {
	path    string
	nameLen int
	typ     fs.FileMode
}

func (e *dirent) name() string { return e.path[len(e.path)-e.nameLen:] }

// compareConcat is strings.Compare(s, a+b), without making a+b.
func compareConcat(s, a, b string) int {
	if len(s) < len(a) {
		return strings.Compare(s, a[:len(s)])*2 - 1 // s < a if s is a's prefix
	}
	if c := strings.Compare(s[:len(a)], a); c != 0 {
		return c
	}
	return strings.Compare(s[len(a):], b)
}

// readDir lists dir sorted by name, without "." and "..", with the types
// getdents(2) gives (an lstat for an entry of unknown type). It is
// os.ReadDir without an fs.DirEntry and its allocations per entry, and
// without the poller set-up of os.Open: a third of the cost of listing a
// thousand templates.
// Each entry's path is prefix followed by its name.
func readDir(dir, prefix string, buf []byte) ([]dirent, error) {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	var out []dirent
	for {
		n, err := retryEINTR(func() (int, error) { return unix.Getdents(fd, buf) })
		if out == nil && n > 0 {
			// A record takes 24 bytes and the name, padded to 8: most
			// names are short.
			out = make([]dirent, 0, n/32+1)
		}
		if err != nil {
			return nil, &fs.PathError{Op: "readdirent", Path: dir, Err: err}
		}
		if n <= 0 {
			break
		}
		out, err = parseDirents(buf[:n], prefix, out, func(name string) (fs.FileMode, error) {
			var st unix.Stat_t
			_, err := retryEINTR(func() (int, error) { return 0, unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
			return (&statInfo{st: st}).Mode().Type(), err
		})
		if err == errBadDirent {
			return nil, &fs.PathError{Op: "readdirent", Path: dir, Err: syscall.EIO}
		}
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b dirent) int { return strings.Compare(a.name(), b.name()) })
	return out, nil
}

// parseDirents appends to out the entries of b, a getdents(2) result
// (linux_dirent64 records), but "." and "..". lstat gives the type of an
// entry whose type the filesystem did not give (an entry it finds removed
// since is left out).
func parseDirents(b []byte, prefix string, out []dirent, lstat func(name string) (fs.FileMode, error)) ([]dirent, error) {
	for len(b) > 0 {
		if len(b) < direntNameOff {
			return out, errBadDirent
		}
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < direntNameOff || reclen > len(b) {
			return out, errBadDirent
		}
		dtype, nameb := b[18], b[direntNameOff:reclen]
		b = b[reclen:]
		if i := bytes.IndexByte(nameb, 0); i >= 0 {
			nameb = nameb[:i]
		}
		if len(nameb) == 0 || nameb[0] == '.' && (len(nameb) == 1 || len(nameb) == 2 && nameb[1] == '.') {
			continue
		}
		e := dirent{path: prefix + string(nameb), nameLen: len(nameb)}
		switch dtype {
		case unix.DT_REG:
		case unix.DT_DIR:
			e.typ = fs.ModeDir
		case unix.DT_LNK:
			e.typ = fs.ModeSymlink
		case unix.DT_UNKNOWN:
			typ, err := lstat(e.name())
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since listed
			}
			if err != nil {
				return out, &fs.PathError{Op: "lstat", Path: e.path, Err: err}
			}
			e.typ = typ
		default:
			e.typ = fs.ModeIrregular // a FIFO, socket or device: a template, never read
		}
		out = append(out, e)
	}
	return out, nil
}

// errBadDirent is a getdents(2) result that is not linux_dirent64 records.
var errBadDirent = errors.New("malformed directory entry")

// direntNameOff is where the name starts in a linux_dirent64 (after d_ino,
// d_off, d_reclen and d_type).
const direntNameOff = 19

// pyJoin is Python's os.path.join(a, b) for a relative b: it adds a slash
// only when a does not end in one, and cleans nothing, so that paths read
// exactly as the original prints them.
func pyJoin(a, b string) string {
	if a == "" || strings.HasSuffix(a, "/") {
		return a + b
	}
	return a + "/" + b
}
