package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/tripleo-go/tripleo/internal/atomicfile"
)

// ApplyOptions configures Apply. A nil *ApplyOptions means all defaults.
type ApplyOptions struct {
	// TemplatesDir is the root of the templates tree. "" (or a directory
	// that does not exist) renders nothing and is not an error, as in the
	// original.
	TemplatesDir string
	// OutputDir is the root the output paths are joined under; "" means "/".
	// Nothing is ever written outside it.
	OutputDir string
	// Renderer renders the templates that are not executable; nil means
	// Mustache{} (os-apply-config's dialect, without partials).
	Renderer Renderer
	// Validate renders every template (executable ones too, as the
	// original) and parses every .oac file, then stops: nothing is written
	// and the Result is empty.
	Validate bool
	// ExecTimeout bounds the run of each executable template; 0 means
	// DefaultExecTimeout (one minute).
	ExecTimeout time.Duration
	// Env is the environment of executable templates; nil means this
	// process's environment.
	Env []string
	// NoSync skips the fsync of each file and directory written, for
	// scratch output trees (tests, benchmarks, images being built) where
	// durability after a power loss does not matter. The zero value syncs.
	// Writes stay atomic either way (temporary file and rename).
	NoSync bool
	// SyncEachFile makes the writes durable with an fsync of each file
	// before its rename and of each directory after, instead of the
	// default: one syncfs(2) of each filesystem written to before the
	// renames and one after. Both give the same guarantee (a crash leaves
	// every target either old or new and complete, and a returned Apply
	// is durable); syncfs costs one journal commit where per-file fsyncs
	// cost one each (about 10 ms instead of 150-400 ms for 1,000 files on
	// ext4 here), but it also waits for other processes' unwritten data on
	// the same filesystem: set SyncEachFile where a busy writer shares it.
	SyncEachFile bool
	// Logger receives the original's messages at Info level: "writing
	// <path>", "deleting <path>", "not creating empty <path>" (and
	// "unchanged <path>" at Debug level). Nil discards them.
	Logger *slog.Logger
}

// ChangeKind says what Apply did to a file.
type ChangeKind int

// The kinds of change.
const (
	Created ChangeKind = iota + 1 // the file did not exist
	Updated                       // the file existed and was replaced
	Deleted                       // the file was deleted (empty body with allow_empty: false)
)

// String returns "created", "updated" or "deleted".
func (k ChangeKind) String() string {
	switch k {
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Deleted:
		return "deleted"
	}
	return fmt.Sprintf("ChangeKind(%d)", int(k))
}

// Change is one file that Apply created, replaced or deleted.
type Change struct {
	Path string // absolute path of the output file
	Kind ChangeKind
}

// Result is what Apply did.
type Result struct {
	// Changes lists the files created, replaced or deleted, sorted by path.
	Changes []Change
	// Unchanged lists the absolute paths of the files whose content, mode
	// and owner were already right and that were left alone, sorted.
	Unchanged []string
}

// ErrUnsafePath is wrapped by the error Apply returns when an output path
// would leave the output root: through "..", an absolute path, or a symlink
// in the output tree (a parent directory or the target itself) that
// resolves outside the root.
var ErrUnsafePath = errors.New("output path escapes the output root")

// DataPreparer is an optional interface of a Renderer. Apply calls
// PrepareData once with its data and passes the result instead of the data
// to every Render of that call, so that a renderer can convert the data
// once rather than once per template.
type DataPreparer interface {
	PrepareData(data any) (any, error)
}

