package image

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

// Options tunes Build. The zero value (or nil) builds with the defaults.
type Options struct {
	// Logger receives debug and info records; nil discards them.
	Logger *slog.Logger
	// Progress, when set, is called synchronously with build events.
	Progress func(Event)
	// Elements is the set the spec's element names are resolved in.
	Elements []*Element
	// RootWriter overrides the root filesystem writer chosen by
	// spec.Layout.RootFS.
	RootWriter FSWriter
	// WorkDir is where the staging tree is made; empty means a temporary
	// directory beside the output directory (so renames stay on one
	// filesystem).
	WorkDir string

	// unprivileged stages as a user without root would (owners and
	// device nodes become fixups); for tests run as root.
	unprivileged bool
}

// Phase is a build step reported in progress events.
type Phase string

// Build phases, in order.
const (
	PhaseStage    Phase = "stage"    // root source copied into the staging tree
	PhaseElements Phase = "elements" // element hooks and overlays
	PhaseExclude  Phase = "exclude"  // configuration and state removed
	PhaseGPT      Phase = "gpt"      // partition table
	PhaseESP      Phase = "esp"      // EFI system partition
	PhaseRootFS   Phase = "rootfs"   // root filesystem
	PhaseQcow2    Phase = "qcow2"
	PhaseTar      Phase = "tar"
	PhaseDigest   Phase = "digest"
	PhaseManifest Phase = "manifest"
	PhaseDone     Phase = "done"
)

// Event is one progress report.
type Event struct {
	Phase Phase
	// Message says what happens, e.g. the element or partition at work.
	Message string
	// Done and Total count bytes or items when known (Total 0: unknown).
	Done, Total int64
	// Elapsed is the time since the build started.
	Elapsed time.Duration
}

// Artifact is a built image on disk.
type Artifact struct {
	// Digest is "sha256:<hex>" of the raw disk.
	Digest string
	// Dir holds the files below.
	Dir string
	// Raw, Qcow2, Tar, ManifestFile and Sums are file names inside Dir
	// (Qcow2 and Tar are empty when not requested).
	Raw, Qcow2, Tar, ManifestFile, Sums string
	// Manifest is the parsed manifest.
	Manifest *Manifest
}

// Path returns the absolute path of one of the artifact's file names.
func (a *Artifact) Path(name string) string { return filepath.Join(a.Dir, name) }

// BuildError names the build phase and the element, file or partition at
// fault.
type BuildError struct {
	Phase Phase
	// Subject is the element, file or partition at fault, if known.
	Subject string
	Err     error
}

// Error implements error.
func (e *BuildError) Error() string {
	if e.Subject != "" {
		return fmt.Sprintf("image: build: %s: %s: %v", e.Phase, e.Subject, e.Err)
	}
	return fmt.Sprintf("image: build: %s: %v", e.Phase, e.Err)
}

// Unwrap returns the underlying error, for errors.Is and errors.As.
func (e *BuildError) Unwrap() error { return e.Err }

type builder struct {
	spec    Spec
	opts    Options
	log     *slog.Logger
	start   time.Time
	tools   map[string]string
	outDir  string
	rawHash *pipelinedHash
}

func (b *builder) emit(p Phase, msg string, done, total int64) {
	b.log.Debug("build", "phase", string(p), "msg", msg, "done", done, "total", total)
	if b.opts.Progress != nil {
		b.opts.Progress(Event{Phase: p, Message: msg, Done: done, Total: total, Elapsed: time.Since(b.start)})
	}
}

// Build makes the image described by spec from the root source src and
// writes its outputs into outDir: NAME.raw, NAME.qcow2 and NAME.tar when
// requested, manifest.json and SHA256SUMS. Nothing is left in outDir when
// it fails. It needs no root privilege, loop device or mount.
func Build(ctx context.Context, spec *Spec, src Source, outDir string, opts *Options) (*Artifact, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	b := &builder{spec: spec.normalized(), start: time.Now(), tools: map[string]string{"go-diskfs": diskfsVersion()}, outDir: outDir}
	if opts != nil {
		b.opts = *opts
	}
	b.log = b.opts.Logger
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("image: build: %w", err)
	}
	work := b.opts.WorkDir
	if work == "" {
		work = outDir
	}
	tmp, err := os.MkdirTemp(work, ".tripleo-build-*")
	if err != nil {
		return nil, fmt.Errorf("image: build: %w", err)
	}
	defer os.RemoveAll(tmp)
	a, err := b.build(ctx, src, tmp)
	if err != nil {
		return nil, err
	}
	// Publish: rename every output into place, the manifest and sums last.
	for _, name := range []string{a.Raw, a.Qcow2, a.Tar, a.ManifestFile, a.Sums} {
		if name == "" {
			continue
		}
		if err := os.Rename(filepath.Join(tmp, "out", name), filepath.Join(outDir, name)); err != nil {
			return nil, fmt.Errorf("image: build: publish %s: %w", name, err)
		}
	}
	a.Dir = outDir
	b.emit(PhaseDone, a.Digest, 0, 0)
	return a, nil
}

