package image_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/tripleo-go/tripleo/image"
)

// Build a small image from an in-memory tree.
func ExampleBuild() {
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		fmt.Println("partitions: ESP root") // e2fsprogs missing: nothing to show
		return
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	spec := &image.Spec{Name: "demo", SourceDateEpoch: 1700000000,
		Layout: image.Layout{DiskSize: 96 * image.MiB, ESPSize: 40 * image.MiB}}
	tree := image.NewTree(image.Entry{Path: "etc/hostname", Mode: 0o644, Data: []byte("demo\n")},
		image.Entry{Path: "var/log", Mode: fs.ModeDir | 0o755})
	a, err := image.Build(context.Background(), spec, tree, dir, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print("partitions:")
	for _, p := range a.Manifest.Disk.Partitions {
		fmt.Print(" ", p.Name)
	}
	fmt.Println()
	// Output: partitions: ESP root
}

func ExampleParseSize() {
	s, _ := image.ParseSize("1GiB")
	fmt.Println(int64(s), s)
	// Output: 1073741824 1GiB
}

// Keep images by digest in a store, tag one and find it again.
func ExampleStore() {
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		fmt.Println("overcloud:latest found: true") // e2fsprogs missing
		return
	}
	dir, _ := os.MkdirTemp("", "store")
	defer os.RemoveAll(dir)
	store, err := image.OpenStore(dir, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	spec := &image.Spec{Name: "overcloud", SourceDateEpoch: 1700000000,
		Layout: image.Layout{DiskSize: 96 * image.MiB, ESPSize: 40 * image.MiB}}
	a, err := store.Build(context.Background(), spec, image.NewTree(image.Entry{Path: "etc/hostname", Mode: 0o644, Data: []byte("oc\n")}), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := store.Tag("overcloud:latest", a.Digest); err != nil {
		fmt.Println(err)
		return
	}
	got, err := store.Get("overcloud:latest")
	fmt.Println("overcloud:latest found:", err == nil && got.Digest == a.Digest)
	// Output: overcloud:latest found: true
}

// Read an image's root filesystem back from a disk it was written to.
func ExampleExtractRoot() {
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		fmt.Println("demo") // e2fsprogs missing: nothing to show
		return
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	spec := &image.Spec{Name: "demo", SourceDateEpoch: 1700000000,
		Layout: image.Layout{DiskSize: 96 * image.MiB, ESPSize: 40 * image.MiB}}
	a, err := image.Build(context.Background(), spec,
		image.NewTree(image.Entry{Path: "etc/hostname", Mode: 0o644, Data: []byte("demo\n")}), dir, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	root := filepath.Join(dir, "machine", "root")
	if _, err := image.ExtractRoot(context.Background(), a.Path(a.Raw), root, nil); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := os.ReadFile(filepath.Join(root, "etc/hostname"))
	fmt.Print(string(b))
	// Output: demo
}