// Apply renders the templates tree into the output tree, as
// os-apply-config does (see the package documentation for the rules and for
// where it deliberately differs). data is the merged, sub-hashed metadata,
// normally a *Object: the mustache context of rendered templates, and what
// executable templates read as JSON on stdin.
//
// Every template is rendered and every .oac parsed, then every output path
// is checked, before anything is written: an error in any of them leaves
// the output tree untouched. Files are written atomically (temporary file
// in the same directory, made durable, renamed, the rename made durable:
// see ApplyOptions.SyncEachFile; a new directory is built whole under a
// temporary name and renamed into place). Only a rename or
// deletion failing at the very end (which the checks make unlikely) leaves
// part of the changes done (the files of other directories, and those
// before it in its own): Apply then returns the Result of those with the
// error.
//
// Template errors are *TemplateError or *ExecError (both match
// ErrTemplate), .oac errors *ControlError, escapes wrap ErrUnsafePath.
func Apply(ctx context.Context, data any, opts *ApplyOptions) (*Result, error) {
	var o ApplyOptions
	if opts != nil {
		o = *opts
	}
	if o.Renderer == nil {
		o.Renderer = Mustache{}
	}
	if o.OutputDir == "" {
		o.OutputDir = "/"
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tpls, err := findTemplates(o.TemplatesDir)
	if err != nil {
		return nil, err
	}
	files, err := renderAll(ctx, tpls, data, &o)
	if err != nil {
		return nil, err
	}
	if o.Validate {
		return &Result{}, nil
	}
	acts, root, err := plan(files, o.OutputDir)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return commit(ctx, acts, root, syncModeOf(&o), log)
}

// testHookBeforeRenames, when set by a test, runs in commit between the
// writes and the renames.
var testHookBeforeRenames func()

// syncMode is how commit makes its writes durable.
type syncMode int

const (
	syncFilesystems syncMode = iota // syncfs before the renames and after
	syncEachFile                    // fsync each file, then each directory
	syncNone
)

func syncModeOf(o *ApplyOptions) syncMode {
	switch {
	case o.NoSync:
		return syncNone
	case o.SyncEachFile:
		return syncEachFile
	}
	return syncFilesystems
}

// rendered is one template's output.
type rendered struct {
	tpl  Template
	body []byte
	ctl  Control
}

// renderAll renders every template and parses every control file. The
// templates that are not executable are rendered in parallel; executable
// ones run one at a time, in order, as in the original. The error reported
// is that of the first failing template in order.
func renderAll(ctx context.Context, tpls []listedTemplate, data any, o *ApplyOptions) ([]rendered, error) {
	rdata := data
	if p, ok := o.Renderer.(DataPreparer); ok && len(tpls) > 0 {
		var err error
		if rdata, err = p.PrepareData(data); err != nil {
			return nil, err
		}
	}
	out := make([]rendered, len(tpls))
	errs := make([]error, len(tpls))
	exe := make([]bool, len(tpls))
	// Workers stat the templates and render those that are not
	// executable; executables run one at a time, in order, below.
	// Each run keeps its current template directory open: stat, access
	// and open then walk one path component, not the whole path.
	parallelRuns(len(tpls), 16, func(lo, hi int) {
		var d dirAt
		var st statInfo // the template's, while it is rendered
		var buf []byte  // its source, for an ownedRenderer
		defer d.close()
		for i := lo; i < hi; i++ {
			r := &out[i]
			r.tpl = tpls[i].Template
			dfd, name := d.open(r.tpl.Path)
			fd := -1
			var fi fs.FileInfo
			var statErr error
			if tpls[i].regular {
				// A regular file when listed: open it, then fstat it,
				// which is cheaper than a stat by name (and no device
				// or FIFO is opened unless swapped in since).
				if fd = openTemplate(dfd, name, r.tpl.Path, &st); fd >= 0 {
					fi = &st
				}
			}
			if fd < 0 {
				fi, statErr = statAt(dfd, name, r.tpl.Path)
			}
			if exe[i] = statErr == nil && isExecutableAt(dfd, name, fi); exe[i] {
				if fd >= 0 {
					syscall.Close(fd)
				}
				continue
			}
			if errs[i] = ctx.Err(); errs[i] == nil {
				errs[i] = renderOne(r, dfd, name, fd, fi, statErr, o.Renderer, rdata, &buf)
			} else if fd >= 0 {
				syscall.Close(fd)
			}
		}
	})
	var stdin []byte // the JSON of data, made on first use
	for i, t := range tpls {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if errs[i] != nil {
			return nil, errs[i]
		}
		if !exe[i] {
			continue
		}
		if stdin == nil {
			stdin = AppendJSON(nil, data)
		}
		b, err := RunExecutable(ctx, t.Path, stdin, o.Env, o.ExecTimeout)
		if err != nil {
			return nil, err
		}
		out[i].body = b
		if err := readControl(&out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ownedRenderer is a Renderer that need not copy a template's source:
// src is valid UTF-8 (readTemplate checked it), and the renderer reads it
// only during the call, after which the buffer is reused for the next
// template.
type ownedRenderer interface {
	renderOwned(name string, src []byte, data any) ([]byte, error)
}

// renderOne renders a template that is not executable and reads its
// control file.
// dfd and name are the template's path relative to an open directory
// (dirAt.open); fd is the template open (openTemplate, closed here) or -1;
// fi and statErr are the result of its stat. An ownedRenderer gets the
// source in *buf, reused from one template to the next.
func renderOne(r *rendered, dfd int, name string, fd int, fi fs.FileInfo, statErr error, rd Renderer, data any, buf *[]byte) error {
	or, owned := rd.(ownedRenderer)
	var scratch []byte
	if owned {
		scratch = (*buf)[:0]
	}
	src, err := readTemplate(dfd, name, fd, r.tpl.Path, fi, statErr, scratch)
	if err != nil {
		return err
	}
	if owned {
		if cap(src) > cap(*buf) {
			*buf = src[:0]
		}
		r.body, err = or.renderOwned(r.tpl.Path, src, data)
	} else {
		r.body, err = rd.Render(r.tpl.Path, src, data)
	}
	if err != nil {
		if te := (*TemplateError)(nil); errors.As(err, &te) {
			return err
		}
		return &TemplateError{File: r.tpl.Path, Err: err}
	}
	return readControl(r)
}

func readControl(r *rendered) error {
	if r.tpl.Control == "" {
		return nil
	}
	b, err := os.ReadFile(r.tpl.Control)
	if err != nil {
		return &ControlError{Template: r.tpl.Path, File: r.tpl.Control, Err: err}
	}
	c, err := ParseControl(r.tpl.Path, b)
	if err != nil {
		return err
	}
	r.ctl = *c
	return nil
}

// readTemplate reads a template as the original's text mode does: it must
// be UTF-8, and CRLF and lone CR become LF.
// fi and statErr are the result of stat(path); dfd and name are path
// relative to an open directory (dirAt.open); fd is path open
// (openTemplate; closed here) or -1.
func readTemplate(dfd int, name string, fd int, path string, fi fs.FileInfo, statErr error, buf []byte) ([]byte, error) {
	if fd >= 0 {
		defer syscall.Close(fd)
	}
	if statErr != nil {
		return nil, &TemplateError{File: path, Err: statErr}
	}
	if !fi.Mode().IsRegular() {
		// A FIFO or device would block or never end.
		return nil, &TemplateError{File: path, Err: fmt.Errorf("not a regular file (%v)", fi.Mode().Type())}
	}
	var src []byte
	var err error
	if fd >= 0 {
		src, err = readOpen(fd, path, fi.Size(), buf)
	} else {
		src, err = readFileAt(dfd, name, path, fi.Size(), buf)
	}
	if err != nil {
		return nil, &TemplateError{File: path, Err: err}
	}
	if !utf8.Valid(src) {
		i := firstInvalidUTF8(src)
		return nil, &TemplateError{File: path, Line: lineOf(src, i), Err: fmt.Errorf("not valid UTF-8 (byte offset %d)", i)}
	}
	return normalizeNewlines(src), nil
}

// normalizeNewlines turns CRLF and lone CR into LF (Python's universal
// newlines).
func normalizeNewlines(b []byte) []byte {
	if bytes.IndexByte(b, '\r') < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\r' {
			out = append(out, '\n')
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			continue
		}
		out = append(out, b[i])
	}
	return out
}

type actKind int

const (
	actWrite actKind = iota
	actDelete
	actSkipEmpty
	actUnchanged
)

// action is what commit does for one file.
type action struct {
	kind   actKind
	path   string // absolute output path
	dir    string // filepath.Dir(path)
	outDir string // the output directory as given, and
	rel    string // the slash-separated path under it: see display
	body   []byte
	mode   fs.FileMode // with the special bits, for actWrite
	uid    int         // -1: leave as created
	gid    int
	exists bool
	tmp    string // the temporary file, once written
	wdir   string // where the file is written: dir, or its twin in a staging directory
	staged *staging
}

// plan checks every output path and decides what to do with each file,
// reading the output tree but changing nothing. The parent directories
// are resolved once each; the files are then looked at in parallel (a
// stat each, and a read of those that may be unchanged), except in a
// parent that does not exist, where no file can.
// It also returns the output directory as an absolute path.
func plan(files []rendered, outDir string) ([]*action, string, error) {
	absRoot, err := filepath.Abs(outDir)
	if err != nil {
		return nil, "", fmt.Errorf("output directory: %w", err)
	}
	realRoot, err := resolvePath(absRoot)
	if err != nil {
		return nil, "", fmt.Errorf("output directory %s: %w", outDir, err)
	}
	acts := make([]*action, len(files))
	all := make([]action, len(files)) // one allocation for all
	dirs := dirCache{root: absRoot, m: map[string]parentDir{}}
	for i, f := range files {
		rel := filepath.FromSlash(f.tpl.Rel)
		if !filepath.IsLocal(rel) {
			return nil, "", fmt.Errorf("%w: template %s: %q is not a local path", ErrUnsafePath, f.tpl.Path, f.tpl.Rel)
		}
		a := &all[i]
		*a = action{
			path:   joinClean(absRoot, rel),
			outDir: outDir,
			rel:    f.tpl.Rel,
			body:   f.body,
			uid:    -1,
			gid:    -1,
		}
		acts[i] = a
		dir := a.path[:max(strings.LastIndexByte(a.path, '/'), 1)]
		a.dir = dir
		a.wdir = dir
		if _, err := dirs.resolve(dir); err != nil {
			return nil, "", fmt.Errorf("output %s: %w", a.display(), err)
		}
	}
	// dirs is only read from here on.
	errs := make([]error, len(files))
	parallel(len(files), 8, func(i int) {
		errs[i] = planOne(acts[i], &files[i], realRoot, dirs.m[acts[i].dir])
	})
	for _, err := range errs {
		if err != nil {
			return nil, "", err
		}
	}
	return acts, absRoot, nil
}

// display is the output path as the original logs it: the output
// directory as given joined with the template's path.
func (a *action) display() string { return pyJoin(a.outDir, a.rel) }

// parentDir is an output file's parent directory: where it resolves to,
// and whether it exists.
type parentDir struct {
	real   string
	exists bool
}

// dirCache resolves the output directories, each as resolveDir does, but
// from its parent's resolution when that is plain: under a parent that
// does not exist a directory does not either (no system call), and in one
// that exists and is no symlink an lstat of the directory itself says it
// all (where resolveDir walks every component of the path). Anything else
// (a symlink, an error) takes resolveDir's whole walk.
type dirCache struct {
	root string // the output directory, absolute; resolved by the walk
	m    map[string]parentDir
}

func (c *dirCache) resolve(dir string) (parentDir, error) {
	if d, ok := c.m[dir]; ok {
		return d, nil
	}
	d, err := c.resolveFromParent(dir)
	if err != nil {
		return d, err
	}
	c.m[dir] = d
	return d, nil
}

func (c *dirCache) resolveFromParent(dir string) (parentDir, error) {
	walk := func() (parentDir, error) {
		real, exists, err := resolveDir(dir)
		return parentDir{real, exists}, err
	}
	i := strings.LastIndexByte(dir, '/')
	if dir == c.root || i <= 0 || !within(c.root, dir[:i]) {
		return walk()
	}
	parent, base := dir[:i], dir[i+1:]
	pd, err := c.resolve(parent)
	switch {
	case err != nil:
		return walk() // the error resolveDir gives for dir
	case !pd.exists:
		return parentDir{pd.real + "/" + base, false}, nil
	case pd.real != parent:
		return walk() // through a symlink
	}
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return parentDir{dir, false}, nil
	case err == nil && fi.IsDir():
		return parentDir{dir, true}, nil
	}
	return walk()
}

// planOne decides what to do with one output file whose parent directory
// is parent.
func planOne(a *action, f *rendered, realRoot string, parent parentDir) error {
	var lfi fs.FileInfo
	lerr := error(fs.ErrNotExist)
	if parent.exists {
		lfi, lerr = os.Lstat(a.path)
	}
	real, err := resolveFile(a.path, a.dir, lfi, lerr, parent)
	if err != nil {
		return fmt.Errorf("output %s: %w", a.display(), err)
	}
	if !within(realRoot, real) {
		return fmt.Errorf("%w: %s resolves to %s, outside %s", ErrUnsafePath, a.display(), real, realRoot)
	}
	fi, err := lfi, lerr
	if lerr == nil && lfi.Mode()&fs.ModeSymlink != 0 {
		fi, err = os.Stat(a.path) // follows the symlink, as the original
	}
	switch {
	case err == nil:
		a.exists = true
		if fi.IsDir() {
			return fmt.Errorf("output %s: %w", a.display(), syscall.EISDIR)
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return fmt.Errorf("output %s: %w", a.display(), err)
	}
	if f.ctl.DeleteEmpty && len(f.body) == 0 {
		a.kind = actSkipEmpty
		if a.exists {
			a.kind = actDelete
		}
		return nil
	}
	a.kind = actWrite
	a.mode = 0o644
	if a.exists {
		st := fi.Sys().(*syscall.Stat_t)
		a.mode = fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		a.uid, a.gid = int(st.Uid), int(st.Gid)
	}
	if f.ctl.Mode != 0 {
		a.mode = f.ctl.Mode
	}
	// Rewriting a file drops setuid, and setgid when the group may
	// execute, as the kernel does on write(2) and as the original's
	// chown does.
	a.mode &^= fs.ModeSetuid
	if a.mode&0o010 != 0 {
		a.mode &^= fs.ModeSetgid
	}
	if f.ctl.Owner != nil {
		a.uid = *f.ctl.Owner
	}
	if f.ctl.Group != nil {
		a.gid = *f.ctl.Group
	}
	if a.exists && lerr == nil && lfi.Mode().IsRegular() && a.mode == fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) {
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) == a.uid && int(st.Gid) == a.gid && fi.Size() == int64(len(f.body)) {
			if old, err := readFile(a.path, fi.Size()); err == nil && bytes.Equal(old, f.body) {
				a.kind = actUnchanged
			}
		}
	}
	return nil
}

