package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// WriteOptions tunes WriteImage; nil means defaults.
type WriteOptions struct {
	// Digest is the expected "sha256:<hex>" of the image; empty skips the
	// check (the digest is still computed and returned).
	Digest string
	// Progress, when set, gets the bytes covered so far and the total.
	Progress func(done, total int64)
	// Verify reads the target back after writing and checks its digest.
	Verify bool
	// NoDigest skips hashing (the returned digest is ""): for a source
	// already verified, such as a Store's content-addressed file, written
	// many times. Hashing covers the image's holes too, so for a mostly
	// sparse image it costs far more than the write. Digest and Verify
	// need the hash: with NoDigest they are an error.
	NoDigest bool
}

// ErrTargetTooSmall is returned when the target cannot hold the image.
var ErrTargetTooSmall = errors.New("target too small")

// ErrDigestMismatch is returned when the written data does not hash to
// the expected digest.
var ErrDigestMismatch = errors.New("digest mismatch")

// WriteImage streams the raw image at src onto target, an existing
// regular file (a simulated node's disk) or a block device, and returns
// the digest of what it wrote. Only the image's data extents are read;
// the target's bytes under the image's holes are punched out (files) or
// zeroed (devices), so the target reads back exactly as the image. It
// refuses a target smaller than the image, hashes while writing and
// fails with ErrDigestMismatch when opts.Digest does not match.
func WriteImage(ctx context.Context, target, src string, opts *WriteOptions) (string, error) {
	o := WriteOptions{}
	if opts != nil {
		o = *opts
	}
	if o.NoDigest && (o.Digest != "" || o.Verify) {
		return "", errors.New("image: write: NoDigest with Digest or Verify: they need the hash")
	}
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("image: write: %w", err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return "", fmt.Errorf("image: write: %w", err)
	}
	size := st.Size()
	out, err := os.OpenFile(target, os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("image: write: %w", err)
	}
	defer out.Close()
	tsize, err := out.Seek(0, io.SeekEnd)
	if err != nil {
		return "", fmt.Errorf("image: write: %s: %w", target, err)
	}
	if tsize < size {
		return "", fmt.Errorf("image: write: %s holds %d bytes, the image needs %d: %w", target, tsize, size, ErrTargetTooSmall)
	}
	tst, err := out.Stat()
	if err != nil {
		return "", err
	}
	isFile := tst.Mode().IsRegular()
	zero := func(off, n int64) error {
		if n <= 0 {
			return nil
		}
		if isFile {
			if err := unix.Fallocate(int(out.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n); err == nil {
				return nil
			}
		}
		for n > 0 {
			k := min(n, int64(len(zeroBuf)))
			if _, err := out.WriteAt(zeroBuf[:k], off); err != nil {
				return err
			}
			off, n = off+k, n-k
		}
		return nil
	}
	h := sha256.New()
	hashZeros := func(n int64) {
		for n > 0 && !o.NoDigest {
			k := min(n, int64(len(zeroBuf)))
			h.Write(zeroBuf[:k])
			n -= k
		}
	}
	buf := make([]byte, copyBuf)
	pos := int64(0)
	for _, ext := range dataExtents(in, size) {
		if err := zero(pos, ext[0]-pos); err != nil {
			return "", fmt.Errorf("image: write: %s: %w", target, err)
		}
		hashZeros(ext[0] - pos)
		for off := ext[0]; off < ext[1]; {
			if err := ctx.Err(); err != nil {
				return "", err
			}
			n := min(int64(len(buf)), ext[1]-off)
			if _, err := in.ReadAt(buf[:n], off); err != nil && !errors.Is(err, io.EOF) {
				return "", fmt.Errorf("image: write: read %s: %w", src, err)
			}
			if !o.NoDigest {
				h.Write(buf[:n])
			}
			if _, err := out.WriteAt(buf[:n], off); err != nil {
				return "", fmt.Errorf("image: write: %s at %d: %w", target, off, err)
			}
			off += n
			if o.Progress != nil {
				o.Progress(off, size)
			}
		}
		pos = ext[1]
	}
	if err := zero(pos, size-pos); err != nil {
		return "", fmt.Errorf("image: write: %s: %w", target, err)
	}
	hashZeros(size - pos)
	if err := out.Sync(); err != nil {
		return "", fmt.Errorf("image: write: %s: %w", target, err)
	}
	if o.Progress != nil {
		o.Progress(size, size)
	}
	if o.NoDigest {
		return "", nil
	}
	digest := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if o.Digest != "" && digest != o.Digest {
		return digest, fmt.Errorf("image: write: %s: wrote %s, want %s: %w", target, digest, o.Digest, ErrDigestMismatch)
	}
	if o.Verify {
		var sum string
		if isFile {
			sum, err = sparseSHA256(out, size)
		} else {
			hh := sha256.New()
			_, err = io.Copy(hh, io.NewSectionReader(out, 0, size))
			sum = hex.EncodeToString(hh.Sum(nil))
		}
		if err != nil {
			return digest, fmt.Errorf("image: write: verify %s: %w", target, err)
		}
		if "sha256:"+sum != digest {
			return digest, fmt.Errorf("image: write: %s reads back as sha256:%s, wrote %s: %w", target, sum, digest, ErrDigestMismatch)
		}
	}
	return digest, nil
}
