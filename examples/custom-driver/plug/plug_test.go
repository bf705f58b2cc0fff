package plug_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/tripleo-go/tripleo/examples/custom-driver/plug"
	"github.com/tripleo-go/tripleo/provision"
	"github.com/tripleo-go/tripleo/provision/powertest"
)

// TestConformance is what a third-party driver's author writes: open the
// driver through provision's registry and hand it to the suite.
func TestConformance(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plug.json")
	if err := plug.Create(path, "plug-secret"); err != nil {
		t.Fatal(err)
	}
	open := func(address string) func(context.Context, provision.Credentials, *slog.Logger) (provision.PowerDriver, error) {
		return func(ctx context.Context, c provision.Credentials, l *slog.Logger) (provision.PowerDriver, error) {
			d, _, err := provision.OpenDriver(ctx, address, c, l)
			return d, err
		}
	}
	powertest.RunConformanceTests(t, powertest.Config{
		Open:            open("plug://localhost" + path),
		OpenUnreachable: open("plug://localhost" + filepath.Join(dir, "unplugged.json")),
		Credentials:     provision.NewCredentials("", "plug-secret"),
		BMC:             provision.BMCOptions{PollInterval: 1},
	})
}
