package image

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tripleo-go/tripleo/internal/peertest"
)

// TestESPSizes formats ESPs of the sizes people use (64 MiB among them,
// which go-diskfs alone gets wrong) with an /EFI/BOOT tree and checks
// each with fsck.vfat -n.
func TestESPSizes(t *testing.T) {
	fsck := peertest.Look(t, "fsck.vfat")[0]
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "EFI", "BOOT"), 0o755)
	os.MkdirAll(filepath.Join(src, "loader", "entries"), 0o755)
	os.WriteFile(filepath.Join(src, "EFI", "BOOT", "BOOTX64.EFI"), make([]byte, 70000), 0o644)
	os.WriteFile(filepath.Join(src, "loader", "entries", "golden.conf"), []byte("title x\n"), 0o644)
	for _, mib := range []int64{36, 40, 64, 100, 128, 256, 261, 300, 550} {
		t.Run(fmt.Sprintf("%dMiB", mib), func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "esp.img")
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			size := mib * MiB
			f.Truncate(size)
			if err := writeESP(t.Context(), f, PartitionInfo{Start: 0, Size: size}, src, 1700000000, 0x12345678); err != nil {
				t.Fatal(err)
			}
			f.Sync()
			run(t, fsck, "-n", p)
		})
	}
}
