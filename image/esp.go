package image

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/diskfs/go-diskfs/backend"
	"github.com/diskfs/go-diskfs/filesystem/fat32"
)

// espFSSize works around go-diskfs bug 2 (see doc.go): fat32.Create sizes
// the FAT without the two reserved entries, so at some sizes the FAT
// cannot map the last clusters. It returns the largest filesystem size not
// above part (going down sector by sector) for which the FAT is big
// enough; the few sectors left over stay unused inside the partition.
func espFSSize(part int64) int64 {
	for size := part / sector * sector; size > part-64*sector; size -= sector {
		if fatLayoutOK(size) {
			return size
		}
	}
	return part
}

// fatLayoutOK repeats go-diskfs v1.9.4's FAT32 geometry and checks that
// the FAT has an entry for every cluster plus the two reserved ones.
func fatLayoutOK(size int64) bool {
	total := size / sector
	spc := int64(1)
	if size > 260*MiB {
		spc = 8
	}
	const reserved = 32
	denom := sector*spc + 8
	spf := (4*(total-reserved) + denom - 1) / denom
	data := total - reserved - 2*spf
	clusters := data / spc
	return spf*sector/4 >= clusters+2 && clusters >= 65525
}

// writeESP formats the ESP with go-diskfs and copies the tree at dir
// (the staged /boot/efi) into it, then repairs what go-diskfs gets wrong.
func writeESP(ctx context.Context, f *os.File, p PartitionInfo, dir string, epoch int64, volID uint32) error {
	size := espFSSize(p.Size)
	b := backend.Storage(&fileBackend{f})
	efs, err := fat32.Create(b, size, p.Start, sector, "ESP", true)
	if err != nil {
		return fmt.Errorf("partition ESP: format: %w", err)
	}
	if _, err := os.Stat(dir); err == nil {
		err := filepath.WalkDir(dir, func(hp string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, hp)
			if rel == "." {
				return nil
			}
			fp := "/" + filepath.ToSlash(rel)
			switch {
			case de.IsDir():
				return efs.Mkdir(fp)
			case de.Type().IsRegular():
				src, err := os.Open(hp)
				if err != nil {
					return err
				}
				defer src.Close()
				dst, err := efs.OpenFile(fp, os.O_CREATE|os.O_RDWR)
				if err != nil {
					return err
				}
				// One Write per file: go-diskfs extends the cluster
				// chain on every Write, scanning the FAT each time.
				data, err := io.ReadAll(src)
				if err != nil {
					return err
				}
				if _, err := dst.Write(data); err != nil {
					return err
				}
				return dst.Close()
			default:
				return fmt.Errorf("%s: only directories and regular files fit on FAT", rel)
			}
		})
		if err != nil {
			return fmt.Errorf("partition ESP: %w", err)
		}
	}
	if err := fixFAT(f, p.Start, epoch, volID); err != nil {
		return fmt.Errorf("partition ESP: repair: %w", err)
	}
	return nil
}

// fileBackend adapts an *os.File to go-diskfs's backend.Storage.
type fileBackend struct{ f *os.File }

func (b *fileBackend) Stat() (fs.FileInfo, error)                { return b.f.Stat() }
func (b *fileBackend) Read(p []byte) (int, error)                { return b.f.Read(p) }
func (b *fileBackend) Close() error                              { return nil }
func (b *fileBackend) ReadAt(p []byte, off int64) (int, error)   { return b.f.ReadAt(p, off) }
func (b *fileBackend) Seek(off int64, whence int) (int64, error) { return b.f.Seek(off, whence) }
func (b *fileBackend) Sys() (*os.File, error)                    { return b.f, nil }
func (b *fileBackend) Writable() (backend.WritableFile, error)   { return b.f, nil }
func (b *fileBackend) Path() string                              { return b.f.Name() }

// fatTime encodes t (UTC) as FAT date and time; FAT cannot go before 1980.
func fatTime(epoch int64) (date, tm uint16) {
	t := time.Unix(epoch, 0).UTC()
	if t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	date = uint16((t.Year()-1980)<<9 | int(t.Month())<<5 | t.Day())
	tm = uint16(t.Hour()<<11 | t.Minute()<<5 | t.Second()/2)
	return date, tm
}

