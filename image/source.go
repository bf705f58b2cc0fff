package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

// Source is where the root filesystem comes from. Populate writes the tree
// into an empty staging directory.
type Source interface {
	// Populate writes the tree into st.
	Populate(ctx context.Context, st *Staging) error
	// Describe names the source and its digest for the manifest.
	Describe() SourceInfo
}

// SourceInfo is the manifest record of a root source.
type SourceInfo struct {
	Kind   string `json:"kind"`             // "dir", "tar", "tree"
	Path   string `json:"path,omitempty"`   // file or directory
	SHA256 string `json:"sha256,omitempty"` // of a tar archive file
}

// Fixup is an owner, mode or device node that could not be created in the
// staging tree without root privilege; the FSWriter applies it inside the
// filesystem.
type Fixup struct {
	Path     string // relative to the root, slash separated
	UID, GID int
	Mode     uint32 // full st_mode bits when they must be set, else 0
	Dev      *DevNode
}

// DevNode is a character or block device.
type DevNode struct {
	Block        bool
	Major, Minor uint32
}

// Staging is a root tree being prepared on local disk, plus what it cannot
// hold without root privilege.
type Staging struct {
	// Dir is the root of the tree.
	Dir    string
	fixups map[string]Fixup
	root   bool
	// share lets a DirSource hard-link files instead of copying them; the
	// builder allows it only when no element hook (which might write into
	// a file in place) will run.
	share bool
}

func newStaging(dir string) *Staging {
	return &Staging{Dir: dir, fixups: map[string]Fixup{}, root: os.Geteuid() == 0}
}

