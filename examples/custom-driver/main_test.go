package main

import (
	"context"
	"os"
)

func Example() {
	if err := run(context.Background(), os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// registered schemes: [plug]
	// enrolled lab-box: manageable, power off
	// after power on: power on
	// after provide: available, power off
}
