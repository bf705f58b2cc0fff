package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// FSWriter writes a filesystem holding a staged directory tree into a
// region of a disk image file. Implementations: Ext4Mkfs (default),
// Squashfs, Ext4Go.
type FSWriter interface {
	// Type is the filesystem type written, e.g. "ext4".
	Type() string
	// WriteFS writes the filesystem described by req.
	WriteFS(ctx context.Context, req *FSRequest) (*FSInfo, error)
}

// FSRequest is what an FSWriter writes.
type FSRequest struct {
	// Dir is the staged root tree.
	Dir string
	// Image is the disk image file; the filesystem goes at
	// [Offset, Offset+Size).
	Image  string
	Offset int64
	Size   int64
	// UUID and HashSeed are the filesystem UUID and directory hash seed.
	UUID, HashSeed [16]byte
	// Label is the filesystem label.
	Label string
	// Epoch is SOURCE_DATE_EPOCH: every timestamp is clamped to it.
	Epoch int64
	// Fixups are owners and device nodes the staging tree could not hold
	// (no root privilege); the writer applies them inside the filesystem.
	Fixups []Fixup
}

// FSInfo describes a written filesystem.
type FSInfo struct {
	Type string `json:"type"`
	UUID string `json:"uuid,omitempty"`
	// Tool is the program and version that wrote it.
	Tool string `json:"tool"`
}

// ErrToolMissing is wrapped when an external program a writer needs is not
// installed.
var ErrToolMissing = errors.New("required tool not found")

func lookTool(name, pkg string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: %s (install the Debian package %s)", ErrToolMissing, name, pkg)
	}
	return p, nil
}

// runTool runs a program and returns a wrapped error with its output on
// failure.
func runTool(ctx context.Context, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return out.Bytes(), ctx.Err()
		}
		return out.Bytes(), fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.Bytes(), nil
}

func toolVersion(ctx context.Context, name string, args ...string) string {
	out, _ := exec.CommandContext(ctx, name, args...).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(line)
}

// mke2fsConf pins every mke2fs default so the filesystem does not depend on
// the host's /etc/mke2fs.conf.
const mke2fsConf = `[defaults]
	base_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
	default_mntopts = acl,user_xattr
	enable_periodic_fsck = 0
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384
	reserved_ratio = 5.0
	lazy_itable_init = 1
	lazy_journal_init = 1
[fs_types]
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
	}
`

// Ext4Mkfs writes ext4 with mkfs.ext4 -d from e2fsprogs (no root, no
// mount): the UUID and directory hash seed are fixed, mke2fs's clock is
// E2FSPROGS_FAKE_TIME, its defaults are pinned by our own mke2fs.conf, and
// every inode's times are then set to the epoch (see ext4fix.go), so the
// result is byte-for-byte reproducible.
type Ext4Mkfs struct{}

// Type implements FSWriter.
func (Ext4Mkfs) Type() string { return "ext4" }

