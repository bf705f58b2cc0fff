package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	_ "github.com/tripleo-go/tripleo/drivers/ipmi"
	_ "github.com/tripleo-go/tripleo/drivers/redfish"
	"github.com/tripleo-go/tripleo/provision"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: power -bmc URL -username USER -password-file FILE COMMAND
commands:
  status                                   print the power state
  on | off | soft-off | cycle | reset      switch power, wait for the result
  bootdev pxe|disk|cdrom|bios [persistent] set the next boot device
URL schemes: %s
`

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("power", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, usage, strings.Join(provision.Schemes(), ", ")) }
	bmcURL := fs.String("bmc", "", "BMC address, driver[+transport]://host[:port][/path]")
	username := fs.String("username", "", "BMC user name")
	passwordFile := fs.String("password-file", "", "file holding the BMC password (first line)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "power: "+format+"\n", a...)
		return code
	}
	if *bmcURL == "" || *passwordFile == "" || len(rest) == 0 {
		fs.Usage()
		return fail(2, "-bmc, -password-file and a command are required")
	}
	cmd := rest[0]
	var action provision.PowerAction
	var dev provision.BootDevice
	persistent := false
	switch cmd {
	case "status":
		if len(rest) != 1 {
			return fail(2, "status takes no argument")
		}
	case "bootdev":
		if len(rest) < 2 || len(rest) > 3 || (len(rest) == 3 && rest[2] != "persistent") {
			return fail(2, "usage: bootdev pxe|disk|cdrom|bios [persistent]")
		}
		var err error
		if dev, err = provision.ParseBootDevice(rest[1]); err != nil || dev == provision.BootNone {
			return fail(2, "unknown boot device %q (want pxe, disk, cdrom or bios)", rest[1])
		}
		persistent = len(rest) == 3
	default:
		var err error
		if action, err = provision.ParsePowerAction(cmd); err != nil || len(rest) != 1 {
			fs.Usage()
			return fail(2, "unknown command %q", strings.Join(rest, " "))
		}
	}
	password, err := provision.ReadPasswordFile(*passwordFile)
	if err != nil {
		return fail(1, "%v", err)
	}
	creds := provision.NewCredentials(*username, password)
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := provision.OpenBMC(ctx, *bmcURL, creds, &provision.BMCOptions{Logger: logger, PowerTimeout: 2 * time.Minute})
	if err != nil {
		return fail(1, "%v", explain(err))
	}
	defer b.Close()

	switch cmd {
	case "status":
		s, err := b.PowerState(ctx)
		if err != nil {
			return fail(1, "%v", explain(err))
		}
		fmt.Fprintf(stdout, "power: %s\n", s)
	case "bootdev":
		fmt.Fprintf(stderr, "%s: set boot device %s\n", b.Address(), dev)
		if err := b.SetBootDevice(ctx, dev, persistent); err != nil {
			return fail(1, "%v", explain(err))
		}
		scope := "next boot only"
		if persistent {
			scope = "persistent"
		}
		fmt.Fprintf(stdout, "boot device: %s (%s)\n", dev, scope)
	default:
		fmt.Fprintf(stderr, "%s: power %s, waiting for the BMC to report %s\n", b.Address(), action, action.Target())
		s, err := b.Power(ctx, action)
		if err != nil {
			return fail(1, "%v", explain(err))
		}
		fmt.Fprintf(stdout, "power: %s\n", s)
	}
	return 0
}

// explain adds a hint for the errors a person can act on.
func explain(err error) error {
	switch {
	case errors.Is(err, provision.ErrAuth):
		return fmt.Errorf("%w (check -username and the password file)", err)
	case errors.Is(err, provision.ErrUnreachable):
		return fmt.Errorf("%w (is the BMC up and the address right?)", err)
	}
	return err
}
