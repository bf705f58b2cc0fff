package tripleo_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/tripleo-go/tripleo"
	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/provision"
)

// ExampleCloud_DeployOvercloud runs the lifecycle's first steps on three
// simulated machines: the seed enrolls and provides them, the undercloud
// takes one, and the overcloud, its tenant, two.
func ExampleCloud_DeployOvercloud() {
	ctx := context.Background()
	dc, err := sim.Start(3, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dc.Close()
	dir, err := os.MkdirTemp("", "cloud")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	c, err := tripleo.Open(ctx, dir, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	var nodes []*provision.Node
	for i, m := range dc.Machines() {
		profile := "compute"
		if i == 0 {
			profile = "undercloud"
		}
		nodes = append(nodes, &provision.Node{Name: fmt.Sprintf("node-%d", i), BMCAddress: m.SimURL(),
			Credentials: m.Credentials(), Properties: map[string]string{"capabilities": "profile:" + profile}})
	}
	if _, err := c.Bootstrap(ctx, nodes, nil); err != nil {
		fmt.Println(err)
		return
	}
	const overcloud = `heat_template_version: queens
resources:
  Compute:
    type: OS::Heat::ResourceGroup
    properties:
      count: 2
      resource_def: {type: OS::Nova::Server, properties: {flavor: compute}}
`
	in := &orchestrate.Input{TemplateFile: "overcloud.yaml", Template: overcloud}
	_, err = c.DeployOvercloud(ctx, in, nil)
	fmt.Println("overcloud before the undercloud:", errors.Is(err, tripleo.ErrNotDeployed))

	const undercloud = `heat_template_version: queens
resources:
  Control: {type: OS::Nova::Server, properties: {flavor: undercloud}}
`
	if _, err := c.DeployUndercloud(ctx, &orchestrate.Input{TemplateFile: "undercloud.yaml", Template: undercloud}, nil); err != nil {
		fmt.Println(err)
		return
	}
	d, err := c.DeployOvercloud(ctx, in, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Stack, "owned by", d.Owner)
	all, _ := c.Inventory().List(ctx)
	for _, n := range all {
		fmt.Println(n.Name, n.ProvisionState)
	}
	// Output:
	// overcloud before the undercloud: true
	// overcloud owned by undercloud
	// node-0 active
	// node-1 active
	// node-2 active
}