// parallel calls f(i) for every i in [0, n), on up to GOMAXPROCS
// goroutines taking indexes in runs of run (a shared counter, not a
// channel hand-off per index, whose wake-ups cost more than a small
// file's work).
func parallel(n, run int, f func(i int)) {
	parallelRuns(n, run, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			f(i)
		}
	})
}

// parallelRuns is parallel calling f once per run [lo, hi), so that f can
// keep state (an open directory) across the indexes of a run.
func parallelRuns(n, run int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), (n+run-1)/run)
	if workers <= 1 {
		for lo := 0; lo < n; lo += run {
			f(lo, min(lo+run, n))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				lo := int(next.Add(int64(run))) - run
				if lo >= n {
					return
				}
				f(lo, min(lo+run, n))
			}
		})
	}
	wg.Wait()
}

// groupByDir returns the indexes of the actions grouped by the directory
// dirOf returns ("": left out): groups in order of first appearance,
// indexes in order within each.
func groupByDir(acts []*action, dirOf func(*action) string) [][]int {
	var groups [][]int
	index := map[string]int{}
	for i, a := range acts {
		d := dirOf(a)
		if d == "" {
			continue
		}
		g, ok := index[d]
		if !ok {
			g = len(groups)
			index[d] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

// commit carries out the actions: it writes every new content to a
// temporary file first (undoing everything if one fails), then renames them
// into place and deletes (in order within each directory, directories in
// parallel), then makes it durable. A file whose directory does not exist
// is written under its own name in a staging directory instead, renamed
// into place with all its directory holds (see stager). root is the
// output directory, absolute.
func commit(ctx context.Context, acts []*action, root string, mode syncMode, log *slog.Logger) (*Result, error) {
	st := stager{root: root, dirs: map[string]stagedDir{}, exists: map[string]bool{}}
	rollback := func() {
		for _, a := range acts {
			if a.tmp != "" {
				os.Remove(a.tmp)
				a.tmp = ""
			}
		}
		st.undo()
	}
	var writes []*action
	for _, a := range acts {
		if a.kind != actWrite {
			continue
		}
		writes = append(writes, a)
		var err error
		if a.wdir, a.staged, err = st.dirFor(a.dir); err != nil {
			rollback()
			return nil, fmt.Errorf("output %s: %w", a.display(), err)
		}
	}
	if err := writeTemps(writes, mode != syncEachFile); err != nil {
		rollback()
		return nil, err
	}
	switch {
	case mode == syncFilesystems && len(writes) > 0:
		tmpDirs := map[string]bool{}
		for _, a := range writes {
			tmpDirs[a.wdir] = true
		}
		if err := syncFilesystemsOf(tmpDirs); err != nil {
			rollback()
			return nil, err
		}
	case mode == syncEachFile:
		// The files are synced; a staging directory's entries must be
		// too before it appears under its name.
		if err := st.syncDirs(); err != nil {
			rollback()
			return nil, err
		}
	}

	if err := ctx.Err(); err != nil {
		rollback()
		return nil, err
	}
	if testHookBeforeRenames != nil {
		testHookBeforeRenames()
	}
	// Renames and deletions run one directory per worker (files in
	// different directories do not contend for a directory lock); the
	// log lines and the Result follow in order afterwards.
	done := make([]bool, len(acts))
	errs := make([]error, len(acts))
	groups := groupByDir(acts, func(a *action) string {
		if a.kind == actWrite && a.staged == nil || a.kind == actDelete {
			return a.dir
		}
		return ""
	})
	parallel(len(groups)+len(st.stagings), 1, func(g int) {
		if g >= len(groups) {
			s := st.stagings[g-len(groups)]
			if s.err = renameNoReplace(s.tmp, s.top); s.err == nil {
				s.renamed = true
			}
			return
		}
		var d dirAt
		defer d.close()
		for _, i := range groups[g] {
			a := acts[i]
			var err error
			if a.kind == actDelete {
				err = os.Remove(a.path)
			} else if err = renameAt(&d, a.tmp, a.path); err != nil {
				// Not os.Rename, which lstats the target again to refuse
				// a directory: plan has checked that.
				err = &os.LinkError{Op: "rename", Old: a.tmp, New: a.path, Err: err}
			} else {
				a.tmp = ""
			}
			if err != nil {
				// The files of this directory after this one stay as
				// they were.
				errs[i] = err
				return
			}
			done[i] = true
		}
	})
	for i, a := range acts {
		if s := a.staged; s != nil {
			if s.renamed {
				done[i], a.tmp = true, ""
			} else {
				errs[i] = s.err
			}
		}
	}
	res := &Result{}
	dirs := st.parents()
	var first error
	for i, a := range acts {
		switch a.kind {
		case actUnchanged:
			logLine(ctx, log, slog.LevelDebug, "unchanged ", a)
			res.Unchanged = append(res.Unchanged, a.path)
			continue
		case actSkipEmpty:
			logLine(ctx, log, slog.LevelInfo, "not creating empty ", a)
			continue
		}
		if !done[i] && errs[i] == nil {
			continue // after a failure in its directory
		}
		if a.kind == actDelete {
			logLine(ctx, log, slog.LevelInfo, "deleting ", a)
		} else {
			logLine(ctx, log, slog.LevelInfo, "writing ", a)
		}
		if err := errs[i]; err != nil {
			if first == nil {
				first = fmt.Errorf("output %s: %w", a.display(), err)
			}
			continue
		}
		kind := Deleted
		if a.kind == actWrite {
			kind = Created
			if a.exists {
				kind = Updated
			}
		}
		res.Changes = append(res.Changes, Change{Path: a.path, Kind: kind})
		dirs[a.dir] = true
	}
	if first != nil {
		// Only a failing rename or unlink gets here: what was done is in
		// res, the temporary files not renamed are removed.
		for _, a := range acts {
			if a.tmp != "" {
				os.Remove(a.tmp)
			}
		}
		st.undoStagings()
		return res, first
	}
	switch mode {
	case syncEachFile:
		for _, d := range slices.Sorted(maps.Keys(dirs)) {
			if err := atomicfile.SyncDir(d); err != nil {
				return res, fmt.Errorf("sync directory %s: %w", d, err)
			}
		}
	case syncFilesystems:
		if len(res.Changes) > 0 {
			if err := syncFilesystemsOf(dirs); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// syncFilesystemsOf calls syncfs(2) once for each filesystem holding one
// of dirs: every file, directory entry and rename on it is then on disk.
func syncFilesystemsOf(dirs map[string]bool) error {
	synced := map[uint64]bool{}
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		var st unix.Stat_t
		if err := unix.Stat(d, &st); err != nil {
			return fmt.Errorf("sync filesystem of %s: %w", d, &fs.PathError{Op: "stat", Path: d, Err: err})
		}
		if synced[st.Dev] {
			continue
		}
		fd, err := retryEINTR(func() (int, error) {
			return unix.Open(d, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		})
		if err != nil {
			return fmt.Errorf("sync filesystem of %s: %w", d, &fs.PathError{Op: "open", Path: d, Err: err})
		}
		_, err = retryEINTR(func() (int, error) { return 0, unix.Syncfs(fd) })
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("sync filesystem of %s: %w", d, &fs.PathError{Op: "syncfs", Path: d, Err: err})
		}
		synced[st.Dev] = true
	}
	return nil
}

// writeTemps writes each action's body to a temporary file next to its
// target, with its final mode and owner, and fsyncs it (unless noSync,
// when the caller syncs otherwise or not at all).
// The files are created one at a time (concurrent creations in one
// directory contend for its lock, which costs more CPU than it saves) and
// fsynced in parallel (the filesystem batches concurrent fsyncs into fewer
// journal commits), in batches that bound the open descriptors.
func writeTemps(writes []*action, noSync bool) error {
	if noSync {
		return writeTempsByDir(writes)
	}
	const batch = 256
	for start := 0; start < len(writes); start += batch {
		chunk := writes[start:min(start+batch, len(writes))]
		fds := make([]int, 0, len(chunk))
		for _, a := range chunk {
			fd, name, err := openTemp(unix.AT_FDCWD, a.wdir, a.stagedName(), a.body, a.uid, a.gid, a.mode, nil)
			if err != nil {
				for _, fd := range fds {
					syscall.Close(fd)
				}
				return fmt.Errorf("output %s: %w", a.display(), err)
			}
			a.tmp = name // from now on, rollback removes it
			fds = append(fds, fd)
		}
		errs := make([]error, len(chunk))
		next := make(chan int)
		var wg sync.WaitGroup
		for range min(8, len(chunk)) {
			wg.Go(func() {
				for i := range next {
					errs[i] = finishTemp(fds[i], chunk[i], noSync)
				}
			})
		}
		for i := range chunk {
			next <- i
		}
		close(next)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	return nil
}

// writeTempsByDir writes the temporary files without syncing them, one
// directory per worker at a time (files in different directories do not
// contend for a directory lock), as many workers as processors. The error
// reported is that of the first failing file in writes' order.
func writeTempsByDir(writes []*action) error {
	groups := groupByDir(writes, func(a *action) string { return a.wdir })
	errs := make([]error, len(writes))
	parallel(len(groups), 1, func(g int) {
		var modes createModes
		var d dirAt
		defer d.close()
		for _, i := range groups[g] {
			a := writes[i]
			dfd := d.openDir(a.wdir)
			fd, name, err := openTemp(dfd, a.wdir, a.stagedName(), a.body, a.uid, a.gid, a.mode, &modes)
			if err == nil {
				a.tmp = name // from now on, rollback removes it
				if err = syscall.Close(fd); err != nil {
					err = &fs.PathError{Op: "close", Path: name, Err: err}
				}
			}
			if err != nil {
				errs[i] = fmt.Errorf("output %s: %w", a.display(), err)
				return
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// finishTemp fsyncs (unless noSync) and closes a's temporary file.
func finishTemp(fd int, a *action, noSync bool) error {
	var err error
	if !noSync {
		_, err = retryEINTR(func() (int, error) { return 0, syscall.Fsync(fd) })
	}
	if cerr := syscall.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("output %s: %w", a.display(), &fs.PathError{Op: "sync", Path: a.tmp, Err: err})
	}
	return nil
}

// The file I/O below uses plain system calls: os.Open and os.CreateTemp
// try to register every file with the runtime's poller, five extra system
// calls per file that regular files gain nothing from, and that dominate
// when thousands of small templates are read and written.

// readFile is os.ReadFile; size is the expected size (a hint).
func readFile(path string, size int64) ([]byte, error) {
	return readFileAt(unix.AT_FDCWD, path, path, size, nil)
}

// readFileAt is readFile of name relative to the directory dfd, into buf
// if it is big enough (nil: a new buffer); errors name path.
func readFileAt(dfd int, name, path string, size int64, buf []byte) ([]byte, error) {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Openat(dfd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	return readOpen(fd, path, size, buf)
}

// openTemplate opens the template name in the directory dfd (path is its
// whole path) for reading, without blocking on a FIFO, and fstats it into
// fi. It returns -1 when either fails: the caller then stats it by name,
// for the error the original gives.
func openTemplate(dfd int, name, path string, fi *statInfo) int {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Openat(dfd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	})
	if err != nil {
		return -1
	}
	fi.name = path[strings.LastIndexByte(path, '/')+1:]
	if err := unix.Fstat(fd, &fi.st); err != nil {
		syscall.Close(fd)
		return -1
	}
	return fd
}

// readOpen reads the open file fd to its end, into buf if it is big
// enough (nil: a new buffer); size is the expected size (a hint); errors
// name path.
func readOpen(fd int, path string, size int64, buf []byte) ([]byte, error) {
	// One byte more than the size, so that the first read can come short
	// and end it; 512 when the size says nothing (0 for /proc files).
	c := size + 1
	if size <= 0 {
		c = 512
	}
	if int64(cap(buf)) < c {
		buf = make([]byte, 0, c)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf))
		}
		want := cap(buf) - len(buf)
		n, err := retryEINTR(func() (int, error) { return syscall.Read(fd, buf[len(buf):cap(buf)]) })
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		if n < want && int64(len(buf)) == size {
			// A short read that ends at the size stat reported is the
			// end of a regular file: skip the read that would say so.
			return buf, nil
		}
	}
}

// createModes remembers, for one directory, the permission modes that a
// file created there gets exactly as open(2) was asked (neither the umask
// nor a default ACL takes bits away), so that the fchmod after creating
// can be skipped for them. The zero value knows nothing.
type createModes struct {
	exact, inexact []uint32
}

// openTemp creates a new file ".oac-tmp-<random>" (or name, when not "",
// in a staging directory) in dir holding body, owned by uid:gid (-1:
// unchanged) and with mode (chowned first, so that no special bit is
// lost), and returns it open with its path. With modes (nil: always
// chmod), a new file of a plain mode is created with that mode and its
// fchmod skipped once an fstat in this directory has shown the mode to
// come out exact.
//
// dir is a clean absolute path; dfd is dir open (dirAt.open) or
// unix.AT_FDCWD.
func openTemp(dfd int, dir, name string, body []byte, uid, gid int, mode fs.FileMode, modes *createModes) (int, string, error) {
	want := unixMode(mode)
	direct := modes != nil && uid == -1 && gid == -1 && want&^0o777 == 0 && !slices.Contains(modes.inexact, want)
	perm := uint32(0o600)
	if direct {
		perm = want
	}
	fd := -1
	given := name
	for range 100 {
		base := given
		if base == "" {
			base = ".oac-tmp-" + strconv.FormatUint(uint64(rand.Uint32()), 10)
		}
		name = dir + "/" + base
		if dir == "/" {
			name = dir + base
		}
		if dfd == unix.AT_FDCWD {
			base = name
		}
		var err error
		fd, err = retryEINTR(func() (int, error) {
			return unix.Openat(dfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, perm)
		})
		if err == nil {
			break
		}
		if err != syscall.EEXIST || given != "" {
			return -1, "", &fs.PathError{Op: "create", Path: name, Err: err}
		}
	}
	if fd < 0 {
		return -1, "", &fs.PathError{Op: "create", Path: filepath.Join(dir, ".oac-tmp-*"), Err: syscall.EEXIST}
	}
	fail := func(op string, err error) (int, string, error) {
		syscall.Close(fd)
		syscall.Unlink(name)
		return -1, "", &fs.PathError{Op: op, Path: name, Err: err}
	}
	for b := body; len(b) > 0; {
		n, err := retryEINTR(func() (int, error) { return syscall.Write(fd, b) })
		if err != nil {
			return fail("write", err)
		}
		b = b[n:]
	}
	if direct && !slices.Contains(modes.exact, want) {
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			return fail("stat", err)
		}
		if st.Mode&0o7777 == want {
			modes.exact = append(modes.exact, want)
		} else {
			modes.inexact = append(modes.inexact, want)
			direct = false
		}
	}
	if direct {
		return fd, name, nil
	}
	if uid != -1 || gid != -1 {
		if err := syscall.Fchown(fd, uid, gid); err != nil {
			return fail("chown", err)
		}
	}
	if err := syscall.Fchmod(fd, want); err != nil {
		return fail("chmod", err)
	}
	return fd, name, nil
}

func retryEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != syscall.EINTR {
			return n, err
		}
	}
}

// unixMode turns permission and special bits into st_mode bits.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= syscall.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		u |= syscall.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		u |= syscall.S_ISVTX
	}
	return u
}

// mkdirAll makes dir and its missing parents (mode 0755 less the umask, as
// the original's makedirs under the usual umask), recording each one it
// makes in *created, parents first. known caches the directories found or
// made.
func mkdirAll(dir string, created *[]string, known map[string]bool) error {
	if known[dir] {
		return nil
	}
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		known[dir] = true
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirAll(parent, created, known); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			known[dir] = true
			return nil
		}
		return err
	}
	*created = append(*created, dir)
	known[dir] = true
	return nil
}

