package redfish_test

import (
	"context"
	"fmt"

	_ "github.com/tripleo-go/tripleo/drivers/redfish"
	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/provision"
)

func Example() {
	// A simulated machine with a Redfish BMC on loopback.
	dc, err := sim.Start(1, &sim.Options{Endpoints: sim.EndpointRedfish})
	if err != nil {
		panic(err)
	}
	defer dc.Close()
	m := dc.Machine(0)
	ctx := context.Background()
	b, err := provision.OpenBMC(ctx, m.RedfishURL(), m.Credentials(), nil)
	if err != nil {
		panic(err)
	}
	defer b.Close()
	if err := b.SetBootDevice(ctx, provision.BootPXE, false); err != nil {
		panic(err)
	}
	s, err := b.Power(ctx, provision.PowerActionOn)
	fmt.Println(s, err)
	fmt.Println(m.Calls())
	// Output:
	// on <nil>
	// [boot pxe once power on]
}
