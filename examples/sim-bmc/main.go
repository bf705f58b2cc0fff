package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/provision"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program; it returns the exit status: 0 after an
// interrupt, 1 when the machines cannot be started, 2 on a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sim-bmc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	machines := fs.Int("machines", 1, "number of simulated machines")
	listen := fs.String("listen", "127.0.0.1:8000", "loopback host:port of the Redfish service")
	username := fs.String("username", "admin", "BMC user name")
	passwordFile := fs.String("password-file", "", "file holding the BMC password (first line)")
	delay := fs.Duration("power-delay", 0, "time a power change takes to show, e.g. 2s")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "sim-bmc: "+format+"\n", a...)
		return code
	}
	switch {
	case fs.NArg() != 0:
		return fail(2, "unexpected arguments %q", fs.Args())
	case *passwordFile == "":
		return fail(2, "-password-file is required")
	case *machines < 1 || *machines > 10000:
		return fail(2, "-machines %d: want 1-10000", *machines)
	case *delay < 0:
		return fail(2, "-power-delay %s: want a positive duration", *delay)
	case *username == "":
		return fail(2, "-username is empty")
	}
	password, err := provision.ReadPasswordFile(*passwordFile)
	if err != nil {
		return fail(1, "%v", err)
	}
	dc, err := sim.Start(*machines, &sim.Options{
		Endpoints:     sim.EndpointRedfish | sim.EndpointIPMI,
		RedfishListen: *listen,
		Username:      *username, Password: password,
		PowerOnDelay: *delay, PowerOffDelay: *delay,
	})
	if err != nil {
		return fail(1, "%v", err)
	}
	defer dc.Close()
	fmt.Fprintf(stderr, "sim-bmc: %d machines, Redfish service root %s/redfish/v1, user %s, power delay %s; interrupt to stop\n",
		*machines, dc.Redfish().URL(), *username, *delay)
	for _, m := range dc.Machines() {
		line := m.Name() + " " + m.RedfishURL()
		if u := m.IPMIURL(); u != "" {
			line += " " + u
		}
		fmt.Fprintln(stdout, line)
	}
	start := time.Now()
	<-ctx.Done()
	fmt.Fprintf(stderr, "sim-bmc: stopping after %s, %d Redfish requests served\n", time.Since(start).Round(time.Second), dc.Redfish().Requests())
	for _, m := range dc.Machines() {
		fmt.Fprintf(stderr, "  %s: power %s, calls: %s\n", m.Name(), m.PowerState(), strings.Join(m.Calls(), ", "))
	}
	if err := dc.Close(); err != nil {
		return fail(1, "%v", err)
	}
	return 0
}
