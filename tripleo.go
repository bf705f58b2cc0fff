// Package tripleo is a Go SDK for deploying and running bare-metal clouds the
// way TripleO ("OpenStack on OpenStack") meant to: a small self-hosted cloud
// (the undercloud) enrolls real machines through their BMCs, deploys tested
// golden disk images onto them, renders each node's configuration from
// metadata it delivers, reacts when that metadata changes, and orchestrates
// the production cloud (the overcloud) declaratively.
//
// # Map: which package replaces which TripleO tool
//
//	TripleO tool                              package
//	----------------------------------------  -------------------------------
//	diskimage-builder                         image
//	os-apply-config                           config, cmd/os-apply-config
//	os-collect-config + os-refresh-config     refresh, cmd/os-collect-config,
//	  (+ dib-run-parts)                         cmd/os-refresh-config
//	Nova baremetal / Ironic                   provision, drivers/ipmi,
//	                                            drivers/redfish, drivers/ironic
//	Heat                                      orchestrate, drivers/heat
//	the undercloud / overcloud lifecycle      tripleo (this package)
//
// Domain packages define small portable interfaces and an embedded default
// that needs no server; drivers under drivers/ implement the same interfaces
// on real protocols (IPMI, Redfish) and real OpenStack services (Ironic,
// Heat). A driver joins a registry by URL scheme in its init function, so a
// program's import list decides which drivers it has.
//
// # Cloud
//
// Cloud (Open) composes the parts on embedded defaults kept in one
// directory: a provision.Provisioner over a file inventory, an image.Store,
// one orchestrate engine per stack, and a loopback HTTP service that node
// agents read their metadata from and signal back to. ServerType, the
// bare-metal server registered as OS::Nova::Server (OS::TripleO::*Server
// aliases reach it through an environment's resource_registry), claims a
// node from the pool by flavor/profile and scheduler hint, deploys the
// image the server names through the provisioner and returns the node to
// the pool on delete; claims live in the inventory, so a stack operation
// resumed after a crash adopts them.
//
// # Lifecycle
//
// Bootstrap enrolls, inspects and provides the machines (the seed's job);
// DeployUndercloud and DeployOvercloud (a tenant of the undercloud) create
// stacks whose servers run an image named by digest in a stack parameter;
// Update changes the image or template and rolls it out with the groups'
// rolling_update settings; Rollback redeploys the previous image digest
// from the stack's recorded history (persistent volumes are kept);
// Recover takes a dead node out of service and replaces its server from
// the pool; Probe reads the active nodes' power from their BMCs, which is
// how a monitor finds what to recover. Each operation is recorded before
// it starts, so a process killed in the middle is settled by the next
// call.
//
// # Booting simulated machines
//
// With drivers/sim, NodeBooter (Cloud.Booter) makes a machine powered on
// with a deployed disk boot as far as data goes: image.ExtractRoot reads
// the root filesystem back from the machine's disk into its directory, a
// config drive written at deploy time gives it its metadata URL, and a
// refresh.Agent renders the image's templates and runs its phase scripts
// against that root, with a persistent volume kept across redeploys.
// examples/quickstart runs the whole flow on a simulated datacenter.
//
// Every package in the map exists; the README lists what each covers.
package tripleo