// fixFAT walks every directory of the FAT32 filesystem at off and
//   - sets each ".." entry to its parent's first cluster, 0 for the root
//     (go-diskfs bug 1, see doc.go);
//   - sets every entry's creation, modification and access time to the
//     epoch (go-diskfs stamps entries with SOURCE_DATE_EPOCH read from the
//     process environment, or the wall clock, which a library must not
//     rely on);
//   - writes the volume id derived from the seed into the boot sector and
//     its backup (Reproducible mode leaves it 0).
func fixFAT(f *os.File, off, epoch int64, volID uint32) error {
	le := binary.LittleEndian
	bs := make([]byte, sector)
	if _, err := f.ReadAt(bs, off); err != nil {
		return err
	}
	bps := int64(le.Uint16(bs[0x0B:]))
	spc := int64(bs[0x0D])
	reserved := int64(le.Uint16(bs[0x0E:]))
	nfats := int64(bs[0x10])
	spf := int64(le.Uint32(bs[0x24:]))
	rootCl := le.Uint32(bs[0x2C:])
	backup := int64(le.Uint16(bs[0x32:]))
	if bps != sector || spc == 0 || string(bs[0x52:0x57]) != "FAT32" {
		return errors.New("not a FAT32 filesystem")
	}
	for _, s := range []int64{0, backup} {
		var v [4]byte
		le.PutUint32(v[:], volID)
		if _, err := f.WriteAt(v[:], off+s*bps+0x43); err != nil {
			return err
		}
	}
	fat := make([]byte, spf*bps)
	if _, err := f.ReadAt(fat, off+reserved*bps); err != nil {
		return err
	}
	clusterBytes := spc * bps
	dataOff := off + (reserved+nfats*spf)*bps
	clOff := func(c uint32) int64 { return dataOff + int64(c-2)*clusterBytes }
	maxCl := uint32(len(fat) / 4)
	chain := func(c uint32) ([]uint32, error) {
		var out []uint32
		for c >= 2 && c < 0x0FFFFFF8 {
			if c >= maxCl || len(out) > int(maxCl) {
				return nil, fmt.Errorf("bad cluster chain at %d", c)
			}
			out = append(out, c)
			c = le.Uint32(fat[c*4:]) & 0x0FFFFFFF
		}
		return out, nil
	}
	date, tm := fatTime(epoch)
	type dir struct{ cl, parent uint32 }
	queue := []dir{{rootCl, 0}}
	buf := make([]byte, clusterBytes)
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		cls, err := chain(d.cl)
		if err != nil {
			return err
		}
	clusters:
		for _, c := range cls {
			if _, err := f.ReadAt(buf, clOff(c)); err != nil {
				return err
			}
			end := false
			for i := int64(0); i < clusterBytes; i += 32 {
				e := buf[i : i+32]
				if e[0] == 0 {
					end = true
					break
				}
				if e[0] == 0xE5 || e[0x0B] == 0x0F {
					continue
				}
				e[0x0D] = 0
				le.PutUint16(e[0x0E:], tm)
				le.PutUint16(e[0x10:], date)
				le.PutUint16(e[0x12:], date)
				le.PutUint16(e[0x16:], tm)
				le.PutUint16(e[0x18:], date)
				if e[0x0B]&0x10 == 0 {
					continue
				}
				name := string(e[0:11])
				switch name {
				case ".          ":
					setCluster(e, d.cl)
				case "..         ":
					parent := d.parent
					if parent == rootCl {
						parent = 0
					}
					setCluster(e, parent)
				default:
					child := uint32(le.Uint16(e[0x14:]))<<16 | uint32(le.Uint16(e[0x1A:]))
					queue = append(queue, dir{child, d.cl})
				}
			}
			if _, err := f.WriteAt(buf, clOff(c)); err != nil {
				return err
			}
			if end {
				break clusters
			}
		}
	}
	return nil
}

func setCluster(e []byte, c uint32) {
	binary.LittleEndian.PutUint16(e[0x14:], uint16(c>>16))
	binary.LittleEndian.PutUint16(e[0x1A:], uint16(c))
}

// loaderEntry writes a systemd-boot entry for the kernel found at the top
// of the ESP tree (vmlinuz*, with initrd*), unless loader/entries exists.
func loaderEntry(espDir, name, cmdline string) error {
	if _, err := os.Stat(filepath.Join(espDir, "loader", "entries")); err == nil {
		return nil
	}
	ents, err := os.ReadDir(espDir)
	if err != nil {
		return nil //nolint:nilerr // no ESP tree: nothing to boot
	}
	var kernel, initrd string
	for _, e := range ents {
		n := e.Name()
		switch {
		case kernel == "" && strings.HasPrefix(n, "vmlinuz") && e.Type().IsRegular():
			kernel = n
		case initrd == "" && strings.HasPrefix(n, "initrd") && e.Type().IsRegular():
			initrd = n
		}
	}
	if kernel == "" {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "title %s\nlinux /%s\n", name, kernel)
	if initrd != "" {
		fmt.Fprintf(&b, "initrd /%s\n", initrd)
	}
	fmt.Fprintf(&b, "options %s\n", cmdline)
	if err := os.MkdirAll(filepath.Join(espDir, "loader", "entries"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(espDir, "loader", "entries", name+".conf"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(espDir, "loader", "loader.conf"), []byte("default "+name+".conf\ntimeout 0\n"), 0o644)
}
