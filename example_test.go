package tripleo_test

import (
	"context"
	"fmt"
	"os"

	"github.com/tripleo-go/tripleo"
)

// ExampleOpen opens a cloud on the embedded defaults: a file inventory,
// an image store and stack state under one directory, and the metadata and
// signal service on loopback.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "cloud")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	c, err := tripleo.Open(context.Background(), dir, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	nodes, _ := c.Inventory().List(context.Background())
	fmt.Println(len(nodes), "nodes")
	_, err = c.Types().Lookup(tripleo.TypeServer)
	fmt.Println("bare-metal servers:", err == nil)
	// Output:
	// 0 nodes
	// bare-metal servers: true
}
