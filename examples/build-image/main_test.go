package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/image"
)

func TestBuildImage(t *testing.T) {
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("e2fsprogs not installed")
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "hostname"), []byte("x\n"), 0o644)
	el := filepath.Join(dir, "motd")
	os.MkdirAll(filepath.Join(el, "static", "etc"), 0o755)
	os.WriteFile(filepath.Join(el, "static", "etc", "motd"), []byte("hi\n"), 0o644)
	var out, errb bytes.Buffer
	err := run([]string{"-rootfs", root, "-element", el, "-o", filepath.Join(dir, "img.raw"),
		"-qcow2", filepath.Join(dir, "img.qcow2"), "-manifest", filepath.Join(dir, "m.json")}, &out, &errb)
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	m, err := image.ReadManifest(filepath.Join(dir, "m.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != m.Digest || m.Elements[0].Name != "motd" {
		t.Errorf("stdout %q, manifest digest %s", out.String(), m.Digest)
	}
	for _, f := range []string{"img.raw", "img.qcow2"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if err := run([]string{"-o", "x.raw"}, &out, &errb); err == nil {
		t.Error("missing -rootfs accepted")
	}
}
