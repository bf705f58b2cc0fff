package image

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// outputs writes qcow2 and tar when asked, hashes everything and writes
// the manifest and SHA256SUMS into out.
func (b *builder) outputs(ctx context.Context, st *Staging, raw *os.File, out string, a *Artifact, m *Manifest) error {
	s := &b.spec
	// The raw digest is finished while the other outputs are written
	// (they only read the raw file).
	b.emit(PhaseDigest, a.Raw, 0, m.Disk.Size)
	b.rawHash.advance(m.Disk.Size)
	rawOut := len(m.Outputs)
	m.Outputs = append(m.Outputs, OutputInfo{File: a.Raw, Format: "raw", Size: m.Disk.Size})
	if s.Outputs.Qcow2 {
		a.Qcow2 = s.Name + ".qcow2"
		q, err := os.OpenFile(filepath.Join(out, a.Qcow2), os.O_CREATE|os.O_RDWR|os.O_EXCL, 0o644)
		if err != nil {
			return &BuildError{Phase: PhaseQcow2, Err: err}
		}
		defer q.Close()
		if err := WriteQcow2(ctx, q, raw, func(d, t int64) { b.emit(PhaseQcow2, a.Qcow2, d, t) }); err != nil {
			return &BuildError{Phase: PhaseQcow2, Subject: a.Qcow2, Err: err}
		}
		oi, err := hashOutput(q, a.Qcow2, "qcow2")
		if err != nil {
			return &BuildError{Phase: PhaseQcow2, Subject: a.Qcow2, Err: err}
		}
		m.Outputs = append(m.Outputs, oi)
	}
	if s.Outputs.Tar {
		a.Tar = s.Name + ".tar"
		b.emit(PhaseTar, a.Tar, 0, int64(m.Files))
		t, err := os.OpenFile(filepath.Join(out, a.Tar), os.O_CREATE|os.O_RDWR|os.O_EXCL, 0o644)
		if err != nil {
			return &BuildError{Phase: PhaseTar, Err: err}
		}
		defer t.Close()
		if err := WriteTar(ctx, t, st.Dir, s.SourceDateEpoch, st.Fixups()); err != nil {
			return &BuildError{Phase: PhaseTar, Subject: a.Tar, Err: err}
		}
		oi, err := hashOutput(t, a.Tar, "tar")
		if err != nil {
			return &BuildError{Phase: PhaseTar, Subject: a.Tar, Err: err}
		}
		m.Outputs = append(m.Outputs, oi)
	}
	rawSum, rawErr := b.rawHash.result()
	if rawErr != nil {
		return &BuildError{Phase: PhaseDigest, Subject: a.Raw, Err: rawErr}
	}
	m.Digest = "sha256:" + rawSum
	m.Outputs[rawOut].SHA256 = rawSum
	b.emit(PhaseManifest, a.ManifestFile, 0, 0)
	mb, err := m.Marshal()
	if err != nil {
		return &BuildError{Phase: PhaseManifest, Err: err}
	}
	if err := os.WriteFile(filepath.Join(out, a.ManifestFile), mb, 0o644); err != nil {
		return &BuildError{Phase: PhaseManifest, Err: err}
	}
	ms := sha256.Sum256(mb)
	var sums strings.Builder
	for _, o := range m.Outputs {
		fmt.Fprintf(&sums, "%s  %s\n", o.SHA256, o.File)
	}
	fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(ms[:]), a.ManifestFile)
	if err := os.WriteFile(filepath.Join(out, a.Sums), []byte(sums.String()), 0o644); err != nil {
		return &BuildError{Phase: PhaseManifest, Err: err}
	}
	a.Digest = m.Digest
	a.Manifest = m
	return nil
}

func hashOutput(f *os.File, name, format string) (OutputInfo, error) {
	st, err := f.Stat()
	if err != nil {
		return OutputInfo{}, err
	}
	sum, err := sparseSHA256(f, st.Size())
	if err != nil {
		return OutputInfo{}, err
	}
	return OutputInfo{File: name, Format: format, Size: st.Size(), SHA256: sum}, nil
}

