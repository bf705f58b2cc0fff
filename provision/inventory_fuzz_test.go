package provision_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/provision"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// FuzzInventoryFile feeds arbitrary bytes as an inventory file: decoding
// either fails, or succeeds and then encoding is stable (what is read can
// be written back and read again to the same bytes).
func FuzzInventoryFile(f *testing.F) {
	seed, _ := os.ReadFile(filepath.Join("testdata", "inventory.golden.json"))
	f.Add(seed)
	f.Add([]byte(`{"version":1,"nodes":[]}`))
	f.Add([]byte(`{"version":1,"nodes":[null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		once, err := provision.RoundTripInventory(data)
		if err != nil {
			return
		}
		twice, err := provision.RoundTripInventory(once)
		if err != nil {
			t.Fatalf("re-encoded inventory does not decode: %v\n%s", err, once)
		}
		if string(once) != string(twice) {
			t.Fatalf("encoding not stable:\n%s\n%s", once, twice)
		}
	})
}

// TestInventoryGolden pins the file format (go test -run Golden -update).
func TestInventoryGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inv.json")
	inv, err := provision.OpenFileInventory(path, &provision.FileInventoryOptions{Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, n := range []*provision.Node{
		{Name: "compute-0", UUID: "1b4e28ba-2fa1-11d2-883f-0016d3cca427", BMCAddress: "ipmi://10.0.0.10:623",
			Credentials: provision.NewCredentials("admin", "compute-0-pw"), MACs: []string{"52:54:00:00:00:10"},
			Properties: map[string]string{"cpu_arch": "x86_64"}, ProvisionState: provision.StateActive, PowerState: provision.PowerOn,
			Inventory: &provision.HardwareInventory{CPUs: 8, CPUArch: "x86_64", MemoryMiB: 16384, DiskGiB: 100, MACs: []string{"52:54:00:00:00:10"}}},
		{Name: "controller-0", BMCAddress: "redfish+https://10.0.0.11/redfish/v1/Systems/1", Credentials: provision.NewCredentials("root", "ctl-pw"),
			ProvisionState: provision.StateInspectFailed, PowerState: provision.PowerOff, LastError: "inventory: not supported"},
	} {
		if err := inv.Create(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	golden := filepath.Join("testdata", "inventory.golden.json")
	if *update {
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("inventory file differs from %s (run with -update if intended):\n%s", golden, got)
	}
}