// joinClean is filepath.Join(root, rel) for a clean absolute root and a
// local rel, without cleaning again when rel is clean already (as the
// names of a listing joined with slashes are).
func joinClean(root, rel string) string {
	clean := rel != "" && rel[0] != '/' && rel[len(rel)-1] != '/' && !strings.Contains(rel, "//")
	for c := range strings.SplitSeq(rel, "/") {
		if c == "." || c == ".." {
			clean = false
			break
		}
	}
	if !clean {
		return filepath.Join(root, rel)
	}
	if root == "/" {
		return "/" + rel
	}
	return root + "/" + rel
}

// within reports whether the clean absolute path p is root or under it.
func within(root, p string) bool {
	return root == "/" || strings.HasPrefix(p, root) && (len(p) == len(root) || p[len(root)] == '/')
}

// resolveDir resolves the directory dir as resolvePath does and tells
// whether it exists; a dir that exists and is not a directory (symlinks
// followed) is an error.
func resolveDir(dir string) (real string, exists bool, err error) {
	real, err = resolvePath(dir)
	if err != nil {
		return "", false, err
	}
	fi, err := os.Stat(real)
	switch {
	case err == nil && !fi.IsDir():
		return "", false, &fs.PathError{Op: "stat", Path: dir, Err: syscall.ENOTDIR}
	case err == nil:
		return real, true, nil
	case errors.Is(err, fs.ErrNotExist):
		return real, false, nil
	}
	return "", false, err
}

