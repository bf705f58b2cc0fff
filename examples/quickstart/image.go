package main

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"testing/fstest"

	"github.com/tripleo-go/tripleo"
	"github.com/tripleo-go/tripleo/image"
)

// The golden image: the small root filesystem under rootfs/, the toy
// service element under elements/toy-service (os-apply-config templates and
// os-refresh-config phase scripts in its static/ overlay), and
// /etc/toy-release naming the image version.

const imageEpoch = 1700000000

// imageSpec is the golden image's spec: a GPT disk with the smallest ESP
// FAT32 allows and an ext4 root.
func imageSpec(version string) *image.Spec {
	return &image.Spec{Name: "toy-overcloud", Version: version, SourceDateEpoch: imageEpoch,
		Layout:   image.Layout{DiskSize: 56 * image.MiB, ESPSize: 40 * image.MiB},
		Elements: []string{"toy-service"}}
}

// imageDiskSize is the size each simulated machine's disk needs.
const imageDiskSize = 64 * image.MiB

// toyElement loads the element shipped in elements/toy-service. embed
// keeps no file modes, so the phase scripts (files in a *.d directory of
// os-refresh-config) are made executable here.
func toyElement() (*image.Element, error) {
	const dir = "elements/toy-service"
	b, err := assets.ReadFile(dir + "/element.yaml")
	if err != nil {
		return nil, err
	}
	el, err := image.ParseElement(b)
	if err != nil {
		return nil, fmt.Errorf("%s/element.yaml: %w", dir, err)
	}
	overlay := fstest.MapFS{}
	static := dir + "/static"
	err = fs.WalkDir(assets, static, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == static {
			return err
		}
		rel := strings.TrimPrefix(p, static+"/")
		if d.IsDir() {
			overlay[rel] = &fstest.MapFile{Mode: fs.ModeDir | 0o755}
			return nil
		}
		data, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if strings.Contains(rel, "/os-refresh-config/") && strings.HasSuffix(path.Dir(rel), ".d") {
			mode = 0o755
		}
		overlay[rel] = &fstest.MapFile{Data: data, Mode: mode}
		return nil
	})
	if err != nil {
		return nil, err
	}
	el.Overlay = overlay
	el.Dir = dir
	return el, nil
}

// rootTree is the root filesystem of image version v: rootfs/ and
// /etc/toy-release.
func rootTree(v string) (*image.Tree, error) {
	entries := []image.Entry{{Path: "etc/toy-release", Mode: 0o644, Data: []byte(v + "\n")}}
	err := fs.WalkDir(assets, "rootfs", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		entries = append(entries, image.Entry{Path: strings.TrimPrefix(p, "rootfs/"), Mode: 0o644, Data: data})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return image.NewTree(entries...), nil
}

// buildImage builds version v of the golden image into the cloud's store
// and tags it toy-overcloud:v.
func buildImage(ctx context.Context, cloud *tripleo.Cloud, v string, progress func(image.Event)) (*image.Artifact, error) {
	el, err := toyElement()
	if err != nil {
		return nil, err
	}
	root, err := rootTree(v)
	if err != nil {
		return nil, err
	}
	a, err := cloud.Images().Build(ctx, imageSpec(v), root, &image.Options{Elements: []*image.Element{el}, Progress: progress})
	if err != nil {
		return nil, err
	}
	if err := cloud.Images().Tag("toy-overcloud:"+v, a.Digest); err != nil {
		return nil, err
	}
	return a, nil
}
