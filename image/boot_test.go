package image

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/internal/peertest"
)

const bootMarker = "TRIPLEO-ROOT-OK"

// bootModules are the Debian kernel's modules the initramfs loads, in
// dependency order (everything needed is =m in Debian's config).
var bootModules = []string{
	"lib/crc16.ko", "fs/mbcache.ko", "fs/jbd2/jbd2.ko", "crypto/crc32c_generic.ko", "fs/ext4/ext4.ko",
	"drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko", "drivers/virtio/virtio_pci_legacy_dev.ko",
	"drivers/virtio/virtio_pci_modern_dev.ko", "drivers/virtio/virtio_pci.ko", "drivers/block/virtio_blk.ko",
}

type bootKit struct {
	kernel  string
	initrd  []byte
	skipMsg string
}

var (
	bootOnce sync.Once
	kit      bootKit
)

// fetchKernel downloads the Debian kernel package with apt-get download
// and extracts vmlinuz and the few modules with dpkg-deb, into a cache
// directory reused by later runs.
func fetchKernel(ctx context.Context) (string, string, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", "linux-image-amd64").Output()
	if err != nil {
		return "", "", fmt.Errorf("apt-cache depends linux-image-amd64: %w", err)
	}
	var pkg string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			pkg = f[1]
			break
		}
	}
	if pkg == "" {
		return "", "", fmt.Errorf("no kernel package in %q", out)
	}
	kver := strings.TrimPrefix(pkg, "linux-image-")
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "tripleo-image-boot", kver)
	kernel := filepath.Join(dir, "boot", "vmlinuz-"+kver)
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return kernel, filepath.Join(dir, "lib", "modules", kver, "kernel"), nil
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	dl := exec.CommandContext(ctx, "apt-get", "download", "-q", pkg)
	dl.Dir = dir
	if out, err := dl.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("apt-get download %s: %w: %s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "*.deb"))
	if len(debs) != 1 {
		return "", "", fmt.Errorf("apt-get download left %v", debs)
	}
	args := []string{"-x", "--wildcards", "./boot/vmlinuz-*"}
	for _, m := range bootModules {
		args = append(args, "./lib/modules/"+kver+"/kernel/"+m)
	}
	x := exec.CommandContext(ctx, "sh", append([]string{"-c", `dpkg-deb --fsys-tarfile "$0" | tar "$@"`, debs[0]}, args...)...)
	x.Dir = dir
	if out, err := x.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("dpkg-deb -x: %w: %s", err, out)
	}
	os.Remove(debs[0])
	if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
		return "", "", err
	}
	return kernel, filepath.Join(dir, "lib", "modules", kver, "kernel"), nil
}

// cpioNewc writes a newc cpio archive (the initramfs format).
type cpioNewc struct {
	buf bytes.Buffer
	ino int
}

