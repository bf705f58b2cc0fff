package image

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"time"
)

// ext4fs is a minimal read-only ext4 reader, enough for the root
// filesystems Build writes (mkfs.ext4 -d with the pinned feature set:
// extents, 64bit, flex_bg, metadata_csum, dir_index, huge_file...). It
// reads the superblock, group descriptors, inodes, extent trees and
// directory blocks (linear or hashed: htree index blocks are skipped the
// way e2fsprogs' linear iteration does), and checks every number it reads
// against the filesystem's bounds, so a corrupt or hostile image gives an
// error, never a panic, a huge allocation or a loop. Checksums are not
// verified, xattrs and the journal are not read (a filesystem that needs
// journal recovery is refused), and inline-data and block-mapped
// (non-extent) inodes are refused with an error naming them.
//
// go-diskfs v1.9.4's ext4 reader is not used: it panics on a directory
// holding a name of 248 bytes or more (bug 9 in doc.go), reports no
// permission bits (10) and misreads sparse files (11).
type ext4fs struct {
	r        io.ReaderAt
	size     int64 // bytes available to the filesystem
	bs       int64 // block size
	blocks   uint64
	inodes   uint32
	ipg      uint32
	isz      int64
	descSize int64
	gdt      []byte
	// budget bounds the extent index blocks read in all, so that a tree
	// whose index entries all point at one block cannot fan out forever.
	budget int64
	buf    []byte // readData's buffer, reused (an ext4fs is not safe for concurrent use)
}

// ext4 superblock incompatible features.
const (
	ext4IncompatFiletype  = 0x2
	ext4IncompatRecover   = 0x4
	ext4IncompatJournalDv = 0x8
	ext4IncompatMetaBG    = 0x10
	ext4IncompatExtents   = 0x40
	ext4Incompat64bit     = 0x80
	ext4IncompatMMP       = 0x100
	ext4IncompatFlexBG    = 0x200
	ext4IncompatEAInode   = 0x400
	ext4IncompatDirData   = 0x1000
	ext4IncompatCsumSeed  = 0x2000
	ext4IncompatLargeDir  = 0x4000
	ext4IncompatInline    = 0x8000
	ext4IncompatEncrypt   = 0x10000
	ext4IncompatCasefold  = 0x20000

	ext4Supported = ext4IncompatFiletype | ext4IncompatExtents | ext4Incompat64bit | ext4IncompatFlexBG |
		ext4IncompatCsumSeed | ext4IncompatLargeDir | ext4IncompatMMP | ext4IncompatEAInode
)

var ext4IncompatNames = map[uint32]string{
	ext4IncompatRecover: "needs_recovery", ext4IncompatJournalDv: "journal_dev", ext4IncompatMetaBG: "meta_bg",
	ext4IncompatDirData: "dirdata", ext4IncompatInline: "inline_data", ext4IncompatEncrypt: "encrypt",
	ext4IncompatCasefold: "casefold",
}

// inode flags.
const (
	ext4FlagExtents = 0x80000
	ext4FlagInline  = 0x10000000
)

// file types in i_mode.
const (
	sIFMT   = 0o170000
	sIFSOCK = 0o140000
	sIFLNK  = 0o120000
	sIFREG  = 0o100000
	sIFBLK  = 0o060000
	sIFDIR  = 0o040000
	sIFCHR  = 0o020000
	sIFIFO  = 0o010000
)

var errExt4 = errors.New("ext4")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errExt4, fmt.Sprintf(format, args...))
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }

// readFull reads len(b) bytes at off, refusing to read past the
// filesystem.
func (f *ext4fs) readAt(b []byte, off int64) error {
	if off < 0 || off > f.size || int64(len(b)) > f.size-off {
		return corrupt("read of %d bytes at %d is outside the filesystem (%d bytes)", len(b), off, f.size)
	}
	if _, err := f.r.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF) && len(b) == 0) {
		return fmt.Errorf("%w: read at %d: %w", errExt4, off, err)
	}
	return nil
}

