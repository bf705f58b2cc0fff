package image

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/diskfs/go-diskfs/filesystem/ext4"
	"github.com/google/uuid"
	"golang.org/x/sys/unix"
)

// Ext4Go writes ext4 with go-diskfs in pure Go, for hosts without
// e2fsprogs. Limits (go-diskfs v1.9.4): slow (about 10x mkfs.ext4 -d),
// quadratic in large directories, no hard links, device nodes or xattrs
// (a tree holding them is an error), and not reproducible (it stamps the
// wall clock and a random directory hash seed).
type Ext4Go struct{}

// Type implements FSWriter.
func (Ext4Go) Type() string { return "ext4" }

// WriteFS implements FSWriter.
func (Ext4Go) WriteFS(ctx context.Context, req *FSRequest) (*FSInfo, error) {
	if len(req.Fixups) > 0 {
		return nil, fmt.Errorf("ext4-go: %s: owners and device nodes need root to stage", req.Fixups[0].Path)
	}
	f, err := os.OpenFile(req.Image, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	u := uuid.UUID(req.UUID)
	efs, err := ext4.Create(&fileBackend{f}, req.Size, req.Offset, sector, &ext4.Params{UUID: &u, VolumeName: req.Label})
	if err != nil {
		return nil, fmt.Errorf("ext4-go: create: %w", err)
	}
	seen := map[uint64]bool{}
	err = filepath.WalkDir(req.Dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(req.Dir, p)
		if rel == "." {
			return nil
		}
		fp := filepath.ToSlash(rel) // go-diskfs wants io/fs paths
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if err := efs.Mkdir(fp); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		case unix.S_IFLNK:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := efs.Symlink(t, fp); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			return nil
		case unix.S_IFREG:
			if st.Nlink > 1 {
				if seen[st.Ino] {
					return fmt.Errorf("%s: hard links are not supported by the go-diskfs ext4 writer", rel)
				}
				seen[st.Ino] = true
			}
			src, err := os.Open(p)
			if err != nil {
				return err
			}
			defer src.Close()
			dst, err := efs.OpenFile(fp, os.O_CREATE|os.O_RDWR)
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			if _, err := io.Copy(dst, src); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			if err := dst.Close(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: special files are not supported by the go-diskfs ext4 writer", rel)
		}
		if err := efs.Chown(fp, int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		if err := efs.Chmod(fp, fs.FileMode(st.Mode&0o777)); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		t := time.Unix(min(st.Mtim.Sec, req.Epoch), 0)
		return efs.Chtimes(fp, t, t, t)
	})
	if err != nil {
		return nil, fmt.Errorf("ext4-go: %w", err)
	}
	return &FSInfo{Type: "ext4", UUID: uuidString(req.UUID), Tool: "go-diskfs v1.9.4"}, nil
}
