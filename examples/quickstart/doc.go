// Command quickstart is the reference deployer a new user runs first: the
// TripleO flow on embedded defaults, with no server installed.
//
//	go run ./examples/quickstart [-nodes 8] [-json] [-dir DIR]
//
// It starts a simulated datacenter on loopback (drivers/sim: even machines
// with an IPMI BMC, driven over the wire by drivers/ipmi, odd ones with a
// Redfish BMC, driven by drivers/redfish), opens a tripleo.Cloud, enrolls
// every machine from an inventory with profiles in the manner of TripleO's
// instackenv.json, inspects those whose BMC can tell their hardware
// (Redfish), makes them available, and deploys two stacks from the HOT
// templates in templates/: an undercloud of 2 control nodes and an
// overcloud of 1 controller and the computes, each server a bare-metal node
// claimed from the pool by profile and placed on the node tagged for it
// (the scheduler hint capabilities:node), the rest of the machines kept
// spare.
//
// Progress goes to stderr, one line per event; the summary (nodes, their
// BMC protocol, profile, state, power and server; stacks; step timings)
// goes to stdout as text, or as JSON with -json. With -nodes N the
// datacenter has N machines (at least 5): a quarter are spares and the
// overcloud gets the rest as computes.
//
// Still to come (issue 8): building the golden image, booting it on the
// simulated machines with the node agent, updates, rollback and recovery.
package main