// openExt4 reads the superblock and group descriptors of the ext4
// filesystem held in r's first size bytes.
func openExt4(r io.ReaderAt, size int64) (*ext4fs, error) {
	f := &ext4fs{r: r, size: size}
	sb := make([]byte, 1024)
	if err := f.readAt(sb, 1024); err != nil {
		return nil, fmt.Errorf("superblock: %w", err)
	}
	if m := le16(sb[0x38:]); m != 0xEF53 {
		return nil, corrupt("no ext2/3/4 superblock (magic %#04x)", m)
	}
	logbs := le32(sb[0x18:])
	if logbs > 6 {
		return nil, corrupt("block size 2^(10+%d) out of range", logbs)
	}
	f.bs = 1024 << logbs
	incompat := le32(sb[0x60:])
	for bit, name := range ext4IncompatNames {
		if incompat&bit != 0 {
			return nil, fmt.Errorf("%w: feature %s is not supported by this reader", errExt4, name)
		}
	}
	if extra := incompat &^ ext4Supported; extra != 0 {
		return nil, fmt.Errorf("%w: unknown incompatible features %#x", errExt4, extra)
	}
	f.inodes = le32(sb[0x0:])
	f.blocks = uint64(le32(sb[0x4:]))
	firstData := uint64(le32(sb[0x14:]))
	bpg := uint64(le32(sb[0x20:]))
	f.ipg = le32(sb[0x28:])
	f.isz = 128
	if le32(sb[0x4C:]) >= 1 {
		f.isz = int64(le16(sb[0x58:]))
	}
	f.descSize = 32
	if incompat&ext4Incompat64bit != 0 {
		f.blocks |= uint64(le32(sb[0x150:])) << 32
		f.descSize = int64(le16(sb[0xFE:]))
		if f.descSize < 64 || f.descSize > 1024 || f.descSize&(f.descSize-1) != 0 {
			return nil, corrupt("group descriptor size %d", f.descSize)
		}
	}
	if f.isz < 128 || f.isz > f.bs || f.isz&(f.isz-1) != 0 {
		return nil, corrupt("inode size %d", f.isz)
	}
	if bpg == 0 || f.ipg == 0 || f.blocks <= firstData {
		return nil, corrupt("%d blocks, %d blocks and %d inodes per group", f.blocks, bpg, f.ipg)
	}
	if f.blocks > uint64(size/f.bs) {
		return nil, corrupt("%d blocks of %d bytes do not fit in %d bytes", f.blocks, f.bs, size)
	}
	groups := (f.blocks - firstData + bpg - 1) / bpg
	if uint64(f.inodes) > groups*uint64(f.ipg) {
		return nil, corrupt("%d inodes for %d groups of %d", f.inodes, groups, f.ipg)
	}
	gdtOff := int64(firstData+1) * f.bs
	if groups > uint64(size/f.descSize) {
		return nil, corrupt("%d group descriptors do not fit", groups)
	}
	f.gdt = make([]byte, int64(groups)*f.descSize)
	if err := f.readAt(f.gdt, gdtOff); err != nil {
		return nil, fmt.Errorf("group descriptors: %w", err)
	}
	f.budget = int64(f.blocks)
	return f, nil
}

// ext4Inode is what the reader uses of an inode.
type ext4Inode struct {
	num          uint32
	mode         uint32 // i_mode: type and permission bits
	uid, gid     uint32
	size         uint64
	links        uint16
	flags        uint32
	atime, mtime time.Time
	block        [60]byte
}

func (in *ext4Inode) typ() uint32 { return in.mode & sIFMT }

// inode reads inode n.
func (f *ext4fs) inode(n uint32) (*ext4Inode, error) {
	if n < 1 || n > f.inodes {
		return nil, corrupt("inode number %d out of range 1..%d", n, f.inodes)
	}
	g, idx := int64((n-1)/f.ipg), int64((n-1)%f.ipg)
	gd := f.gdt[g*f.descSize:]
	tbl := uint64(le32(gd[0x8:]))
	if f.descSize >= 64 {
		tbl |= uint64(le32(gd[0x28:])) << 32
	}
	if tbl >= f.blocks {
		return nil, corrupt("inode table of group %d at block %d, past the end", g, tbl)
	}
	buf := make([]byte, f.isz)
	if err := f.readAt(buf, int64(tbl)*f.bs+idx*f.isz); err != nil {
		return nil, fmt.Errorf("inode %d: %w", n, err)
	}
	in := &ext4Inode{
		num:   n,
		mode:  uint32(le16(buf[0x0:])),
		uid:   uint32(le16(buf[0x2:])) | uint32(le16(buf[0x78:]))<<16,
		gid:   uint32(le16(buf[0x18:])) | uint32(le16(buf[0x7A:]))<<16,
		size:  uint64(le32(buf[0x4:])) | uint64(le32(buf[0x6C:]))<<32,
		links: le16(buf[0x1A:]),
		flags: le32(buf[0x20:]),
	}
	copy(in.block[:], buf[0x28:0x28+60])
	extra := int64(0)
	if f.isz > 128 {
		extra = int64(le16(buf[0x80:]))
	}
	stamp := func(lo, hi int64) time.Time {
		sec := int64(int32(le32(buf[lo:])))
		var ns int64
		if extra > 0 && 0x80+extra >= hi+4 {
			x := le32(buf[hi:])
			sec += int64(x&3) << 32
			ns = int64(x >> 2)
			if ns > 999999999 {
				ns = 0
			}
		}
		return time.Unix(sec, ns)
	}
	in.mtime = stamp(0x10, 0x88)
	in.atime = stamp(0x8, 0x8C)
	return in, nil
}

