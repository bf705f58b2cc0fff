package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tripleo-go/tripleo/examples/custom-driver/plug"
	"github.com/tripleo-go/tripleo/provision"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "custom-driver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	dir, err := os.MkdirTemp("", "custom-driver")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	statePath := filepath.Join(dir, "plug.json")
	if err := plug.Create(statePath, "plug-secret"); err != nil {
		return err
	}
	fmt.Fprintf(out, "registered schemes: %v\n", provision.Schemes())

	inv, err := provision.OpenFileInventory(filepath.Join(dir, "inventory.json"), nil)
	if err != nil {
		return err
	}
	p := provision.NewProvisioner(inv, nil)
	defer p.Close()
	n, err := p.Enroll(ctx, &provision.Node{
		Name:        "lab-box",
		BMCAddress:  "plug://localhost" + statePath,
		Credentials: provision.NewCredentials("", "plug-secret"),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "enrolled %s: %s, power %s\n", n.Name, n.ProvisionState, n.PowerState)
	if n, err = p.Power(ctx, "lab-box", provision.PowerActionOn); err != nil {
		return err
	}
	fmt.Fprintf(out, "after power on: power %s\n", n.PowerState)
	if n, err = p.Provide(ctx, "lab-box"); err != nil {
		return err
	}
	fmt.Fprintf(out, "after provide: %s, power %s\n", n.ProvisionState, n.PowerState)
	return nil
}
