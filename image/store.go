package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Store keeps built images on local disk by digest, with tags such as
// "overcloud:latest". Layout: DIR/sha256/<hex>/ holds an artifact's files
// (manifest.json, SHA256SUMS, NAME.raw, ...), DIR/tags.json maps tags to
// digests, DIR/tmp/ holds builds in progress. Writers take an flock on
// DIR/lock; every change is a rename, so a crash or a failed build leaves
// nothing half-made in the store.
type Store struct {
	dir string
	log *slog.Logger
}

// StoreOptions tunes OpenStore; nil means defaults.
type StoreOptions struct {
	// Logger receives records; nil discards them.
	Logger *slog.Logger
}

// ErrNotFound is returned for an unknown digest or tag.
var ErrNotFound = errors.New("not found")

// StoreItem is one artifact in a store.
type StoreItem struct {
	Digest string
	Name   string
	Tags   []string
	// Size is the bytes of its files on disk (apparent sizes).
	Size int64
}

// OpenStore opens (creating if needed) a store in dir.
func OpenStore(dir string, opts *StoreOptions) (*Store, error) {
	s := &Store{dir: dir, log: slog.New(slog.DiscardHandler)}
	if opts != nil && opts.Logger != nil {
		s.log = opts.Logger
	}
	for _, d := range []string{dir, filepath.Join(dir, "sha256"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("image: store: %w", err)
		}
	}
	return s, nil
}

func (s *Store) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("image: store lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("image: store lock: %w", err)
	}
	return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
}

func hexOf(digest string) (string, error) {
	h, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		return "", fmt.Errorf("image: store: %q is not a sha256:<hex> digest", digest)
	}
	return h, nil
}

// Build builds an image into the store: the outputs are made under the
// store's tmp directory and moved into place only when the build
// succeeded.
func (s *Store) Build(ctx context.Context, spec *Spec, src Source, opts *Options) (*Artifact, error) {
	tmp, err := os.MkdirTemp(filepath.Join(s.dir, "tmp"), "build-")
	if err != nil {
		return nil, fmt.Errorf("image: store: %w", err)
	}
	defer os.RemoveAll(tmp)
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.WorkDir == "" {
		o.WorkDir = tmp
	}
	a, err := Build(ctx, spec, src, filepath.Join(tmp, "out"), &o)
	if err != nil {
		return nil, err
	}
	return s.Add(a)
}

// Add moves a built artifact's files into the store (they leave a.Dir)
// and returns the stored artifact. Adding a digest already stored keeps
// the stored copy.
func (s *Store) Add(a *Artifact) (*Artifact, error) {
	h, err := hexOf(a.Digest)
	if err != nil {
		return nil, err
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	final := filepath.Join(s.dir, "sha256", h)
	if _, err := os.Stat(final); err == nil {
		return s.get(h)
	}
	stage, err := os.MkdirTemp(filepath.Join(s.dir, "tmp"), "add-")
	if err != nil {
		return nil, fmt.Errorf("image: store: %w", err)
	}
	defer os.RemoveAll(stage)
	for _, n := range []string{a.Raw, a.Qcow2, a.Tar, a.ManifestFile, a.Sums} {
		if n == "" {
			continue
		}
		if err := moveFile(a.Path(n), filepath.Join(stage, n)); err != nil {
			return nil, fmt.Errorf("image: store: add %s: %w", n, err)
		}
	}
	if err := os.Rename(stage, final); err != nil {
		return nil, fmt.Errorf("image: store: add: %w", err)
	}
	s.log.Info("stored image", "digest", a.Digest, "name", a.Manifest.Name)
	return s.get(h)
}

// Get returns the artifact for a digest or a tag.
func (s *Store) Get(ref string) (*Artifact, error) {
	d, err := s.Resolve(ref)
	if err != nil {
		return nil, err
	}
	h, _ := hexOf(d)
	return s.get(h)
}

func (s *Store) get(h string) (*Artifact, error) {
	dir := filepath.Join(s.dir, "sha256", h)
	m, err := ReadManifest(filepath.Join(dir, "manifest.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("image: store: sha256:%s: %w", h, ErrNotFound)
		}
		return nil, err
	}
	a := &Artifact{Digest: m.Digest, Dir: dir, ManifestFile: "manifest.json", Sums: "SHA256SUMS", Manifest: m}
	for _, o := range m.Outputs {
		switch o.Format {
		case "raw":
			a.Raw = o.File
		case "qcow2":
			a.Qcow2 = o.File
		case "tar":
			a.Tar = o.File
		}
	}
	return a, nil
}

func (s *Store) readTags() (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "tags.json"))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image: store tags: %w", err)
	}
	tags := map[string]string{}
	if err := json.Unmarshal(b, &tags); err != nil {
		return nil, fmt.Errorf("image: store tags %s: %w", filepath.Join(s.dir, "tags.json"), err)
	}
	return tags, nil
}

