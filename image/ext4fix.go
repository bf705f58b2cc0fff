package image

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cRaw is the kernel's crc32c_le (no pre/post inversion), which ext4
// uses for metadata checksums.
func crc32cRaw(crc uint32, p []byte) uint32 {
	return ^crc32.Update(^crc, castagnoli, p)
}

// normalizeExt4 sets atime, ctime and crtime of every used inode of the
// ext4 filesystem at off to epoch, clamps mtime to epoch, zeroes the
// sub-second parts and recomputes the inode checksums. mkfs.ext4 -d copies
// atime and ctime from the staging tree (ctime cannot be set from user
// space), so without this pass two builds of the same tree differ.
func normalizeExt4(f io.ReaderAt, off, epoch int64) error {
	w, ok := f.(io.WriterAt)
	if !ok {
		return errors.New("not writable")
	}
	sb := make([]byte, 1024)
	if _, err := f.ReadAt(sb, off+1024); err != nil {
		return fmt.Errorf("read superblock: %w", err)
	}
	le := binary.LittleEndian
	if le.Uint16(sb[0x38:]) != 0xEF53 {
		return errors.New("no ext4 superblock")
	}
	blockSize := int64(1024) << le.Uint32(sb[0x18:])
	firstData := int64(le.Uint32(sb[0x14:]))
	blocks := int64(le.Uint32(sb[0x04:]))
	incompat := le.Uint32(sb[0x60:])
	roCompat := le.Uint32(sb[0x64:])
	if incompat&0x80 != 0 {
		blocks |= int64(le.Uint32(sb[0x150:])) << 32
	}
	bpg := int64(le.Uint32(sb[0x20:]))
	ipg := int64(le.Uint32(sb[0x28:]))
	inodeSize := int64(le.Uint16(sb[0x58:]))
	descSize := int64(32)
	if incompat&0x80 != 0 {
		descSize = int64(le.Uint16(sb[0xFE:]))
	}
	if bpg == 0 || ipg == 0 || inodeSize < 128 || descSize < 32 {
		return errors.New("corrupt superblock")
	}
	csum := roCompat&0x400 != 0
	groupCsum := csum || roCompat&0x10 != 0
	var seed uint32
	if csum {
		if incompat&0x2000 != 0 {
			seed = le.Uint32(sb[0x270:])
		} else {
			seed = crc32cRaw(^uint32(0), sb[0x68:0x78])
		}
	}
	groups := (blocks - firstData + bpg - 1) / bpg
	// Superblock times: E2FSPROGS_FAKE_TIME=0 means "no fake time" to
	// e2fsprogs, so an epoch of 0 would leave the wall clock in the
	// primary and backup superblocks; set them here for every epoch.
	sparse := roCompat&0x1 != 0
	for g := range groups {
		if g > 1 && sparse && !isPowerOf(g, 3) && !isPowerOf(g, 5) && !isPowerOf(g, 7) {
			continue
		}
		pos := off + 1024
		if g > 0 {
			pos = off + (g*bpg+firstData)*blockSize
		}
		b := sb
		if g > 0 {
			b = make([]byte, 1024)
			if _, err := f.ReadAt(b, pos); err != nil {
				return fmt.Errorf("read superblock of group %d: %w", g, err)
			}
			if le.Uint16(b[0x38:]) != 0xEF53 {
				continue
			}
		}
		for _, o := range []int{0x2C, 0x30, 0x40, 0x108} {
			le.PutUint32(b[o:], uint32(epoch))
		}
		for _, o := range []int{0x274, 0x275, 0x276, 0x277} {
			b[o] = 0
		}
		if csum {
			le.PutUint32(b[0x3FC:], crc32cRaw(^uint32(0), b[:0x3FC]))
		}
		if _, err := w.WriteAt(b, pos); err != nil {
			return fmt.Errorf("write superblock of group %d: %w", g, err)
		}
	}
	gdt := make([]byte, groups*descSize)
	if _, err := f.ReadAt(gdt, off+(firstData+1)*blockSize); err != nil {
		return fmt.Errorf("read group descriptors: %w", err)
	}
	ep := uint32(epoch)
	table := make([]byte, ipg*inodeSize)
	for g := range groups {
		d := gdt[g*descSize : (g+1)*descSize]
		flags := le.Uint16(d[0x12:])
		if groupCsum && flags&1 != 0 { // INODE_UNINIT
			continue
		}
		itab := int64(le.Uint32(d[0x08:]))
		unused := int64(le.Uint16(d[0x1C:]))
		if descSize >= 64 {
			itab |= int64(le.Uint32(d[0x28:])) << 32
			unused |= int64(le.Uint16(d[0x32:])) << 16
		}
		n := ipg
		if groupCsum {
			n = ipg - unused
		}
		if n <= 0 {
			continue
		}
		buf := table[:n*inodeSize]
		pos := off + itab*blockSize
		if _, err := f.ReadAt(buf, pos); err != nil {
			return fmt.Errorf("read inode table of group %d: %w", g, err)
		}
		changed := false
		for i := range n {
			ino := buf[i*inodeSize : (i+1)*inodeSize]
			if le.Uint16(ino[0x1A:]) == 0 && le.Uint16(ino[0:]) == 0 &&
				le.Uint32(ino[0x08:]) == 0 && le.Uint32(ino[0x0C:]) == 0 && le.Uint32(ino[0x10:]) == 0 {
				continue // unused (the bad-blocks inode 1 has times but no mode)
			}
			if le.Uint32(ino[0x14:]) != 0 {
				continue // deleted
			}
			le.PutUint32(ino[0x08:], ep)
			le.PutUint32(ino[0x0C:], ep)
			if le.Uint32(ino[0x10:]) > ep {
				le.PutUint32(ino[0x10:], ep)
			}
			extra := int64(0)
			if inodeSize > 128 {
				extra = int64(le.Uint16(ino[0x80:]))
			}
			end := 128 + extra
			for _, o := range []int64{0x84, 0x88, 0x8C, 0x94} {
				if o+4 <= end {
					le.PutUint32(ino[o:], 0)
				}
			}
			if 0x94 <= end {
				le.PutUint32(ino[0x90:], ep)
			}
			if csum {
				inum := uint32(g*ipg + i + 1)
				var hdr [8]byte
				le.PutUint32(hdr[0:], inum)
				le.PutUint32(hdr[4:], le.Uint32(ino[0x64:]))
				hasHi := end >= 0x84
				le.PutUint16(ino[0x7C:], 0)
				if hasHi {
					le.PutUint16(ino[0x82:], 0)
				}
				c := crc32cRaw(crc32cRaw(seed, hdr[:]), ino)
				le.PutUint16(ino[0x7C:], uint16(c))
				if hasHi {
					le.PutUint16(ino[0x82:], uint16(c>>16))
				}
			}
			changed = true
		}
		if changed {
			if _, err := w.WriteAt(buf, pos); err != nil {
				return fmt.Errorf("write inode table of group %d: %w", g, err)
			}
		}
	}
	return nil
}

func isPowerOf(n, base int64) bool {
	for n > 1 && n%base == 0 {
		n /= base
	}
	return n == 1
}