// WriteTar writes the tree at dir as a deterministic PAX tar: entries in
// lexical order, owners numeric (no names), times clamped to epoch and no
// atime/ctime, hard links as links, xattrs as SCHILY.xattr records.
// fixups override owners and device nodes the tree could not hold.
func WriteTar(ctx context.Context, w io.Writer, dir string, epoch int64, fixups []Fixup) error {
	fx := map[string]Fixup{}
	for _, f := range fixups {
		fx[f.Path] = f
	}
	tw := tar.NewWriter(w)
	links := map[[2]uint64]string{}
	clampT := time.Unix(epoch, 0)
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		sst := new(unix.Stat_t)
		if err := unix.Lstat(p, sst); err != nil {
			return err
		}
		h := &tar.Header{Name: rel, Mode: int64(sst.Mode & 0o7777), Uid: int(sst.Uid), Gid: int(sst.Gid),
			ModTime: fi.ModTime().Truncate(time.Second), Format: tar.FormatPAX}
		if h.ModTime.After(clampT) {
			h.ModTime = clampT
		}
		switch {
		case fi.IsDir():
			h.Typeflag, h.Name = tar.TypeDir, rel+"/"
		case fi.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			h.Typeflag, h.Linkname = tar.TypeSymlink, t
		case fi.Mode().IsRegular():
			k := [2]uint64{sst.Dev, sst.Ino}
			if first, ok := links[k]; ok && sst.Nlink > 1 {
				h.Typeflag, h.Linkname = tar.TypeLink, first
				break
			}
			if sst.Nlink > 1 {
				links[k] = rel
			}
			h.Typeflag, h.Size = tar.TypeReg, fi.Size()
		case fi.Mode()&fs.ModeCharDevice != 0:
			h.Typeflag = tar.TypeChar
			h.Devmajor, h.Devminor = int64(unix.Major(sst.Rdev)), int64(unix.Minor(sst.Rdev))
		case fi.Mode()&fs.ModeDevice != 0:
			h.Typeflag = tar.TypeBlock
			h.Devmajor, h.Devminor = int64(unix.Major(sst.Rdev)), int64(unix.Minor(sst.Rdev))
		case fi.Mode()&fs.ModeNamedPipe != 0:
			h.Typeflag = tar.TypeFifo
		default:
			return nil // sockets are not archived
		}
		if f, ok := fx[rel]; ok {
			h.Uid, h.Gid = f.UID, f.GID
			if f.Mode != 0 {
				h.Mode = int64(f.Mode & 0o7777)
			}
			if f.Dev != nil {
				h.Typeflag, h.Size = tar.TypeChar, 0
				if f.Dev.Block {
					h.Typeflag = tar.TypeBlock
				}
				h.Devmajor, h.Devminor = int64(f.Dev.Major), int64(f.Dev.Minor)
			}
		}
		if x := readXattrs(p); len(x) > 0 {
			h.PAXRecords = map[string]string{}
			for k, v := range x {
				h.PAXRecords["SCHILY.xattr."+k] = v
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		if h.Typeflag == tar.TypeReg && h.Size > 0 {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.CopyN(tw, f, h.Size); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func readXattrs(p string) map[string]string {
	sz, err := unix.Llistxattr(p, nil)
	if err != nil || sz == 0 {
		return nil
	}
	buf := make([]byte, sz)
	sz, err = unix.Llistxattr(p, buf)
	if err != nil {
		return nil
	}
	names := strings.Split(strings.TrimRight(string(buf[:sz]), "\x00"), "\x00")
	sort.Strings(names)
	out := map[string]string{}
	for _, n := range names {
		if n == "" {
			continue
		}
		vs, err := unix.Lgetxattr(p, n, nil)
		if err != nil {
			continue
		}
		v := make([]byte, vs)
		if vs, err = unix.Lgetxattr(p, n, v); err == nil {
			out[n] = string(v[:vs])
		}
	}
	return out
}