// Fixups returns the pending fixups sorted by path.
func (s *Staging) Fixups() []Fixup {
	out := make([]Fixup, 0, len(s.fixups))
	for _, f := range s.fixups {
		if p, _ := s.Path(f.Path); p != "" {
			if _, err := os.Lstat(p); err != nil {
				continue // removed since (excluded state, replaced by an element)
			}
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Path returns the host path of a root-relative path, refusing one that
// leaves the root.
func (s *Staging) Path(rel string) (string, error) {
	c := path.Clean("/" + filepath.ToSlash(rel))
	if c == "/" {
		return s.Dir, nil
	}
	return filepath.Join(s.Dir, filepath.FromSlash(c[1:])), nil
}

// checkParents refuses a root-relative path whose existing parent
// directories include a symlink or a non-directory.
func (s *Staging) checkParents(rel string) error {
	dir := path.Dir(path.Clean("/" + rel))
	cur := s.Dir
	for _, c := range strings.Split(strings.Trim(dir, "/"), "/") {
		if c == "" {
			continue
		}
		cur = filepath.Join(cur, c)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // created below as real directories
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("parent %q is a symlink", strings.TrimPrefix(cur[len(s.Dir):], "/"))
		}
		if !fi.IsDir() {
			return fmt.Errorf("parent %q is not a directory", strings.TrimPrefix(cur[len(s.Dir):], "/"))
		}
	}
	return nil
}

// Entry is one file of an in-memory tree or of a tar archive.
type Entry struct {
	// Path is relative to the root, slash separated ("etc/hostname").
	Path string
	// Mode holds the type and permission bits (fs.ModeDir, fs.ModeSymlink,
	// fs.ModeDevice|fs.ModeCharDevice, fs.ModeNamedPipe, setuid...).
	Mode     fs.FileMode
	UID, GID int
	// Data is a regular file's content.
	Data []byte
	// Target is a symlink's target.
	Target string
	// HardLink, when set, makes this entry a hard link to that path.
	HardLink string
	// Major and Minor are a device node's numbers.
	Major, Minor uint32
	// ModTime is the modification time; zero means the build epoch.
	ModTime time.Time
	// Xattrs are extended attributes (e.g. "security.capability").
	Xattrs map[string]string
	// Size, when larger than Data, makes a sparse regular file of Size
	// bytes: Data at its start and a hole after it.
	Size int64
}

// Tree is an in-memory root tree; it is a Source.
type Tree struct {
	entries []Entry
}

// NewTree returns a tree holding the given entries.
func NewTree(entries ...Entry) *Tree { return &Tree{entries: entries} }

// Add appends entries to the tree. Parent directories are created with
// mode 0755 when missing.
func (t *Tree) Add(e ...Entry) { t.entries = append(t.entries, e...) }

// Describe implements Source.
func (t *Tree) Describe() SourceInfo { return SourceInfo{Kind: "tree"} }

// Populate implements Source.
func (t *Tree) Populate(ctx context.Context, st *Staging) error {
	var dirs []Entry
	for _, e := range t.entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := st.Create(e, bytes.NewReader(e.Data)); err != nil {
			return err
		}
		if e.Mode.IsDir() {
			dirs = append(dirs, e)
		}
	}
	return st.setDirTimes(dirs)
}

// Create writes one entry into the staging tree, replacing what is at
// its path. Owners, setuid bits and device nodes that cannot be set
// without root are recorded as fixups for the filesystem writer. A
// third-party Source uses it to add entries with their owners.
func (s *Staging) Create(e Entry, data io.Reader) error {
	rel := strings.TrimPrefix(path.Clean("/"+e.Path), "/")
	if rel == "" {
		rel = "."
	}
	p, _ := s.Path(rel)
	fail := func(err error) error { return fmt.Errorf("image: root entry %q: %w", e.Path, err) }
	if rel != "." {
		// Never write through a symlink: a tar or overlay could otherwise
		// place a file outside the staging tree.
		if err := s.checkParents(rel); err != nil {
			return fail(err)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fail(err)
		}
	}
	mode := e.Mode
	delete(s.fixups, rel) // a new entry replaces what was there
	var fix *Fixup
	switch {
	case e.HardLink != "":
		if err := s.checkParents(e.HardLink); err != nil {
			return fail(err)
		}
		tp, _ := s.Path(e.HardLink)
		_ = os.Remove(p)
		if err := os.Link(tp, p); err != nil {
			return fail(err)
		}
		return nil
	case mode.IsDir():
		if fi, err := os.Lstat(p); err == nil && !fi.IsDir() {
			_ = os.Remove(p) // a file or symlink in the way is replaced
		}
		if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fail(err)
		}
	case mode&fs.ModeSymlink != 0:
		_ = os.Remove(p)
		if err := os.Symlink(e.Target, p); err != nil {
			return fail(err)
		}
	case mode&fs.ModeDevice != 0 || mode&fs.ModeNamedPipe != 0 || mode&fs.ModeSocket != 0:
		_ = os.Remove(p)
		st := unixMode(mode)
		dev := unix.Mkdev(e.Major, e.Minor)
		var err error = syscall.EPERM
		if s.root || mode&fs.ModeDevice == 0 {
			err = unix.Mknod(p, st, int(dev))
		}
		if err != nil {
			if !errors.Is(err, syscall.EPERM) || mode&fs.ModeDevice == 0 {
				return fail(err)
			}
			// Not root: a placeholder file, the writer makes the node.
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				return fail(err)
			}
			fix = &Fixup{Path: rel, UID: e.UID, GID: e.GID, Mode: st,
				Dev: &DevNode{Block: mode&fs.ModeCharDevice == 0, Major: e.Major, Minor: e.Minor}}
		}
	default:
		_ = os.Remove(p)
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return fail(err)
		}
		if data != nil {
			if _, err := io.Copy(f, data); err != nil {
				f.Close()
				return fail(err)
			}
		}
		if e.Size > 0 {
			if err := f.Truncate(e.Size); err != nil {
				f.Close()
				return fail(err)
			}
		}
		if err := f.Close(); err != nil {
			return fail(err)
		}
	}
	if err := s.setMeta(rel, p, e, fix); err != nil {
		return fail(err)
	}
	return nil
}

func unixMode(m fs.FileMode) uint32 {
	st := uint32(m.Perm())
	switch {
	case m.IsDir():
		st |= unix.S_IFDIR
	case m&fs.ModeSymlink != 0:
		st |= unix.S_IFLNK
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice != 0:
		st |= unix.S_IFCHR
	case m&fs.ModeDevice != 0:
		st |= unix.S_IFBLK
	case m&fs.ModeNamedPipe != 0:
		st |= unix.S_IFIFO
	case m&fs.ModeSocket != 0:
		st |= unix.S_IFSOCK
	default:
		st |= unix.S_IFREG
	}
	if m&fs.ModeSetuid != 0 {
		st |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		st |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		st |= unix.S_ISVTX
	}
	return st
}

