package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/diskfs/go-diskfs/partition/gpt"
	"golang.org/x/sys/unix"
)

// ErrNoRoot means a disk holds no GPT, or no partition that ExtractRoot
// takes for the root filesystem.
var ErrNoRoot = errors.New("no root partition")

// ExtractOptions tune ExtractRoot; nil means defaults.
type ExtractOptions struct {
	// Partition is the name of the partition holding the root
	// filesystem. Empty means the first partition whose type GUID is a
	// Linux root one (TypeRootX86_64, TypeRootAArch64), else the one
	// named "root": what Build writes.
	Partition string
	// KeepOwners gives every entry the owner and group the filesystem
	// records, and keeps setuid and setgid bits (it needs root). The
	// default leaves everything owned by the caller and drops those bits,
	// so that no image makes a setuid program on the host.
	KeepOwners bool
	// Logger receives a debug record per extraction; nil discards.
	Logger *slog.Logger
}

// ExtractResult says what ExtractRoot read and wrote.
type ExtractResult struct {
	// Partition is the partition read (Filesystem is "ext4").
	Partition PartitionInfo
	// Counts of what was created.
	Files, Dirs, Symlinks, HardLinks, FIFOs int
	// Bytes of file data written (holes excluded).
	Bytes int64
	// Skipped lists the entries not created, by path relative to the
	// root: device nodes (never made on the host) and sockets.
	Skipped []string
	// Duration is the time the extraction took.
	Duration time.Duration
}

// ExtractRoot reads the GPT of the raw disk (or disk image) at disk with
// go-diskfs, finds the root partition (see ExtractOptions.Partition) and
// extracts its ext4 filesystem into the directory dst: regular files
// (sparse ones stay sparse), directories, symbolic links, hard links
// (linked again), FIFOs, permission bits and modification times; device
// nodes and sockets are skipped and listed, xattrs are not read, and the
// root's lost+found is left out.
//
// dst is replaced as a whole: the tree is extracted into a temporary
// sibling directory that is renamed over dst only when complete, so a
// failed or cancelled extraction leaves dst as it was. Every entry is
// created below that directory by name, never through a symbolic link,
// so a hostile image cannot write outside it.
//
// The ext4 reader is this package's own (go-diskfs v1.9.4's panics on
// long names, loses permissions and misreads sparse files; see doc.go):
// it supports what Build's writers produce and refuses inline data,
// block-mapped files and filesystems needing journal recovery with an
// error naming them. A squashfs root is refused.
func ExtractRoot(ctx context.Context, disk, dst string, opts *ExtractOptions) (*ExtractResult, error) {
	var o ExtractOptions
	if opts != nil {
		o = *opts
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	f, err := os.Open(disk)
	if err != nil {
		return nil, fmt.Errorf("image: extract root: %w", err)
	}
	defer f.Close()
	part, err := findRoot(f, o.Partition)
	if err != nil {
		return nil, fmt.Errorf("image: extract root of %s: %w", disk, err)
	}
	res := &ExtractResult{Partition: *part}
	magic := make([]byte, 4)
	if _, err := f.ReadAt(magic, part.Start); err == nil && string(magic) == "hsqs" {
		return nil, fmt.Errorf("image: extract root of %s: partition %d (%s) holds squashfs, which ExtractRoot does not read", disk, part.Number, part.Name)
	}
	efs, err := openExt4(io.NewSectionReader(f, part.Start, part.Size), part.Size)
	if err != nil {
		return nil, fmt.Errorf("image: extract root of %s: partition %d (%s): %w", disk, part.Number, part.Name, err)
	}
	res.Partition.Filesystem = "ext4"

	parent, base := filepath.Dir(dst), filepath.Base(dst)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("image: extract root: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".new-")
	if err != nil {
		return nil, fmt.Errorf("image: extract root: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(tmp)
		}
	}()
	x := &extractor{fs: efs, dst: tmp, o: o, res: res, links: map[uint32]string{}}
	if err := x.run(ctx); err != nil {
		return nil, fmt.Errorf("image: extract root of %s into %s: %w", disk, dst, err)
	}
	if err := replaceDir(tmp, dst); err != nil {
		return nil, fmt.Errorf("image: extract root: %w", err)
	}
	ok = true
	res.Duration = time.Since(start)
	log.Debug("root extracted", "disk", disk, "dst", dst, "files", res.Files, "dirs", res.Dirs,
		"bytes", res.Bytes, "skipped", len(res.Skipped), "took", res.Duration)
	return res, nil
}

// replaceDir renames dir over dst, removing what dst held.
func replaceDir(dir, dst string) error {
	old := ""
	if _, err := os.Lstat(dst); err == nil {
		o, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".old-")
		if err != nil {
			return err
		}
		old = filepath.Join(o, "x")
		if err := os.Rename(dst, old); err != nil {
			os.Remove(o)
			return err
		}
		defer os.RemoveAll(o)
	}
	if err := os.Rename(dir, dst); err != nil {
		if old != "" {
			_ = os.Rename(old, dst)
		}
		return err
	}
	return nil
}

// findRoot reads the GPT and picks the root partition.
func findRoot(f *os.File, name string) (*PartitionInfo, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	tbl, err := gpt.Read(&fileBackend{f}, sector, sector)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the GPT: %w", ErrNoRoot, err)
	}
	var parts []PartitionInfo
	for i, p := range tbl.Partitions {
		if p == nil || p.Type == gpt.Unused || p.Start == 0 {
			continue
		}
		parts = append(parts, PartitionInfo{Number: i + 1, Name: p.Name, Type: strings.ToUpper(string(p.Type)),
			GUID: strings.ToUpper(p.GUID), Start: int64(p.Start) * sector, Size: int64(p.End-p.Start+1) * sector})
	}
	pick := -1
	switch {
	case name != "":
		pick = slices.IndexFunc(parts, func(p PartitionInfo) bool { return p.Name == name })
	default:
		pick = slices.IndexFunc(parts, func(p PartitionInfo) bool { return p.Type == TypeRootX86_64 || p.Type == TypeRootAArch64 })
		if pick < 0 {
			pick = slices.IndexFunc(parts, func(p PartitionInfo) bool { return p.Name == "root" })
		}
	}
	if pick < 0 {
		if name != "" {
			return nil, fmt.Errorf("%w: no partition named %q", ErrNoRoot, name)
		}
		return nil, fmt.Errorf("%w: no partition with a Linux root type GUID or named \"root\"", ErrNoRoot)
	}
	p := parts[pick]
	if p.Start < 0 || p.Size <= 0 || p.Start > st.Size() || p.Size > st.Size()-p.Start {
		return nil, fmt.Errorf("partition %d (%s) [%d, +%d) is outside the %d-byte disk", p.Number, p.Name, p.Start, p.Size, st.Size())
	}
	return &p, nil
}

