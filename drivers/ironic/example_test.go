package ironic_test

import (
	"fmt"

	"github.com/tripleo-go/tripleo/drivers/ironic"
)

// Ironic's provision states map onto package provision's; its waiting
// states fold into the nearest one.
func ExampleStateFromIronic() {
	for _, s := range []string{"manageable", "clean wait", "wait call-back", "rescue"} {
		st, err := ironic.StateFromIronic(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s → %s\n", s, st)
	}
	// Output:
	// manageable → manageable
	// clean wait → cleaning
	// wait call-back → wait call-back
	// ironic: provision state "rescue" has no counterpart in package provision
}