// ext4Extent maps file blocks [logical, logical+n) to disk blocks
// [start, start+n); an unwritten extent reads as zeros.
type ext4Extent struct {
	logical, start, n uint64
	unwritten         bool
}

// extents returns in's extents in file order, checked to lie inside the
// filesystem and not to overlap.
func (f *ext4fs) extents(in *ext4Inode) ([]ext4Extent, error) {
	if in.flags&ext4FlagInline != 0 {
		return nil, fmt.Errorf("%w: inode %d holds inline data, not supported by this reader", errExt4, in.num)
	}
	if in.flags&ext4FlagExtents == 0 {
		if in.size == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: inode %d is block-mapped (no extents), not supported by this reader", errExt4, in.num)
	}
	var out []ext4Extent
	if err := f.extentNode(in.block[:], -1, &out); err != nil {
		return nil, fmt.Errorf("inode %d: %w", in.num, err)
	}
	var next uint64
	for _, e := range out {
		if e.logical < next {
			return nil, corrupt("inode %d: extents overlap or are out of order at block %d", in.num, e.logical)
		}
		next = e.logical + e.n
	}
	return out, nil
}

func (f *ext4fs) extentNode(node []byte, depth int, out *[]ext4Extent) error {
	if len(node) < 12 || le16(node) != 0xF30A {
		return corrupt("bad extent header")
	}
	entries, d := int(le16(node[2:])), int(le16(node[6:]))
	if d > 5 || (depth >= 0 && d != depth) {
		return corrupt("extent tree depth %d (want %d)", d, depth)
	}
	if 12+12*entries > len(node) {
		return corrupt("%d extent entries do not fit their node", entries)
	}
	for i := range entries {
		e := node[12+12*i:]
		if d == 0 {
			n := uint64(le16(e[4:]))
			x := ext4Extent{logical: uint64(le32(e)), start: uint64(le16(e[6:]))<<32 | uint64(le32(e[8:])), n: n}
			if n > 32768 {
				x.n, x.unwritten = n-32768, true
			}
			if x.start >= f.blocks || x.n > f.blocks-x.start {
				return corrupt("extent of %d blocks at block %d is past the end (%d blocks)", x.n, x.start, f.blocks)
			}
			*out = append(*out, x)
			continue
		}
		leaf := uint64(le32(e[4:])) | uint64(le16(e[8:]))<<32
		if leaf >= f.blocks {
			return corrupt("extent index block %d is past the end", leaf)
		}
		if f.budget--; f.budget < 0 {
			return corrupt("extent trees read more index blocks than the filesystem has")
		}
		b := make([]byte, f.bs)
		if err := f.readAt(b, int64(leaf)*f.bs); err != nil {
			return err
		}
		if err := f.extentNode(b, d-1, out); err != nil {
			return err
		}
	}
	return nil
}

// readData calls fn with the inode's data, in file order, for the part
// of each written extent that lies below the file size; the gaps are
// holes. fn may keep b only until it returns, and must not call readData.
func (f *ext4fs) readData(ctx context.Context, in *ext4Inode, fn func(off int64, b []byte) error) error {
	exts, err := f.extents(in)
	if err != nil {
		return err
	}
	size := in.size
	if f.buf == nil {
		f.buf = make([]byte, min(1<<20, f.bs*256))
	}
	buf := f.buf
	for _, e := range exts {
		if e.unwritten {
			continue
		}
		if e.logical > size/uint64(f.bs) {
			break
		}
		off := e.logical * uint64(f.bs)
		n := min(e.n*uint64(f.bs), size-off)
		for done := uint64(0); done < n; {
			if err := ctx.Err(); err != nil {
				return err
			}
			k := min(uint64(len(buf)), n-done)
			if err := f.readAt(buf[:k], int64(e.start*uint64(f.bs)+done)); err != nil {
				return fmt.Errorf("inode %d: %w", in.num, err)
			}
			if err := fn(int64(off+done), buf[:k]); err != nil {
				return err
			}
			done += k
		}
	}
	return nil
}

