package provision

import "context"

// Lifecycle is a node lifecycle service: the embedded [Provisioner] or a
// driver for a remote one (drivers/ironic's Provisioner, on a real
// Ironic). Code written against Lifecycle moves from the embedded default
// to Ironic by changing its constructor. Each method moves the named node
// along the state machine (see [Next]) and returns it as it ends up.
type Lifecycle interface {
	// Enroll records a new node and verifies its BMC (manageable, or
	// left enrolled with the error).
	Enroll(ctx context.Context, n *Node) (*Node, error)
	// Manage moves a node to manageable (from enroll by verifying its
	// BMC, from available or a failed inspection or cleaning).
	Manage(ctx context.Context, name string) (*Node, error)
	// Inspect reads the node's hardware inventory.
	Inspect(ctx context.Context, name string) (*Node, error)
	// Provide cleans a manageable node and makes it available.
	Provide(ctx context.Context, name string) (*Node, error)
	// Deploy deploys an available node, running steps (writing an image),
	// and leaves it active; on an active node it rebuilds.
	Deploy(ctx context.Context, name string, steps ...DeployStep) (*Node, error)
	// Undeploy tears the deployment down, cleans the node and makes it
	// available again.
	Undeploy(ctx context.Context, name string) (*Node, error)
	// Power performs a power action and waits until the BMC reports it.
	Power(ctx context.Context, name string, action PowerAction) (*Node, error)
	// Close releases the service's connections.
	Close() error
}

var _ Lifecycle = (*Provisioner)(nil)
