package plug_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tripleo-go/tripleo/examples/custom-driver/plug"
	"github.com/tripleo-go/tripleo/provision"
)

// A program that imports the package reaches its plugs through provision's
// registry by their plug:// address, like any built-in BMC.
func Example() {
	dir, _ := os.MkdirTemp("", "plug-")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "rack1-node3.json")
	if err := plug.Create(path, "plug-secret"); err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	d, _, err := provision.OpenDriver(ctx, "plug://localhost"+path, provision.NewCredentials("", "plug-secret"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	if err := d.SetPower(ctx, provision.PowerActionOn); err != nil {
		fmt.Println(err)
		return
	}
	st, _ := d.PowerState(ctx)
	fmt.Println(st)
	// Output: on
}