// setMeta applies owner, mode, xattrs and mtime, recording a fixup when the
// owner cannot be set without root.
func (s *Staging) setMeta(rel, p string, e Entry, fix *Fixup) error {
	st := unixMode(e.Mode)
	if fix == nil {
		var err error = syscall.EPERM
		if s.root {
			err = os.Lchown(p, e.UID, e.GID)
		}
		if err != nil {
			if !errors.Is(err, syscall.EPERM) {
				return err
			}
			if e.UID != os.Geteuid() || e.GID != os.Getegid() {
				fix = &Fixup{Path: rel, UID: e.UID, GID: e.GID}
				if e.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
					fix.Mode = st
				}
			}
		}
	}
	if e.Mode&fs.ModeSymlink == 0 {
		if err := unix.Chmod(p, st&0o7777); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(e.Xattrs) {
		if err := unix.Lsetxattr(p, k, []byte(e.Xattrs[k]), 0); err != nil {
			return fmt.Errorf("xattr %s: %w", k, err)
		}
	}
	if !e.ModTime.IsZero() {
		ts := []unix.Timespec{unix.NsecToTimespec(e.ModTime.UnixNano()), unix.NsecToTimespec(e.ModTime.UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	if fix != nil {
		s.fixups[rel] = *fix
	}
	return nil
}

// setDirTimes sets directory mtimes after their content is written.
func (s *Staging) setDirTimes(dirs []Entry) error {
	for i := len(dirs) - 1; i >= 0; i-- {
		e := dirs[i]
		if e.ModTime.IsZero() {
			continue
		}
		p, _ := s.Path(e.Path)
		if err := os.Chtimes(p, e.ModTime, e.ModTime); err != nil {
			return fmt.Errorf("image: root entry %q: %w", e.Path, err)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// DirSource is a root tree in a directory, e.g. debootstrap output. It is
// copied into the staging tree (the directory itself is never changed).
type DirSource struct {
	Path string
}

// Describe implements Source.
func (d DirSource) Describe() SourceInfo { return SourceInfo{Kind: "dir", Path: d.Path} }

// Populate implements Source.
func (d DirSource) Populate(ctx context.Context, st *Staging) error {
	fi, err := os.Stat(d.Path)
	if err != nil {
		return fmt.Errorf("image: root source: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("image: root source %s: not a directory", d.Path)
	}
	return copyTree(ctx, d.Path, st, st.share)
}

// copyTree copies src into dst preserving owners, modes, times, hard
// links, symlinks, device nodes and xattrs; it uses copy_file_range (fast
// and extent-sharing where the filesystem allows) and keeps holes. With
// share, regular files are hard-linked instead (same filesystem only,
// else copied): the build then never writes into them (it replaces files
// it changes, and every writer clamps times itself). Directories are
// processed by two workers; the result does not depend on their order
// (every writer sorts directory entries).
func copyTree(ctx context.Context, src string, st *Staging, share bool) error {
	dst := st.Dir
	type ino struct{ dev, ino uint64 }
	var (
		mu       sync.Mutex
		links    = map[ino]string{}
		dirs     []string
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, 1) // one extra worker
		noShare  atomic.Bool
	)
	noShare.Store(!share)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	entry := func(rel string, sst *unix.Stat_t) error {
		p, out := filepath.Join(src, rel), filepath.Join(dst, rel)
		switch sst.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if err := os.Mkdir(out, 0o700); err != nil {
				return err
			}
		case unix.S_IFLNK:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(t, out); err != nil {
				return err
			}
		case unix.S_IFREG:
			if !noShare.Load() {
				err := os.Link(p, out)
				if err == nil {
					return nil
				}
				if errors.Is(err, syscall.EXDEV) {
					noShare.Store(true) // another filesystem: copy from now on
				}
				// else (e.g. protected_hardlinks without root): copy this one
			}
			if sst.Nlink > 1 {
				k := ino{sst.Dev, sst.Ino}
				mu.Lock()
				first, ok := links[k]
				if !ok {
					links[k] = out
				}
				mu.Unlock()
				if ok {
					return os.Link(first, out)
				}
			}
			if err := copyFile(p, out, sst.Size, sst.Blocks); err != nil {
				return err
			}
		default:
			var err error = syscall.EPERM
			if st.root || sst.Mode&unix.S_IFMT == unix.S_IFIFO || sst.Mode&unix.S_IFMT == unix.S_IFSOCK {
				err = unix.Mknod(out, sst.Mode, int(sst.Rdev))
			}
			if err != nil {
				if !errors.Is(err, syscall.EPERM) {
					return err
				}
				// Not root: a placeholder, the writer makes the node.
				if err := os.WriteFile(out, nil, 0o644); err != nil {
					return err
				}
				mu.Lock()
				st.fixups[filepath.ToSlash(rel)] = Fixup{Path: filepath.ToSlash(rel), UID: int(sst.Uid), GID: int(sst.Gid), Mode: sst.Mode,
					Dev: &DevNode{Block: sst.Mode&unix.S_IFMT == unix.S_IFBLK, Major: unix.Major(sst.Rdev), Minor: unix.Minor(sst.Rdev)}}
				mu.Unlock()
				return nil
			}
		}
		if fix := copyMeta(p, out, sst); fix != nil {
			if fix.err != nil {
				return fix.err
			}
			mu.Lock()
			st.fixups[filepath.ToSlash(rel)] = Fixup{Path: filepath.ToSlash(rel), UID: int(sst.Uid), GID: int(sst.Gid), Mode: fix.mode}
			mu.Unlock()
		}
		return nil
	}
	var visit func(rel string)
	visit = func(rel string) {
		if failed() {
			return
		}
		if err := ctx.Err(); err != nil {
			fail(err)
			return
		}
		ents, err := os.ReadDir(filepath.Join(src, rel))
		if err != nil {
			fail(err)
			return
		}
		for _, de := range ents {
			crel := filepath.Join(rel, de.Name())
			var sst unix.Stat_t
			if err := unix.Lstat(filepath.Join(src, crel), &sst); err != nil {
				fail(err)
				return
			}
			if err := entry(crel, &sst); err != nil {
				fail(err)
				return
			}
			if sst.Mode&unix.S_IFMT != unix.S_IFDIR {
				continue
			}
			mu.Lock()
			dirs = append(dirs, crel)
			mu.Unlock()
			select {
			case sem <- struct{}{}:
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					visit(crel)
				}()
			default:
				visit(crel)
			}
		}
	}
	var rst unix.Stat_t
	if err := unix.Lstat(src, &rst); err != nil {
		return fmt.Errorf("image: copy root %s: %w", src, err)
	}
	visit(".")
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("image: copy root %s: %w", src, firstErr)
	}
	if fix := copyMeta(src, dst, &rst); fix != nil && fix.err != nil {
		return fmt.Errorf("image: copy root %s: %w", src, fix.err)
	}
	// Directory times last: writing children changed them.
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range append(dirs, ".") {
		var sst unix.Stat_t
		if err := unix.Lstat(filepath.Join(src, d), &sst); err != nil {
			return err
		}
		ts := []unix.Timespec{sst.Atim, sst.Mtim}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(dst, d), ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, size int64, blocks int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if blocks*512 < size {
		// Sparse: copy the data extents only.
		_, err = copySparse(context.Background(), out, 0, in, size, nil)
	} else {
		// Dense: the kernel copies (copy_file_range, reflinks where the
		// filesystem can).
		_, err = out.ReadFrom(in)
	}
	if err != nil {
		out.Close()
		return err
	}
	if err := out.Truncate(size); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// metaResult reports a copyMeta failure, or an owner it could not set
// (no root): the caller records a fixup.
type metaResult struct {
	err  error
	mode uint32 // st_mode to restore with the owner (setuid/setgid), or 0
}

func copyMeta(src, dst string, sst *unix.Stat_t) *metaResult {
	var res *metaResult
	if err := unix.Lchown(dst, int(sst.Uid), int(sst.Gid)); err != nil {
		if !errors.Is(err, syscall.EPERM) {
			return &metaResult{err: err}
		}
		if int(sst.Uid) != os.Geteuid() || int(sst.Gid) != os.Getegid() {
			res = &metaResult{}
			if sst.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
				res.mode = sst.Mode
			}
		}
	}
	if sst.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Chmod(dst, sst.Mode&0o7777); err != nil {
			return &metaResult{err: err}
		}
	}
	if err := copyXattrs(src, dst); err != nil {
		return &metaResult{err: err}
	}
	ts := []unix.Timespec{sst.Atim, sst.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &metaResult{err: err}
	}
	return res
}

func copyXattrs(src, dst string) error {
	sz, err := unix.Llistxattr(src, nil)
	if err != nil || sz == 0 {
		return nil // no xattrs, or the filesystem has none
	}
	buf := make([]byte, sz)
	sz, err = unix.Llistxattr(src, buf)
	if err != nil {
		return nil
	}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:sz]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		vs, err := unix.Lgetxattr(src, name, nil)
		if err != nil {
			continue
		}
		v := make([]byte, vs)
		vs, err = unix.Lgetxattr(src, name, v)
		if err != nil {
			continue
		}
		if err := unix.Lsetxattr(dst, name, v[:vs], 0); err != nil && !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.ENOTSUP) {
			return fmt.Errorf("xattr %s on %s: %w", name, dst, err)
		}
	}
	return nil
}