func (b *builder) build(ctx context.Context, src Source, tmp string) (*Artifact, error) {
	s := &b.spec
	plan, err := s.plan()
	if err != nil {
		return nil, err
	}
	root := plan.Parts[1]
	if s.KernelCmdline == "" {
		s.KernelCmdline = "root=PARTUUID=" + strings.ToLower(root.GUID) + " rw console=ttyS0"
	}
	elems, err := resolveElements(s.Elements, b.opts.Elements)
	if err != nil {
		return nil, &BuildError{Phase: PhaseElements, Err: err}
	}

	// Stage the root tree.
	st := newStaging(filepath.Join(tmp, "root"))
	st.share = true
	if b.opts.unprivileged {
		st.root = false
	}
	for _, e := range elems {
		if len(e.Hooks) > 0 {
			st.share = false // a hook might write into a shared file
		}
	}
	if err := os.Mkdir(st.Dir, 0o755); err != nil {
		return nil, err
	}
	b.emit(PhaseStage, src.Describe().Kind, 0, 0)
	if err := src.Populate(ctx, st); err != nil {
		return nil, &BuildError{Phase: PhaseStage, Subject: src.Describe().Path, Err: err}
	}
	records, packages, err := b.applyElements(ctx, st, elems)
	if err != nil {
		return nil, err
	}
	b.emit(PhaseExclude, "", 0, 0)
	excluded, err := excludeState(st, s.StatePaths, s.KeepState)
	if err != nil {
		return nil, &BuildError{Phase: PhaseExclude, Err: err}
	}
	espDir := filepath.Join(st.Dir, "boot", "efi")
	if err := st.checkParents("boot/efi/loader/entries/x"); err != nil {
		return nil, &BuildError{Phase: PhaseESP, Subject: "/boot/efi", Err: err}
	}
	if err := loaderEntry(espDir, s.Name, s.KernelCmdline); err != nil {
		return nil, &BuildError{Phase: PhaseESP, Subject: "loader entry", Err: err}
	}

	out := filepath.Join(tmp, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		return nil, err
	}
	a := &Artifact{Raw: s.Name + ".raw", ManifestFile: "manifest.json", Sums: "SHA256SUMS"}
	rawPath := filepath.Join(out, a.Raw)
	raw, err := os.OpenFile(rawPath, os.O_CREATE|os.O_RDWR|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	if err := raw.Truncate(plan.Size); err != nil {
		return nil, &BuildError{Phase: PhaseGPT, Err: err}
	}

	b.emit(PhaseGPT, "", 0, int64(len(plan.Parts)))
	if err := writeGPT(raw, plan); err != nil {
		return nil, &BuildError{Phase: PhaseGPT, Err: err}
	}

	esp := &plan.Parts[0]
	volID := deriveUUID(s.Seed, "fs:ESP")
	esp.FSUUID = fmt.Sprintf("%02X%02X-%02X%02X", volID[3], volID[2], volID[1], volID[0])
	b.emit(PhaseESP, "ESP", 0, esp.Size)
	if err := writeESP(ctx, raw, *esp, espDir, s.SourceDateEpoch, uint32(volID[0])|uint32(volID[1])<<8|uint32(volID[2])<<16|uint32(volID[3])<<24); err != nil {
		return nil, &BuildError{Phase: PhaseESP, Subject: "partition 1 (ESP)", Err: err}
	}
	// Everything before the root partition is final: hash it while the
	// root filesystem is written. (No fsync is needed anywhere: the
	// writers and readers share the page cache.)
	b.rawHash = startHash(raw)
	defer b.rawHash.stop()
	b.rawHash.advance(root.Start)
	// The ESP's files live on the ESP, not in the root's /boot/efi.
	if err := emptyDir(espDir); err != nil {
		return nil, &BuildError{Phase: PhaseESP, Err: err}
	}

	files, bytes, err := countTree(st.Dir)
	if err != nil {
		return nil, &BuildError{Phase: PhaseRootFS, Err: err}
	}
	var dpkg []DpkgPackage
	if st.checkParents("var/lib/dpkg/status") == nil {
		dpkg, err = readDpkgStatus(st.Dir)
	}
	if err != nil {
		return nil, &BuildError{Phase: PhaseStage, Subject: "var/lib/dpkg/status", Err: err}
	}
	w, err := b.rootWriter()
	if err != nil {
		return nil, &BuildError{Phase: PhaseRootFS, Err: err}
	}
	b.emit(PhaseRootFS, "partition 2 (root) "+w.Type(), 0, int64(files))
	rootUUID := deriveUUID(s.Seed, "fs:root")
	info, err := w.WriteFS(ctx, &FSRequest{Dir: st.Dir, Image: rawPath, Offset: root.Start, Size: root.Size,
		UUID: rootUUID, HashSeed: deriveUUID(s.Seed, "fs:root:hash"), Label: "root",
		Epoch: s.SourceDateEpoch, Fixups: st.Fixups()})
	if err != nil {
		return nil, &BuildError{Phase: PhaseRootFS, Subject: "partition 2 (root)", Err: err}
	}
	plan.Parts[1].FSUUID = info.UUID
	b.tools["root_fs"] = info.Tool
	for i := 2; i < len(plan.Parts); i++ {
		p := &plan.Parts[i]
		if p.Filesystem != "ext4" {
			continue
		}
		empty := filepath.Join(tmp, "empty-"+p.Name)
		if err := os.Mkdir(empty, 0o755); err != nil {
			return nil, err
		}
		u := deriveUUID(s.Seed, "fs:"+p.Name)
		if _, err := (Ext4Mkfs{}).WriteFS(ctx, &FSRequest{Dir: empty, Image: rawPath, Offset: p.Start, Size: p.Size,
			UUID: u, HashSeed: deriveUUID(s.Seed, "fs:"+p.Name+":hash"), Label: p.Name, Epoch: s.SourceDateEpoch}); err != nil {
			return nil, &BuildError{Phase: PhaseRootFS, Subject: fmt.Sprintf("partition %d (%s)", p.Number, p.Name), Err: err}
		}
		p.FSUUID = uuidString(u)
	}

	m := &Manifest{Name: s.Name, Version: s.Version, Arch: s.Arch, SourceDateEpoch: s.SourceDateEpoch,
		Spec: *s, Source: src.Describe(), Elements: records, Packages: packages, Dpkg: dpkg,
		Files: files, Bytes: bytes, Excluded: excluded,
		Disk:          DiskInfo{Size: plan.Size, GUID: plan.DiskGUID, Partitions: plan.Parts},
		KernelCmdline: s.KernelCmdline, RootFS: *info, Tools: b.tools}
	if err := b.outputs(ctx, st, raw, out, a, m); err != nil {
		return nil, err
	}
	return a, nil
}

func (b *builder) rootWriter() (FSWriter, error) {
	if b.opts.RootWriter != nil {
		return b.opts.RootWriter, nil
	}
	switch b.spec.Layout.RootFS {
	case FSSquashfs:
		return Squashfs{}, nil
	case FSExt4Go:
		return Ext4Go{}, nil
	default:
		return Ext4Mkfs{}, nil
	}
}

// writeGPT writes the protective MBR and both GPT headers with go-diskfs.
func writeGPT(f *os.File, p *diskPlan) error {
	d, err := diskfs.OpenBackend(&fileBackend{f}, diskfs.WithSectorSize(diskfs.SectorSize512))
	if err != nil {
		return err
	}
	t := &gpt.Table{LogicalSectorSize: sector, PhysicalSectorSize: sector, ProtectiveMBR: true, GUID: p.DiskGUID}
	for _, x := range p.Parts {
		t.Partitions = append(t.Partitions, &gpt.Partition{Index: x.Number,
			Start: uint64(x.Start / sector), End: uint64((x.Start+x.Size)/sector - 1),
			Type: gpt.Type(x.Type), Name: x.Name, GUID: x.GUID,
		})
	}
	return d.Partition(t)
}

func emptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// diskfsVersion is the go-diskfs module version linked in, for the
// manifest.
func diskfsVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/diskfs/go-diskfs" {
				return d.Version
			}
		}
	}
	return "unknown"
}