type extractor struct {
	fs    *ext4fs
	dst   string
	o     ExtractOptions
	res   *ExtractResult
	links map[uint32]string // inode → first path extracted, for hard links
	dirs  []dirMeta
}

type dirMeta struct {
	path string
	in   *ext4Inode
}

func (x *extractor) run(ctx context.Context) error {
	root, err := x.fs.inode(2)
	if err != nil {
		return err
	}
	err = x.fs.walk(ctx, func(rel string, in *ext4Inode) error {
		if err := x.entry(ctx, rel, in); err != nil {
			return fmt.Errorf("/%s: %w", rel, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Directories get their mode and times last, deepest first, so that
	// creating their children neither fails nor moves their times.
	for i := len(x.dirs) - 1; i >= 0; i-- {
		if err := x.meta(x.dirs[i].path, x.dirs[i].in); err != nil {
			return fmt.Errorf("/%s: %w", x.dirs[i].path, err)
		}
	}
	return x.meta(x.dst, root)
}

func (x *extractor) entry(ctx context.Context, rel string, in *ext4Inode) error {
	p := filepath.Join(x.dst, filepath.FromSlash(rel))
	switch in.typ() {
	case sIFDIR:
		if err := os.Mkdir(p, 0o700); err != nil {
			return err
		}
		x.res.Dirs++
		x.dirs = append(x.dirs, dirMeta{p, in})
		return nil
	case sIFREG:
		if first, ok := x.links[in.num]; ok {
			if err := os.Link(first, p); err != nil {
				return err
			}
			x.res.HardLinks++
			return nil
		}
		if err := x.file(ctx, p, in); err != nil {
			return err
		}
		if in.links > 1 {
			x.links[in.num] = p
		}
		x.res.Files++
	case sIFLNK:
		t, err := x.fs.symlink(ctx, in)
		if err != nil {
			return err
		}
		if err := os.Symlink(t, p); err != nil {
			return err
		}
		x.res.Symlinks++
	case sIFIFO:
		if err := unix.Mkfifo(p, 0o600); err != nil {
			return err
		}
		x.res.FIFOs++
	case sIFCHR, sIFBLK, sIFSOCK:
		x.res.Skipped = append(x.res.Skipped, rel)
		return nil
	default:
		return corrupt("inode %d: unknown file type in mode %o", in.num, in.mode)
	}
	return x.meta(p, in)
}

func (x *extractor) file(ctx context.Context, p string, in *ext4Inode) error {
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = x.fs.readData(ctx, in, func(off int64, b []byte) error {
		if isZero(b) {
			return nil // stays a hole
		}
		_, err := out.WriteAt(b, off)
		x.res.Bytes += int64(len(b))
		return err
	})
	if err == nil && in.size > 0 {
		if in.size > uint64(x.fs.size)*64 {
			err = corrupt("inode %d: file size %d", in.num, in.size)
		} else {
			err = out.Truncate(int64(in.size))
		}
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// meta applies owner, mode and times to p (never following a symbolic
// link).
func (x *extractor) meta(p string, in *ext4Inode) error {
	mode := in.mode & 0o7777
	if x.o.KeepOwners {
		if err := os.Lchown(p, int(in.uid), int(in.gid)); err != nil {
			return err
		}
	} else {
		mode &^= unix.S_ISUID | unix.S_ISGID
	}
	if in.typ() != sIFLNK {
		if err := unix.Fchmodat(unix.AT_FDCWD, p, mode, 0); err != nil {
			return fmt.Errorf("chmod %o: %w", mode, err)
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(in.atime.UnixNano()), unix.NsecToTimespec(in.mtime.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("times: %w", err)
	}
	return nil
}
