package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

const copyBuf = 1 << 20

// dataExtents returns the [start, end) ranges of f below size that may hold
// data, using SEEK_DATA/SEEK_HOLE; a filesystem without them yields one
// extent covering everything.
func dataExtents(f *os.File, size int64) [][2]int64 {
	var out [][2]int64
	fd := int(f.Fd())
	for off := int64(0); off < size; {
		d, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if err != nil {
			if errors.Is(err, unix.ENXIO) {
				break // only a hole remains
			}
			return [][2]int64{{0, size}}
		}
		if d >= size {
			break
		}
		h, err := unix.Seek(fd, d, unix.SEEK_HOLE)
		if err != nil || h > size {
			h = size
		}
		out = append(out, [2]int64{d, h})
		off = h
	}
	return out
}

// copySparse copies size bytes of src to dst at dstOff, skipping holes of
// src and blocks of zeros (dst is assumed zero there: a new sparse file).
// progress, when not nil, gets the bytes covered so far.
func copySparse(ctx context.Context, dst io.WriterAt, dstOff int64, src *os.File, size int64, progress func(int64)) (int64, error) {
	buf := make([]byte, copyBuf)
	var written int64
	for _, ext := range dataExtents(src, size) {
		for off := ext[0]; off < ext[1]; {
			if err := ctx.Err(); err != nil {
				return written, err
			}
			n := min(int64(len(buf)), ext[1]-off)
			if _, err := src.ReadAt(buf[:n], off); err != nil && err != io.EOF {
				return written, err
			}
			if !isZero(buf[:n]) {
				if _, err := dst.WriteAt(buf[:n], dstOff+off); err != nil {
					return written, err
				}
				written += n
			}
			off += n
			if progress != nil {
				progress(off)
			}
		}
	}
	return written, nil
}

func isZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// fileSHA256 hashes a file, reading only its data extents and hashing
// holes as zeros without reading them.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	return sparseSHA256(f, st.Size())
}

var zeroBuf = make([]byte, copyBuf)

func sparseSHA256(f *os.File, size int64) (string, error) {
	h := sha256.New()
	buf := make([]byte, copyBuf)
	pos := int64(0)
	zeros := func(n int64) {
		for n > 0 {
			k := min(n, int64(len(zeroBuf)))
			h.Write(zeroBuf[:k])
			n -= k
		}
	}
	for _, ext := range dataExtents(f, size) {
		zeros(ext[0] - pos)
		for off := ext[0]; off < ext[1]; {
			n := min(int64(len(buf)), ext[1]-off)
			if _, err := f.ReadAt(buf[:n], off); err != nil && err != io.EOF {
				return "", err
			}
			h.Write(buf[:n])
			off += n
		}
		pos = ext[1]
	}
	zeros(size - pos)
	return hex.EncodeToString(h.Sum(nil)), nil
}
