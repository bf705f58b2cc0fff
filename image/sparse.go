package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

const copyBuf = 1 << 20

// dataExtents returns the [start, end) ranges of f below size that may hold
// data, using SEEK_DATA/SEEK_HOLE; a filesystem without them yields one
// extent covering everything.
func dataExtents(f *os.File, size int64) [][2]int64 {
	return dataExtentsIn(f, 0, size)
}

// dataExtentsIn is dataExtents for the range [from, size).
func dataExtentsIn(f *os.File, from, size int64) [][2]int64 {
	var out [][2]int64
	fd := int(f.Fd())
	for off := from; off < size; {
		d, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if err != nil {
			if errors.Is(err, unix.ENXIO) {
				break // only a hole remains
			}
			return [][2]int64{{from, size}}
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
	h := newRegionHasher(f)
	if err := h.hashTo(size); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.h.Sum(nil)), nil
}

// regionHasher hashes a file front to back in steps, so the part of an
// image that is final can be hashed while a later part is still being
// written. Holes are hashed as zeros without being read.
type regionHasher struct {
	f   *os.File
	h   hash.Hash
	pos int64
	buf []byte
}

func newRegionHasher(f *os.File) *regionHasher {
	return &regionHasher{f: f, h: sha256.New(), buf: make([]byte, copyBuf)}
}

func (r *regionHasher) zeros(n int64) {
	for n > 0 {
		k := min(n, int64(len(zeroBuf)))
		r.h.Write(zeroBuf[:k])
		n -= k
	}
}

// hashTo hashes [pos, end).
func (r *regionHasher) hashTo(end int64) error {
	for _, ext := range dataExtentsIn(r.f, r.pos, end) {
		r.zeros(ext[0] - r.pos)
		for off := ext[0]; off < ext[1]; {
			n := min(int64(len(r.buf)), ext[1]-off)
			if _, err := r.f.ReadAt(r.buf[:n], off); err != nil && err != io.EOF {
				return err
			}
			r.h.Write(r.buf[:n])
			off += n
		}
		r.pos = ext[1]
	}
	r.zeros(end - r.pos)
	r.pos = end
	return nil
}

// pipelinedHash runs a regionHasher in a goroutine: advance(end) queues
// [previous end, end), result waits for everything queued and returns the
// hex digest. stop must be called on every path (it is idempotent).
type pipelinedHash struct {
	steps chan int64
	done  chan struct{}
	sum   string
	err   error
	once  sync.Once
}

func startHash(f *os.File) *pipelinedHash {
	p := &pipelinedHash{steps: make(chan int64, 8), done: make(chan struct{})}
	r := newRegionHasher(f)
	go func() {
		defer close(p.done)
		for end := range p.steps {
			if p.err == nil {
				p.err = r.hashTo(end)
			}
		}
		if p.err == nil {
			p.sum = hex.EncodeToString(r.h.Sum(nil))
		}
	}()
	return p
}

func (p *pipelinedHash) advance(end int64) { p.steps <- end }

func (p *pipelinedHash) stop() { p.once.Do(func() { close(p.steps) }); <-p.done }

func (p *pipelinedHash) result() (string, error) {
	p.stop()
	return p.sum, p.err
}