// resolveFile is resolvePath for the clean absolute path p, in the
// directory dir (filepath.Dir(p)) that resolves to parent. lfi and lerr
// are the result of lstat(p).
func resolveFile(p, dir string, lfi fs.FileInfo, lerr error, parent parentDir) (string, error) {
	switch {
	case parent.real != dir:
		// Through a symlinked parent: resolve the whole path.
		return resolvePath(p)
	case errors.Is(lerr, fs.ErrNotExist):
		return p, nil
	case lerr != nil:
		return "", lerr
	case lfi.Mode()&fs.ModeSymlink != 0:
		return resolvePath(p)
	}
	return p, nil // parent.real is dir
}

// resolvePath returns where a write to the absolute path p ends up: every
// symlink on the way, the last component included, is followed, and the
// components that do not exist yet are appended as they are.
func resolvePath(p string) (string, error) {
	split := func(s string) []string {
		return slices.DeleteFunc(strings.Split(s, "/"), func(c string) bool { return c == "" || c == "." })
	}
	rest := split(p)
	cur := "/"
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		if c == ".." {
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, c)
		fi, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) {
			return filepath.Join(append([]string{next}, rest...)...), nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if links++; links > 255 {
				return "", &fs.PathError{Op: "resolve", Path: p, Err: syscall.ELOOP}
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", err
			}
			if filepath.IsAbs(target) {
				cur = "/"
			}
			rest = append(split(target), rest...)
			continue
		}
		if !fi.IsDir() && len(rest) > 0 {
			return "", &fs.PathError{Op: "resolve", Path: next, Err: syscall.ENOTDIR}
		}
		cur = next
	}
	return cur, nil
}

