package image

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestStoreBuildTagListGC(t *testing.T) {
	s, err := OpenStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := smallSpec("st")
	spec.Outputs = Outputs{}
	a, err := s.Build(t.Context(), spec, NewTree(Entry{Path: "etc/a", Mode: 0o644, Data: []byte("a")}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("st:latest", a.Digest); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("st:latest")
	if err != nil || got.Digest != a.Digest {
		t.Fatalf("Get(tag) = %v, %v", got, err)
	}
	if _, err := os.Stat(got.Path(got.Raw)); err != nil {
		t.Fatal(err)
	}
	// A failed build leaves nothing behind.
	bad := smallSpec("st")
	bad.Elements = []string{"missing"}
	if _, err := s.Build(t.Context(), bad, NewTree(), nil); err == nil {
		t.Fatal("build with an unknown element succeeded")
	}
	tmps, _ := os.ReadDir(filepath.Join(s.dir, "tmp"))
	if len(tmps) != 0 {
		t.Errorf("failed build left %d entries in tmp", len(tmps))
	}
	b, err := s.Build(t.Context(), spec, NewTree(Entry{Path: "etc/b", Mode: 0o644, Data: []byte("b")}), nil)
	if err != nil {
		t.Fatal(err)
	}
	items, err := s.List()
	if err != nil || len(items) != 2 {
		t.Fatalf("List = %v, %v", items, err)
	}
	removed, err := s.GC(t.Context())
	if err != nil || len(removed) != 1 || removed[0] != b.Digest {
		t.Fatalf("GC removed %v, %v; want %s", removed, err, b.Digest)
	}
	if _, err := s.Get(b.Digest); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(collected) = %v, want ErrNotFound", err)
	}
	if err := s.Tag("bad tag", a.Digest); err == nil {
		t.Error("invalid tag accepted")
	}
}

func TestWriteImage(t *testing.T) {
	a := buildT(t, smallSpec("w"), NewTree(Entry{Path: "etc/a", Mode: 0o644, Data: []byte("a")}), nil)
	raw := a.Path(a.Raw)
	disk := filepath.Join(t.TempDir(), "node0.disk")
	// An old disk full of garbage, bigger than the image.
	f, _ := os.Create(disk)
	junk := make([]byte, 1<<20)
	for i := range junk {
		junk[i] = 0xAB
	}
	for off := int64(0); off < a.Manifest.Disk.Size+(4<<20); off += int64(len(junk)) {
		f.WriteAt(junk, off)
	}
	f.Close()
	var last int64
	d, err := WriteImage(t.Context(), disk, raw, &WriteOptions{Digest: a.Digest, Verify: true, Progress: func(done, total int64) { last = done }})
	if err != nil {
		t.Fatal(err)
	}
	if d != a.Digest || last != a.Manifest.Disk.Size {
		t.Errorf("digest %s, progress %d", d, last)
	}
	if _, err := WriteImage(t.Context(), disk, raw, &WriteOptions{Digest: "sha256:" + string(make([]byte, 0)) + "00"}); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("wrong digest: %v", err)
	}
	// NoDigest writes the same bytes without hashing them.
	other := filepath.Join(t.TempDir(), "node1.disk")
	os.WriteFile(other, junk, 0o644)
	os.Truncate(other, a.Manifest.Disk.Size+(1<<20))
	if d, err := WriteImage(t.Context(), other, raw, &WriteOptions{NoDigest: true}); err != nil || d != "" {
		t.Errorf("NoDigest: %q, %v", d, err)
	}
	if sum, err := sparseSHA256File(other, a.Manifest.Disk.Size); err != nil || "sha256:"+sum != a.Digest {
		t.Errorf("NoDigest write reads back as %s, %v; want %s", sum, err, a.Digest)
	}
	if _, err := WriteImage(t.Context(), other, raw, &WriteOptions{NoDigest: true, Verify: true}); err == nil {
		t.Error("NoDigest with Verify accepted")
	}
	small := filepath.Join(t.TempDir(), "small.disk")
	os.WriteFile(small, make([]byte, 4096), 0o644)
	if _, err := WriteImage(t.Context(), small, raw, nil); !errors.Is(err, ErrTargetTooSmall) {
		t.Errorf("small target: %v", err)
	}
}

// TestStoreAddAcrossFilesystems adds an artifact built on another
// filesystem (tmpfs), which rename cannot move.
func TestStoreAddAcrossFilesystems(t *testing.T) {
	shm, err := os.MkdirTemp("/dev/shm", "tripleo-")
	if err != nil {
		t.Skip("no /dev/shm:", err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	spec := smallSpec("xfs")
	spec.Outputs = Outputs{}
	a, err := Build(t.Context(), spec, NewTree(Entry{Path: "etc/a", Mode: 0o644, Data: []byte("a")}), shm, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Add(a)
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := fileSHA256(got.Path(got.Raw)); err != nil || "sha256:"+sum != a.Digest {
		t.Errorf("stored raw hashes to %s, %v; want %s", sum, err, a.Digest)
	}
}

// sparseSHA256File hashes the first size bytes of the file at path.
func sparseSHA256File(path string, size int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return sparseSHA256(f, size)
}
