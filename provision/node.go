package provision

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Node is one bare-metal machine.
type Node struct {
	// Name is unique in an Inventory: letters, digits, '-', '_' and '.'.
	Name string `json:"name"`
	// UUID identifies the machine (from inspection or the operator).
	UUID string `json:"uuid,omitempty"`
	// BMCAddress is driver[+transport]://host[:port][/path].
	BMCAddress string `json:"bmc_address"`
	// Credentials reach the BMC. They print as [REDACTED] and are not part
	// of the node's JSON form; inventories store them on their own.
	Credentials Credentials `json:"-"`
	// MACs are the machine's network interfaces' hardware addresses.
	MACs []string `json:"macs,omitempty"`
	// Properties are free-form facts (capabilities, root device hints...).
	Properties map[string]string `json:"properties,omitempty"`
	// Inventory is what inspection found; nil until inspected.
	Inventory *HardwareInventory `json:"inventory,omitempty"`
	// ProvisionState is the node's place in the lifecycle.
	ProvisionState ProvisionState `json:"provision_state"`
	// PowerState is the last power state read from or set on the BMC.
	PowerState PowerState `json:"power_state"`
	// LastError is the error of the last failed operation, "" after a
	// success.
	LastError string `json:"last_error,omitempty"`
	// UpdatedAt is when the node was last stored.
	UpdatedAt time.Time `json:"updated_at"`
}

// Clone returns a deep copy.
func (n *Node) Clone() *Node {
	c := *n
	c.MACs = slices.Clone(n.MACs)
	c.Properties = maps.Clone(n.Properties)
	if n.Inventory != nil {
		inv := *n.Inventory
		inv.MACs = slices.Clone(inv.MACs)
		inv.Extra = maps.Clone(inv.Extra)
		c.Inventory = &inv
	}
	return &c
}

// Validate checks the name and BMC address, naming the bad field.
func (n *Node) Validate() error {
	if n.Name == "" {
		return fmt.Errorf("%w: field name: empty", ErrInvalidNode)
	}
	if len(n.Name) > 255 || strings.IndexFunc(n.Name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}) >= 0 {
		return fmt.Errorf("%w: field name: %q (want letters, digits, '-', '_' or '.', at most 255)", ErrInvalidNode, n.Name)
	}
	if _, err := ParseBMCAddress(n.BMCAddress); err != nil {
		return fmt.Errorf("%w: node %s: field bmc_address: %w", ErrInvalidNode, n.Name, err)
	}
	if _, err := n.ProvisionState.MarshalText(); err != nil {
		return fmt.Errorf("%w: node %s: field provision_state: %w", ErrInvalidNode, n.Name, err)
	}
	return nil
}