// TarSource is a root tree in a tar archive (plain, gzip or zstd,
// detected from the content), e.g. mmdebstrap output. Owners come from
// the headers, so no root privilege is needed to build from it.
type TarSource struct {
	Path string
}

// Describe implements Source.
func (t TarSource) Describe() SourceInfo {
	info := SourceInfo{Kind: "tar", Path: t.Path}
	if d, err := fileSHA256(t.Path); err == nil {
		info.SHA256 = d
	}
	return info
}

// Populate implements Source.
func (t TarSource) Populate(ctx context.Context, st *Staging) error {
	f, err := os.Open(t.Path)
	if err != nil {
		return fmt.Errorf("image: root source: %w", err)
	}
	defer f.Close()
	if err := populateTar(ctx, f, st); err != nil {
		return fmt.Errorf("image: root source %s: %w", t.Path, err)
	}
	return nil
}

// decompress detects gzip and zstd by their magic numbers.
func decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(4)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return z, func() { z.Close() }, nil
	case len(magic) == 4 && bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		z, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, err
		}
		return z, z.Close, nil
	}
	return br, func() {}, nil
}

func populateTar(ctx context.Context, r io.Reader, st *Staging) error {
	var dirs []Entry
	err := readTar(ctx, r, func(e Entry, data io.Reader) error {
		if err := st.Create(e, data); err != nil {
			return err
		}
		if e.Mode.IsDir() {
			dirs = append(dirs, e)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return st.setDirTimes(dirs)
}

// readTar decodes a (possibly compressed) tar stream into entries with
// clean root-relative paths, calling fn for each in order; data is the
// entry's content (nil for links).
func readTar(ctx context.Context, r io.Reader, fn func(Entry, io.Reader) error) error {
	dr, closeFn, err := decompress(r)
	if err != nil {
		return err
	}
	defer closeFn()
	tr := tar.NewReader(dr)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Name == ".." || strings.HasPrefix(h.Name, "../") || strings.Contains(h.Name, "/../") || strings.HasSuffix(h.Name, "/..") {
			return fmt.Errorf("entry %q leaves the root", h.Name)
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if name == "" {
			name = "."
		}
		e := Entry{Path: name, Mode: h.FileInfo().Mode(), UID: h.Uid, GID: h.Gid,
			ModTime: h.ModTime, Major: uint32(h.Devmajor), Minor: uint32(h.Devminor)}
		for k, v := range h.PAXRecords {
			if x, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
				if e.Xattrs == nil {
					e.Xattrs = map[string]string{}
				}
				e.Xattrs[x] = v
			}
		}
		var data io.Reader
		switch h.Typeflag {
		case tar.TypeLink:
			e.HardLink = strings.TrimPrefix(path.Clean("/"+h.Linkname), "/")
			if e.HardLink == "" || e.HardLink == name {
				return fmt.Errorf("entry %q: bad hard link to %q", h.Name, h.Linkname)
			}
		case tar.TypeSymlink:
			e.Target = h.Linkname
		case tar.TypeReg, tar.TypeChar, tar.TypeBlock, tar.TypeFifo, tar.TypeDir:
			data = tr
		case tar.TypeXGlobalHeader:
			continue
		default:
			return fmt.Errorf("entry %q: unsupported tar type %q", h.Name, h.Typeflag)
		}
		if err := fn(e, data); err != nil {
			return err
		}
	}
}
