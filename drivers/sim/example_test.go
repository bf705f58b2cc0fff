package sim_test

import (
	"context"
	"fmt"

	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/provision"
)

func Example() {
	dc, err := sim.Start(3, nil)
	if err != nil {
		panic(err)
	}
	defer dc.Close()
	ctx := context.Background()
	for _, m := range dc.Machines() {
		b, err := provision.OpenBMC(ctx, m.SimURL(), m.Credentials(), nil)
		if err != nil {
			panic(err)
		}
		s, err := b.Power(ctx, provision.PowerActionOn)
		b.Close()
		fmt.Println(m.Name(), s, err)
	}
	// Output:
	// m0 on <nil>
	// m1 on <nil>
	// m2 on <nil>
}
