package provision_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/tripleo-go/tripleo/provision"
)

var registerMemory sync.Once

// ExampleProvisioner walks one machine through its lifecycle. A real
// program imports a driver (drivers/ipmi, drivers/sim) instead of
// registering the in-memory one used here.
func ExampleProvisioner() {
	registerMemory.Do(func() {
		provision.Register("memory", func(context.Context, provision.BMCAddress, provision.Credentials, provision.DriverOptions) (provision.PowerDriver, error) {
			return newFake(), nil
		})
	})
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	inv, err := provision.OpenFileInventory(filepath.Join(dir, "inventory.json"), nil)
	if err != nil {
		panic(err)
	}
	p := provision.NewProvisioner(inv, &provision.Options{
		OnTransition: func(node string, t provision.Transition) { fmt.Printf("%s: %s → %s\n", node, t.From, t.To) },
	})
	defer p.Close()
	ctx := context.Background()
	if _, err := p.Enroll(ctx, &provision.Node{Name: "node-0", BMCAddress: "memory://bmc-0", Credentials: provision.NewCredentials("admin", "pw")}); err != nil {
		panic(err)
	}
	if _, err := p.Provide(ctx, "node-0"); err != nil {
		panic(err)
	}
	n, err := p.Deploy(ctx, "node-0")
	if err != nil {
		panic(err)
	}
	fmt.Println(n.Name, n.ProvisionState, n.PowerState)
	// Output:
	// node-0: enroll → verifying
	// node-0: verifying → manageable
	// node-0: manageable → cleaning
	// node-0: cleaning → available
	// node-0: available → deploying
	// node-0: deploying → wait call-back
	// node-0: wait call-back → deploying
	// node-0: deploying → active
	// node-0 active on
}
