package runparts_test

import (
	"fmt"

	"github.com/tripleo-go/tripleo/internal/runparts"
)

// Scripts run by their leading number first, then byte by byte.
func ExampleSort() {
	names := []string{"10-restart", "9-render", "abc", "1_b", "1-a", "00-first"}
	runparts.Sort(names)
	fmt.Println(names)
	// Output: [00-first abc 1-a 1_b 9-render 10-restart]
}