// symlink returns a symbolic link's target.
func (f *ext4fs) symlink(ctx context.Context, in *ext4Inode) (string, error) {
	if in.size > 4096 {
		return "", corrupt("inode %d: symlink of %d bytes", in.num, in.size)
	}
	if in.flags&(ext4FlagExtents|ext4FlagInline) == 0 && in.size < 60 {
		return string(in.block[:in.size]), nil
	}
	t := make([]byte, in.size)
	err := f.readData(ctx, in, func(off int64, b []byte) error {
		copy(t[off:], b)
		return nil
	})
	return string(t), err
}

// ext4Dirent is a directory entry.
type ext4Dirent struct {
	name  string
	inode uint32
}

// readDir returns a directory's entries but "." and "..".
func (f *ext4fs) readDir(ctx context.Context, in *ext4Inode) ([]ext4Dirent, error) {
	if in.size%uint64(f.bs) != 0 || in.size > f.blocks*uint64(f.bs) {
		return nil, corrupt("directory inode %d has size %d", in.num, in.size)
	}
	var out []ext4Dirent
	err := f.readData(ctx, in, func(off int64, b []byte) error {
		for blk := int64(0); blk < int64(len(b)); blk += f.bs {
			d := b[blk : blk+f.bs]
			for pos := int64(0); pos < f.bs; {
				if f.bs-pos < 8 {
					return corrupt("directory inode %d: entry at %d overruns its block", in.num, off+blk+pos)
				}
				ino, rec, nl := le32(d[pos:]), int64(le16(d[pos+4:])), int64(d[pos+6])
				if rec < 8 || rec%4 != 0 || rec > f.bs-pos || nl > rec-8 {
					return corrupt("directory inode %d: bad entry at %d (length %d, name %d)", in.num, off+blk+pos, rec, nl)
				}
				if ino != 0 && nl > 0 {
					name := string(d[pos+8 : pos+8+nl])
					if name != "." && name != ".." {
						out = append(out, ext4Dirent{name: name, inode: ino})
					}
				}
				pos += rec
			}
		}
		return nil
	})
	return out, err
}

// validDirent reports whether a directory entry's name can be a path
// element.
func validDirent(name string) bool {
	if name == "" || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == 0 {
			return false
		}
	}
	return true
}

// walk calls fn for every entry below the root directory (root's
// lost+found excluded), parents before children, with its slash-separated
// path relative to the root. A directory reached twice, a name that is
// not a path element or a tree deeper than 512 is an error.
func (f *ext4fs) walk(ctx context.Context, fn func(rel string, in *ext4Inode) error) error {
	type dir struct {
		rel string
		in  *ext4Inode
	}
	root, err := f.inode(2)
	if err != nil {
		return err
	}
	if root.typ() != sIFDIR {
		return corrupt("root inode is not a directory (mode %o)", root.mode)
	}
	seen := map[uint32]bool{2: true}
	stack := []dir{{"", root}}
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ents, err := f.readDir(ctx, d.in)
		if err != nil {
			return fmt.Errorf("/%s: %w", d.rel, err)
		}
		var sub []dir
		for _, e := range ents {
			if !validDirent(e.name) {
				return corrupt("/%s: entry name %q", d.rel, e.name)
			}
			if d.rel == "" && e.name == "lost+found" {
				continue
			}
			rel := path.Join(d.rel, e.name)
			in, err := f.inode(e.inode)
			if err != nil {
				return fmt.Errorf("/%s: %w", rel, err)
			}
			if in.typ() == sIFDIR {
				if seen[in.num] {
					return corrupt("/%s: directory inode %d reached twice", rel, in.num)
				}
				if len(rel) > 4096 || depthOf(rel) > 512 {
					return corrupt("/%s: too deep", rel)
				}
				seen[in.num] = true
				sub = append(sub, dir{rel, in})
			}
			if err := fn(rel, in); err != nil {
				return err
			}
		}
		for i := len(sub) - 1; i >= 0; i-- {
			stack = append(stack, sub[i])
		}
	}
	return nil
}

func depthOf(rel string) int {
	n := 1
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' {
			n++
		}
	}
	return n
}