// WriteFS implements FSWriter.
func (Ext4Mkfs) WriteFS(ctx context.Context, req *FSRequest) (*FSInfo, error) {
	mkfs, err := lookTool("mkfs.ext4", "e2fsprogs")
	if err != nil {
		return nil, err
	}
	if req.Size%4096 != 0 || req.Offset%512 != 0 {
		return nil, fmt.Errorf("ext4: size %d and offset %d must be multiples of 4096 and 512", req.Size, req.Offset)
	}
	conf, err := os.CreateTemp("", "tripleo-mke2fs-*.conf")
	if err != nil {
		return nil, err
	}
	defer os.Remove(conf.Name())
	if _, err := conf.WriteString(mke2fsConf); err != nil {
		conf.Close()
		return nil, err
	}
	if err := conf.Close(); err != nil {
		return nil, err
	}
	env := []string{
		"MKE2FS_CONFIG=" + conf.Name(),
		fmt.Sprintf("E2FSPROGS_FAKE_TIME=%d", req.Epoch),
		fmt.Sprintf("SOURCE_DATE_EPOCH=%d", req.Epoch),
		"MKE2FS_SYNC=0", "MKE2FS_DEVICE_SECTSIZE=512", "MKE2FS_DEVICE_PHYS_SECTSIZE=512",
		"LC_ALL=C",
	}
	label := req.Label
	if len(label) > 16 {
		label = label[:16]
	}
	args := []string{"-q", "-F", "-t", "ext4", "-b", "4096", "-L", label,
		"-U", uuidString(req.UUID),
		"-E", fmt.Sprintf("offset=%d,hash_seed=%s,root_owner=0:0,nodiscard,lazy_itable_init=1", req.Offset, uuidString(req.HashSeed)),
		"-d", req.Dir, req.Image, fmt.Sprintf("%dk", req.Size/1024)}
	if _, err := runTool(ctx, env, mkfs, args...); err != nil {
		return nil, fmt.Errorf("ext4: %w", err)
	}
	dev := fmt.Sprintf("%s?offset=%d", req.Image, req.Offset)
	if len(req.Fixups) > 0 {
		if err := applyFixups(ctx, env, dev, req.Fixups); err != nil {
			return nil, fmt.Errorf("ext4: %w", err)
		}
	}
	f, err := os.OpenFile(req.Image, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if err := normalizeExt4(f, req.Offset, req.Epoch); err != nil {
		f.Close()
		return nil, fmt.Errorf("ext4: normalize timestamps: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return &FSInfo{Type: "ext4", UUID: uuidString(req.UUID), Tool: toolVersion(ctx, mkfs, "-V")}, nil
}

// applyFixups sets owners and creates device nodes inside an ext4 image
// with debugfs, for trees staged without root privilege.
func applyFixups(ctx context.Context, env []string, dev string, fx []Fixup) error {
	debugfs, err := lookTool("debugfs", "e2fsprogs")
	if err != nil {
		return err
	}
	var script bytes.Buffer
	for _, f := range fx {
		p := "/" + f.Path
		if strings.ContainsAny(p, " \t\n\"") {
			return fmt.Errorf("fixup %q: path with spaces or quotes cannot be fixed without root", f.Path)
		}
		if f.Dev != nil {
			typ := "c"
			if f.Dev.Block {
				typ = "b"
			}
			// debugfs's mknod links a full path badly: make it in its
			// directory.
			dir, base := path.Split(p)
			fmt.Fprintf(&script, "rm %s\ncd %s\nmknod %s %s %d %d\ncd /\n", p, dir, base, typ, f.Dev.Major, f.Dev.Minor)
		}
		fmt.Fprintf(&script, "sif %s uid %d\nsif %s gid %d\n", p, f.UID, p, f.GID)
		if f.Mode != 0 {
			fmt.Fprintf(&script, "sif %s mode 0%o\n", p, f.Mode)
		}
	}
	sf, err := os.CreateTemp("", "tripleo-debugfs-*.txt")
	if err != nil {
		return err
	}
	defer os.Remove(sf.Name())
	if _, err := sf.Write(script.Bytes()); err != nil {
		sf.Close()
		return err
	}
	sf.Close()
	out, err := runTool(ctx, env, debugfs, "-w", "-f", sf.Name(), dev)
	if err != nil {
		return err
	}
	// debugfs reports command errors on its output but exits 0.
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "debugfs ") || strings.HasPrefix(l, "debugfs:") || strings.HasPrefix(l, "Allocated inode:") || strings.TrimSpace(l) == "" {
			continue
		}
		return fmt.Errorf("debugfs fixups: %s", strings.TrimSpace(l))
	}
	return nil
}

// Squashfs writes a read-only squashfs root with mksquashfs (optional;
// Debian package squashfs-tools). Times are clamped with -mkfs-time and
// -all-time, and fixups are not supported.
type Squashfs struct{}

// Type implements FSWriter.
func (Squashfs) Type() string { return "squashfs" }

// WriteFS implements FSWriter.
func (Squashfs) WriteFS(ctx context.Context, req *FSRequest) (*FSInfo, error) {
	mk, err := lookTool("mksquashfs", "squashfs-tools")
	if err != nil {
		return nil, err
	}
	if len(req.Fixups) > 0 {
		return nil, fmt.Errorf("squashfs: %d owners/device nodes need root to stage (first: %s): %w", len(req.Fixups), req.Fixups[0].Path, errors.ErrUnsupported)
	}
	tmp, err := os.CreateTemp(filepath.Dir(req.Image), ".squashfs-*")
	if err != nil {
		return nil, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if _, err := runTool(ctx, nil, mk, req.Dir, tmp.Name(), "-noappend", "-quiet", "-no-progress",
		"-mkfs-time", fmt.Sprint(req.Epoch), "-all-time", fmt.Sprint(req.Epoch), "-processors", "2"); err != nil {
		return nil, fmt.Errorf("squashfs: %w", err)
	}
	src, err := os.Open(tmp.Name())
	if err != nil {
		return nil, err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > req.Size {
		return nil, fmt.Errorf("squashfs: %d bytes do not fit the %d-byte root partition", st.Size(), req.Size)
	}
	dst, err := os.OpenFile(req.Image, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if _, err := copySparse(ctx, dst, req.Offset, src, st.Size(), nil); err != nil {
		dst.Close()
		return nil, fmt.Errorf("squashfs: %w", err)
	}
	if err := dst.Close(); err != nil {
		return nil, err
	}
	return &FSInfo{Type: "squashfs", Tool: toolVersion(ctx, mk, "-version")}, nil
}