// dirAt keeps one directory open (O_PATH) so that the *at system calls on
// the files in it walk one path component instead of the whole path,
// which is most of what a stat or open of a small file costs. The zero
// value holds nothing.
type dirAt struct {
	dir string
	fd  int
	ok  bool
}

// open returns the descriptor and name to pass to an *at system call for
// path, opening path's directory unless it is the one already open. When
// the directory cannot be opened it returns unix.AT_FDCWD and path, so that
// the call succeeds or fails exactly as with the path.
func (d *dirAt) open(path string) (int, string) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return unix.AT_FDCWD, path
	}
	dir, name := path[:i], path[i+1:]
	if dir == "" {
		dir = "/"
	}
	if name == "" || name == "." || name == ".." {
		return unix.AT_FDCWD, path
	}
	fd := d.openDir(dir)
	if fd == unix.AT_FDCWD {
		return fd, path
	}
	return fd, name
}

// openDir opens dir unless it is the one already open, and returns it,
// or unix.AT_FDCWD if it cannot be opened.
func (d *dirAt) openDir(dir string) int {
	if d.ok && d.dir == dir {
		return d.fd
	}
	d.close()
	fd, err := retryEINTR(func() (int, error) {
		return unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return unix.AT_FDCWD
	}
	d.dir, d.fd, d.ok = dir, fd, true
	return fd
}

// close closes the open directory, if any.
func (d *dirAt) close() {
	if d.ok {
		unix.Close(d.fd)
		d.ok = false
	}
}

// renameAt is rename(2) of oldpath to newpath, two paths in the same
// directory, through d.
func renameAt(d *dirAt, oldpath, newpath string) error {
	dfd, newName := d.open(newpath)
	oldName := oldpath
	if dfd != unix.AT_FDCWD {
		oldName = oldpath[strings.LastIndexByte(oldpath, '/')+1:]
	}
	_, err := retryEINTR(func() (int, error) { return 0, unix.Renameat(dfd, oldName, dfd, newName) })
	return err
}

// statAt is os.Stat(path) done as fstatat(dfd, name).
func statAt(dfd int, name, path string) (fs.FileInfo, error) {
	var st unix.Stat_t
	if _, err := retryEINTR(func() (int, error) { return 0, unix.Fstatat(dfd, name, &st, 0) }); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	return &statInfo{name: filepath.Base(path), st: st}, nil
}

// statInfo is the fs.FileInfo of a stat made with statAt.
type statInfo struct {
	name string
	st   unix.Stat_t
}

func (fi *statInfo) Name() string       { return fi.name }
func (fi *statInfo) Size() int64        { return fi.st.Size }
func (fi *statInfo) ModTime() time.Time { return time.Unix(fi.st.Mtim.Unix()) }
func (fi *statInfo) IsDir() bool        { return fi.Mode().IsDir() }
func (fi *statInfo) Sys() any           { return &fi.st }

// Mode converts st_mode as package os does.
func (fi *statInfo) Mode() fs.FileMode {
	m := fs.FileMode(fi.st.Mode & 0o777)
	switch fi.st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	}
	if fi.st.Mode&unix.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if fi.st.Mode&unix.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if fi.st.Mode&unix.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// logLine logs verb and a's path (display) at level, as log.Log would
// but without recording the caller's program counter (which slog takes
// with runtime.Callers on every record, costing more than writing a small
// file): records from Apply carry no source position.
func logLine(ctx context.Context, log *slog.Logger, level slog.Level, verb string, a *action) {
	h := log.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	// verb+a.display() in one string.
	sep := "/"
	if a.outDir == "" || strings.HasSuffix(a.outDir, "/") {
		sep = ""
	}
	h.Handle(ctx, slog.NewRecord(time.Now(), level, verb+a.outDir+sep+a.rel, 0))
}