func (s *Store) writeTags(tags map[string]string) error {
	b, err := json.MarshalIndent(tags, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.dir, "tags.json.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("image: store tags: %w", err)
	}
	return os.Rename(tmp, filepath.Join(s.dir, "tags.json"))
}

// validTag accepts "name:tag" built from letters, digits, '.', '_' and '-'.
func validTag(tag string) bool {
	n, t, ok := strings.Cut(tag, ":")
	return ok && validName(n) && validName(t)
}

// Tag points tag (e.g. "overcloud:latest") at a stored digest.
func (s *Store) Tag(tag, digest string) error {
	if !validTag(tag) {
		return fmt.Errorf("image: store: tag %q is not name:tag", tag)
	}
	h, err := hexOf(digest)
	if err != nil {
		return err
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(s.dir, "sha256", h)); err != nil {
		return fmt.Errorf("image: store: tag %s: %s: %w", tag, digest, ErrNotFound)
	}
	tags, err := s.readTags()
	if err != nil {
		return err
	}
	tags[tag] = digest
	return s.writeTags(tags)
}

// Untag removes a tag.
func (s *Store) Untag(tag string) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	tags, err := s.readTags()
	if err != nil {
		return err
	}
	if _, ok := tags[tag]; !ok {
		return fmt.Errorf("image: store: tag %s: %w", tag, ErrNotFound)
	}
	delete(tags, tag)
	return s.writeTags(tags)
}

// Resolve turns a tag or a digest into a stored digest.
func (s *Store) Resolve(ref string) (string, error) {
	if strings.HasPrefix(ref, "sha256:") {
		h, err := hexOf(ref)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(filepath.Join(s.dir, "sha256", h)); err != nil {
			return "", fmt.Errorf("image: store: %s: %w", ref, ErrNotFound)
		}
		return ref, nil
	}
	tags, err := s.readTags()
	if err != nil {
		return "", err
	}
	d, ok := tags[ref]
	if !ok {
		return "", fmt.Errorf("image: store: tag %s: %w", ref, ErrNotFound)
	}
	return d, nil
}

// List returns the stored artifacts sorted by name, then digest.
func (s *Store) List() ([]StoreItem, error) {
	tags, err := s.readTags()
	if err != nil {
		return nil, err
	}
	byDigest := map[string][]string{}
	for t, d := range tags {
		byDigest[d] = append(byDigest[d], t)
	}
	ents, err := os.ReadDir(filepath.Join(s.dir, "sha256"))
	if err != nil {
		return nil, fmt.Errorf("image: store: %w", err)
	}
	var out []StoreItem
	for _, e := range ents {
		a, err := s.get(e.Name())
		if err != nil {
			continue
		}
		it := StoreItem{Digest: a.Digest, Name: a.Manifest.Name, Tags: byDigest[a.Digest]}
		sort.Strings(it.Tags)
		files, _ := os.ReadDir(a.Dir)
		for _, f := range files {
			if fi, err := f.Info(); err == nil {
				it.Size += fi.Size()
			}
		}
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Digest < out[j].Digest
	})
	return out, nil
}

// GC removes every artifact no tag points at, except those in keep
// (digests), and leftovers of interrupted builds. It returns the removed
// digests.
func (s *Store) GC(ctx context.Context, keep ...string) ([]string, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	tags, err := s.readTags()
	if err != nil {
		return nil, err
	}
	live := map[string]bool{}
	for _, d := range tags {
		live[d] = true
	}
	for _, d := range keep {
		live[d] = true
	}
	ents, err := os.ReadDir(filepath.Join(s.dir, "sha256"))
	if err != nil {
		return nil, fmt.Errorf("image: store gc: %w", err)
	}
	var removed []string
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		d := "sha256:" + e.Name()
		if live[d] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.dir, "sha256", e.Name())); err != nil {
			return removed, fmt.Errorf("image: store gc: %w", err)
		}
		removed = append(removed, d)
	}
	tmps, _ := os.ReadDir(filepath.Join(s.dir, "tmp"))
	for _, t := range tmps {
		if strings.HasPrefix(t.Name(), "add-") {
			os.RemoveAll(filepath.Join(s.dir, "tmp", t.Name()))
		}
	}
	return removed, nil
}

// moveFile renames, or copies (keeping holes) and removes when src is on
// another filesystem.
func moveFile(src, dst string) error {
	err := os.Rename(src, dst)
	if !errors.Is(err, unix.EXDEV) {
		return err
	}
	var st unix.Stat_t
	if err := unix.Stat(src, &st); err != nil {
		return err
	}
	if err := copyFile(src, dst, st.Size, st.Blocks); err != nil {
		os.Remove(dst)
		return err
	}
	if err := os.Chmod(dst, 0o644); err != nil {
		return err
	}
	return os.Remove(src)
}