func (c *cpioNewc) add(name string, mode uint32, data []byte) {
	c.ino++
	fmt.Fprintf(&c.buf, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	c.buf.WriteString(name)
	c.buf.WriteByte(0)
	c.pad()
	c.buf.Write(data)
	c.pad()
}

func (c *cpioNewc) pad() {
	for c.buf.Len()%4 != 0 {
		c.buf.WriteByte(0)
	}
}

func (c *cpioNewc) bytes() []byte {
	c.add("TRAILER!!!", 0, nil)
	return c.buf.Bytes()
}

// initramfs holds busybox, the modules and an init that mounts the
// image's root partition and prints its marker file.
func initramfs(busybox, modDir string) ([]byte, error) {
	var c cpioNewc
	for _, d := range []string{"bin", "dev", "proc", "sys", "mnt", "lib", "lib/modules"} {
		c.add(d, 0o040755, nil)
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return nil, err
	}
	c.add("bin/busybox", 0o100755, bb)
	var loads strings.Builder
	for _, m := range bootModules {
		b, err := os.ReadFile(filepath.Join(modDir, m))
		if err != nil {
			return nil, err
		}
		c.add("lib/modules/"+filepath.Base(m), 0o100644, b)
		fmt.Fprintf(&loads, "insmod /lib/modules/%s\n", filepath.Base(m))
	}
	init := `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
` + loads.String() + `
for i in $(seq 1 300); do [ -b /dev/vda2 ] && break; sleep 0.1; done
if mount -t ext4 -o ro /dev/vda2 /mnt; then cat /mnt/marker; else echo ROOT-MOUNT-FAILED; fi
poweroff -f
`
	c.add("init", 0o100755, []byte(init))
	return c.bytes(), nil
}

func bootImage(t *testing.T, k bootKit, efiBin string) *Artifact {
	t.Helper()
	kb, err := os.ReadFile(k.kernel)
	if err != nil {
		t.Fatal(err)
	}
	efi, err := os.ReadFile(efiBin)
	if err != nil {
		t.Fatal(err)
	}
	tree := NewTree(
		Entry{Path: "marker", Mode: 0o644, Data: []byte(bootMarker + "\n")},
		Entry{Path: "etc/machine-id", Mode: 0o444},
		Entry{Path: "boot/efi/EFI/BOOT/BOOTX64.EFI", Mode: 0o644, Data: efi},
		Entry{Path: "boot/efi/vmlinuz", Mode: 0o644, Data: kb},
		Entry{Path: "boot/efi/initrd.img", Mode: 0o644, Data: k.initrd},
		Entry{Path: "boot/efi", Mode: fs.ModeDir | 0o700},
	)
	spec := &Spec{Name: "boot", SourceDateEpoch: 1700000000, KernelCmdline: "console=ttyS0 panic=-1 quiet",
		Layout: Layout{DiskSize: 96 * MiB, ESPSize: 40 * MiB}}
	return buildT(t, spec, tree, nil)
}

// boot runs qemu (software emulation) until the marker shows on the
// serial console, bounded to 120 s.
func boot(t *testing.T, qemu string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	base := []string{"-accel", "tcg", "-m", "512", "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot", "-nodefaults"}
	cmd := exec.CommandContext(ctx, qemu, append(base, args...)...)
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var console bytes.Buffer
	found := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		console.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), bootMarker) {
			found = true
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !found {
		tail := console.String()
		if len(tail) > 3000 {
			tail = tail[len(tail)-3000:]
		}
		t.Fatalf("no %s on the serial console (ctx: %v)\nconsole tail:\n%s\nstderr: %s", bootMarker, ctx.Err(), tail, stderr.String())
	}
	t.Logf("marker reached after %.1fs", time.Since(start).Seconds())
}

// TestBoot boots a small image under qemu-system-x86_64 with a Debian
// kernel, once by direct kernel boot and once through UEFI (OVMF ->
// systemd-boot on our ESP), and waits for the root filesystem's marker.
func TestBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("boot smoke test skipped in -short mode")
	}
	tools := peertest.Look(t, "qemu-system-x86_64", "apt-get", "dpkg-deb", "busybox")
	bootOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		kernel, mods, err := fetchKernel(ctx)
		if err != nil {
			kit.skipMsg = err.Error()
			return
		}
		kit.kernel = kernel
		kit.initrd, err = initramfs(tools[3], mods)
		if err != nil {
			kit.skipMsg = err.Error()
		}
	})
	if kit.skipMsg != "" {
		if peertest.Required() {
			t.Fatalf("boot kit: %s", kit.skipMsg)
		}
		t.Skipf("boot kit: %s", kit.skipMsg)
	}
	efiBin := "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
	ovmf := "/usr/share/ovmf/OVMF.fd"
	for _, f := range []string{efiBin, ovmf} {
		if _, err := os.Stat(f); err != nil {
			if peertest.Required() {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
	a := bootImage(t, kit, efiBin)
	verifyImage(t, a)
	drive := "file=" + a.Path(a.Raw) + ",format=raw,if=virtio,snapshot=on"
	t.Run("direct", func(t *testing.T) {
		t.Parallel()
		initrd := filepath.Join(t.TempDir(), "initrd")
		if err := os.WriteFile(initrd, kit.initrd, 0o644); err != nil {
			t.Fatal(err)
		}
		boot(t, tools[0], "-drive", drive, "-kernel", kit.kernel, "-initrd", initrd, "-append", "console=ttyS0 panic=-1 quiet")
	})
	t.Run("uefi", func(t *testing.T) {
		t.Parallel()
		boot(t, tools[0], "-bios", ovmf, "-drive", drive)
	})
}
