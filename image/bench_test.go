package image

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
// root) with its qcow2 from a minbase tree, ours (raw + qcow2 + manifest
// + SHA256SUMS, state excluded) and the classic chain (mkfs.ext4 -d,
// mkfs.vfat, sfdisk, dd, qemu-img convert) side by side: each iteration
// runs both, alternating which goes first, so load on the machine hits
// both alike. It reports seconds per build for ours, for the classic
// chain, and for the classic chain plus sha256sum of its two outputs
// (the digests our manifest carries).
//
//	go test -run '^$' -bench Minbase -benchtime 3x ./image
func BenchmarkMinbase(b *testing.B) {
	root := benchRootfs(b)
	for _, tool := range []string{"mkfs.ext4", "mkfs.vfat", "sfdisk", "dd", "qemu-img", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skip(tool, " not installed")
		}
	}
	spec := &Spec{Name: "minbase", SourceDateEpoch: 1700000000, Outputs: Outputs{Qcow2: true}}
	plan, err := spec.plan()
	if err != nil {
		b.Fatal(err)
	}
	esp, rootp := plan.Parts[0], plan.Parts[1]
	ours := func() time.Duration {
		dir, err := os.MkdirTemp("", "bench-ours-")
		if err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
		start := time.Now()
		if _, err := Build(context.Background(), spec, DirSource{Path: root}, dir, nil); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	classic := func() (chain, sums time.Duration) {
		dir, err := os.MkdirTemp("", "bench-classic-")
		if err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
		sh := func(script string, stdin string) {
			cmd := exec.Command("sh", "-ec", script)
			cmd.Dir, cmd.Stdin = dir, strings.NewReader(stdin)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%s: %v\n%s", script, err, out)
			}
		}
		start := time.Now()
		sh(fmt.Sprintf("mkfs.ext4 -q -F -d %s root.img %dk", root, rootp.Size/1024), "")
		sh(fmt.Sprintf("truncate -s %d esp.img && mkfs.vfat -F 32 -n ESP esp.img >/dev/null", esp.Size), "")
		sh(fmt.Sprintf("truncate -s %d disk.raw", plan.Size), "")
		sh("sfdisk -q disk.raw", fmt.Sprintf("label: gpt\nstart=%d, size=%d, type=%s\nstart=%d, size=%d, type=%s\n",
			esp.Start/512, esp.Size/512, TypeESP, rootp.Start/512, rootp.Size/512, TypeRootX86_64))
		sh(fmt.Sprintf("dd if=esp.img of=disk.raw bs=1M seek=%d conv=notrunc,sparse status=none", esp.Start/MiB), "")
		sh(fmt.Sprintf("dd if=root.img of=disk.raw bs=1M seek=%d conv=notrunc,sparse status=none", rootp.Start/MiB), "")
		sh("qemu-img convert -f raw -O qcow2 disk.raw disk.qcow2", "")
		chain = time.Since(start)
		start = time.Now()
		sh("sha256sum disk.raw disk.qcow2 > SHA256SUMS", "")
		return chain, time.Since(start)
	}
	var tOurs, tChain, tSums time.Duration
	n := 0
	for b.Loop() {
		var o, c, h time.Duration
		if n%2 == 0 {
			o = ours()
			c, h = classic()
		} else {
			c, h = classic()
			o = ours()
		}
		tOurs, tChain, tSums = tOurs+o, tChain+c, tSums+h
		n++
	}
	b.ReportMetric(tOurs.Seconds()/float64(n), "tripleo-s/op")
	b.ReportMetric(tChain.Seconds()/float64(n), "classic-s/op")
	b.ReportMetric((tChain+tSums).Seconds()/float64(n), "classic+sha256sum-s/op")
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
