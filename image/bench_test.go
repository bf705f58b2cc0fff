package image

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// benchRootfs returns a debootstrap --variant=minbase tree, made on first
// use in the user cache directory (as root, about 80 s; it needs
// debootstrap and the Debian mirror), or TRIPLEO_BENCH_ROOTFS.
func benchRootfs(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("TRIPLEO_BENCH_ROOTFS"); p != "" {
		return p
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		b.Skip(err)
	}
	dir := filepath.Join(cache, "tripleo-image-bench", "minbase")
	if _, err := os.Stat(filepath.Join(dir, "var", "lib", "dpkg", "status")); err == nil {
		return dir
	}
	if os.Geteuid() != 0 {
		b.Skip("making the minbase tree needs root (debootstrap); set TRIPLEO_BENCH_ROOTFS")
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		b.Skip("debootstrap not installed")
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	out, err := exec.Command("debootstrap", "--variant=minbase", "bookworm", tmp, "http://deb.debian.org/debian").CombinedOutput()
	if err != nil {
		b.Skipf("debootstrap: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkMinbase builds a 1 GiB bootable GPT image (ESP 128 MiB + ext4
// root) with its qcow2 from a minbase tree: ours (raw + qcow2 + manifest
// + SHA256SUMS, state excluded) beside the classic chain (mkfs.ext4 -d,
// mkfs.vfat, sfdisk, dd, qemu-img convert), without and with sha256sum.
//
//	go test -run '^$' -bench Minbase -benchtime 3x ./image
func BenchmarkMinbase(b *testing.B) {
	root := benchRootfs(b)
	spec := &Spec{Name: "minbase", SourceDateEpoch: 1700000000, Outputs: Outputs{Qcow2: true}}
	plan, err := spec.plan()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("tripleo", func(b *testing.B) {
		for b.Loop() {
			dir := b.TempDir()
			if _, err := Build(context.Background(), spec, DirSource{Path: root}, dir, nil); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			os.RemoveAll(dir)
			b.StartTimer()
		}
	})
	classic := func(b *testing.B, hash bool) {
		for _, tool := range []string{"mkfs.ext4", "mkfs.vfat", "sfdisk", "dd", "qemu-img", "sha256sum"} {
			if _, err := exec.LookPath(tool); err != nil {
				b.Skip(tool, " not installed")
			}
		}
		esp, rootp := plan.Parts[0], plan.Parts[1]
		for b.Loop() {
			dir := b.TempDir()
			sh := func(script string) {
				cmd := exec.Command("sh", "-ec", script)
				cmd.Dir = dir
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%s: %v\n%s", script, err, out)
				}
			}
			sh(fmt.Sprintf("mkfs.ext4 -q -F -d %s root.img %dk", root, rootp.Size/1024))
			sh(fmt.Sprintf("truncate -s %d esp.img && mkfs.vfat -F 32 -n ESP esp.img >/dev/null", esp.Size))
			sh(fmt.Sprintf("truncate -s %d disk.raw", plan.Size))
			table := fmt.Sprintf("label: gpt\nstart=%d, size=%d, type=%s\nstart=%d, size=%d, type=%s\n",
				esp.Start/512, esp.Size/512, TypeESP, rootp.Start/512, rootp.Size/512, TypeRootX86_64)
			cmd := exec.Command("sfdisk", "-q", "disk.raw")
			cmd.Dir, cmd.Stdin = dir, strings.NewReader(table)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("sfdisk: %v\n%s", err, out)
			}
			sh(fmt.Sprintf("dd if=esp.img of=disk.raw bs=1M seek=%d conv=notrunc,sparse status=none", esp.Start/MiB))
			sh(fmt.Sprintf("dd if=root.img of=disk.raw bs=1M seek=%d conv=notrunc,sparse status=none", rootp.Start/MiB))
			sh("qemu-img convert -f raw -O qcow2 disk.raw disk.qcow2")
			if hash {
				sh("sha256sum disk.raw disk.qcow2 > SHA256SUMS")
			}
			b.StopTimer()
			os.RemoveAll(dir)
			b.StartTimer()
		}
	}
	// The chain the issue names, which makes no digest at all.
	b.Run("classic", func(b *testing.B) { classic(b, false) })
	// The same plus the digests our manifest carries.
	b.Run("classic+sha256sum", func(b *testing.B) { classic(b, true) })
}

// BenchmarkQcow2 converts the minbase image's 1 GiB raw to qcow2: our
// WriteQcow2 beside qemu-img convert.
//
//	go test -run '^$' -bench Qcow2 -benchtime 5x ./image
func BenchmarkQcow2(b *testing.B) {
	root := benchRootfs(b)
	spec := &Spec{Name: "minbase", SourceDateEpoch: 1700000000}
	dir := b.TempDir()
	a, err := Build(context.Background(), spec, DirSource{Path: root}, dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	raw := a.Path(a.Raw)
	b.Run("tripleo", func(b *testing.B) {
		for b.Loop() {
			out := filepath.Join(b.TempDir(), "x.qcow2")
			src, err := os.Open(raw)
			if err != nil {
				b.Fatal(err)
			}
			dst, err := os.Create(out)
			if err != nil {
				b.Fatal(err)
			}
			if err := WriteQcow2(context.Background(), dst, src, nil); err != nil {
				b.Fatal(err)
			}
			src.Close()
			dst.Close()
		}
	})
	b.Run("qemu-img", func(b *testing.B) {
		if _, err := exec.LookPath("qemu-img"); err != nil {
			b.Skip("qemu-img not installed")
		}
		for b.Loop() {
			out := filepath.Join(b.TempDir(), "x.qcow2")
			if o, err := exec.Command("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, out).CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, o)
			}
		}
	})
}
