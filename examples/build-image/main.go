package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/tripleo-go/tripleo/image"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "build-image:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("build-image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rootfs := fs.String("rootfs", "", "root tree `DIR` (e.g. debootstrap output)")
	var elements list
	fs.Var(&elements, "element", "element `DIR` to apply (repeatable)")
	out := fs.String("o", "", "raw disk image to write (`OUT.raw`)")
	qcow2 := fs.String("qcow2", "", "also write the disk as qcow2 to `OUT.qcow2`")
	manifest := fs.String("manifest", "", "write the manifest to `OUT.json`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rootfs == "" || *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("-rootfs and -o are required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var set []*image.Element
	var names []string
	for _, d := range elements {
		e, err := image.LoadElement(d)
		if err != nil {
			return err
		}
		set = append(set, e)
		names = append(names, e.Name)
	}
	name := strings.TrimSuffix(filepath.Base(*out), filepath.Ext(*out))
	spec := &image.Spec{Name: name, SourceDateEpoch: epoch(), Elements: names,
		Outputs: image.Outputs{Qcow2: *qcow2 != ""}}
	outDir := filepath.Dir(*out)
	tmp, err := os.MkdirTemp(outDir, ".build-image-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	last := image.Phase("")
	a, err := image.Build(ctx, spec, image.DirSource{Path: *rootfs}, tmp, &image.Options{
		Elements: set, WorkDir: outDir,
		Progress: func(e image.Event) {
			if e.Phase != last || e.Phase == image.PhaseElements {
				fmt.Fprintf(stderr, "%6.2fs %-8s %s\n", e.Elapsed.Seconds(), e.Phase, e.Message)
				last = e.Phase
			}
		}})
	if err != nil {
		return err
	}
	moves := [][2]string{{a.Raw, *out}}
	if *qcow2 != "" {
		moves = append(moves, [2]string{a.Qcow2, *qcow2})
	}
	if *manifest != "" {
		moves = append(moves, [2]string{a.ManifestFile, *manifest})
	}
	for _, m := range moves {
		if err := os.Rename(a.Path(m[0]), m[1]); err != nil {
			return err
		}
	}
	mf := a.Manifest
	fmt.Fprintf(stderr, "built %s in %.2fs: %d files, %d bytes, %d packages, %d elements\n",
		*out, time.Since(start).Seconds(), mf.Files, mf.Bytes, len(mf.Dpkg), len(mf.Elements))
	for _, p := range mf.Disk.Partitions {
		fmt.Fprintf(stderr, "  partition %d %-6s %5d MiB  %s  fs %s %s\n", p.Number, p.Name, p.Size>>20, p.GUID, p.Filesystem, p.FSUUID)
	}
	fmt.Fprintln(stdout, a.Digest)
	return nil
}

// epoch is SOURCE_DATE_EPOCH from the environment, 0 when unset.
func epoch() int64 {
	var e int64
	fmt.Sscan(os.Getenv("SOURCE_DATE_EPOCH"), &e)
	return e
}
