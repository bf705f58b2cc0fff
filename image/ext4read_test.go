package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"testing"
)

// ext4Seed is testdata/ext4/seed.img.gz: a 96 KiB ext4 (1 KiB blocks,
// extents, 64bit, metadata_csum, an htree directory made by e2fsck -D, a
// hard link, fast and slow symlinks, a sparse file, a FIFO, setuid).
func ext4Seed(tb testing.TB) []byte {
	tb.Helper()
	f, err := os.Open("testdata/ext4/seed.img.gz")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

var errTooBig = errors.New("file too big for the test")

// readAll walks the filesystem and reads every file and link, as
// ExtractRoot does, without writing anything.
func readAll(ctx context.Context, data []byte) (map[string]string, error) {
	f, err := openExt4(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	err = f.walk(ctx, func(rel string, in *ext4Inode) error {
		switch in.typ() {
		case sIFREG:
			var b bytes.Buffer
			err := f.readData(ctx, in, func(off int64, p []byte) error {
				if off+int64(len(p)) > 1<<20 {
					return errTooBig // a test helper limit, not the reader's
				}
				if int64(b.Len()) < off {
					b.Write(make([]byte, off-int64(b.Len())))
				}
				b.Write(p)
				return nil
			})
			out[rel] = b.String()
			return err
		case sIFLNK:
			t, err := f.symlink(ctx, in)
			out[rel] = "-> " + t
			return err
		}
		out[rel] = ""
		return nil
	})
	return out, err
}

func TestExt4Seed(t *testing.T) {
	got, err := readAll(t.Context(), ext4Seed(t))
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		"d/a": "hello\n", "d/hard": "hello\n", "d/fast": "-> a",
		"d/slow": "-> " + string(bytes.Repeat([]byte("x"), 100)), "big/file-with-a-long-name-040": "40\n",
	} {
		if got[p] != want {
			t.Errorf("%s = %q, want %q", p, got[p], want)
		}
	}
	if s := got["d/sparse"]; len(s) != 20<<10+5 || s[20<<10:] != "tail\n" {
		t.Errorf("d/sparse: %d bytes", len(s))
	}
	if len(got) != 7+2+40 { // d's 7 entries (sub included), d, big and its 40 files
		t.Errorf("%d entries: %v", len(got), got)
	}
}

// FuzzExt4 feeds corrupt filesystems to the reader: errors are fine,
// panics, hangs and huge allocations are not.
func FuzzExt4(f *testing.F) {
	f.Add(ext4Seed(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = readAll(t.Context(), data)
	})
}
