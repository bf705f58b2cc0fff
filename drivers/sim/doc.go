// Package sim is a simulated datacenter for tests, CI and examples: N
// machines, each with power and boot state, a disk file, an optional
// power-on delay, failure injection, and a real BMC endpoint on loopback.
//
// # BMC endpoints
//
// Each machine's BMC speaks IPMI 2.0 (RMCP+) and IPMI 1.5 over UDP on
// 127.0.0.1, faithfully enough that ipmitool drives it
// (ipmitool -I lanplus -C 3 -H 127.0.0.1 -p PORT -U admin -P password
// chassis power on). The RMCP+ session layer (RAKP, cipher suites 1-3 and
// 17 but not the unauthenticated suite 0, integrity, confidentiality) is
// github.com/bougou/go-ipmi's embeddable BMC server (pkg/server), bound to
// loopback by this package; the
// chassis behind it (power, boot flags, power-on delay, call log) and the
// failure injection are this package's. The IPMI endpoint lives in ipmi.go
// beside the machine model (machine.go), so that further protocol
// endpoints (a Redfish emulator) can be added next to it over the same
// machines.
//
// # Redfish
//
// Machines started with [EndpointRedfish] in Options.Endpoints (alone or
// with [EndpointIPMI]: both then share one power state) are systems of
// the datacenter's [RedfishService], one HTTP service on loopback
// (Options.RedfishListen), in the manner of sushy-tools:
//
//	/redfish/v1                                   service root (anonymous)
//	/redfish/v1/SessionService[/Sessions[/ID]]    POST creates a session (X-Auth-Token), DELETE logs out
//	/redfish/v1/Systems/NAME                      PowerState, Boot (PATCH), UUID, vendor, model, serial,
//	                                              processor and memory summaries, Links.ManagedBy
//	/redfish/v1/Systems/NAME/Actions/ComputerSystem.Reset
//	/redfish/v1/Systems/NAME/{Processors,EthernetInterfaces,SimpleStorage,Storage}
//	/redfish/v1/Managers/NAME/VirtualMedia/Cd     InsertMedia/EjectMedia actions and PATCH
//	/redfish/v1/Chassis/NAME
//
// Every resource but the service root and session login needs basic
// authentication or a session token (401 otherwise). Responses carry
// @odata.id and @odata.type, and an ETag; PATCH honours If-Match (412 on
// a stale tag) and GET If-None-Match (304). The reset action accepts the
// ResetType values it advertises (DefaultResetTypes, or
// [RedfishService.SetResetTypes]); during a delayed power change the
// system reports PoweringOn or PoweringOff. InsertMedia really fetches the
// image URL into a file beside the machine's disk ([Machine.Media]), and
// a power-on with a one-time Cd override and media inserted is recorded
// as a boot from that image ([Machine.BootedImage]). Debian's
// python3-sushy (Ironic's Redfish library) and gofish drive it in the
// tests; examples/sim-bmc serves it as a standalone program.
//
// # The sim:// driver
//
// Importing the package registers the "sim" scheme with package provision:
// sim://127.0.0.1:PORT names the machine whose IPMI endpoint is on PORT, in
// this process, and drives it directly without a network round trip
// (faults apply too). It implements [provision.PowerDriver],
// [provision.BootDeviceDriver] and [provision.InventoryDriver]; As reaches
// the *Machine. Use ipmi://127.0.0.1:PORT (package drivers/ipmi) to drive
// the same machine over the wire.
//
// # Failure injection
//
// [Machine.SetFault] makes the BMC unreachable (packets dropped, HTTP
// requests held unanswered), slow (answers delayed) or refuse every
// password, and the Redfish endpoint answer 500 or truncated JSON;
// [Machine.SetFlaky] makes every Nth Redfish request fail once with one of
// those, in turn. [Machine.SetPowerOnDelay] and [Machine.SetPowerOffDelay]
// make the machine reach "on" or "off" only some time after the command,
// as real servers do, which catches drivers that declare success early.
//
// # Booting
//
// Each machine has a directory of its own ([Machine.Dir], beside its disk
// file) that lasts across boots and deploys. [Datacenter.DeployStep]
// writes an image onto the disk with image.WriteImage (sparse-aware); its
// WithConfigDrive variant also writes a config drive into Dir()/config-2
// (standing for the config-2 partition Ironic writes).
//
// With a [Booter] (Options.Booter or [Datacenter.SetBooter]), a machine
// that powers on, power-cycles or resets from its disk (no boot override,
// or a disk one), through any path (IPMI, Redfish, the sim:// driver,
// [Machine.Power]), and whose disk holds a GPT, "boots": the Booter runs
// in a goroutine until the machine powers off or resets, or the
// Datacenter closes (Close waits for it). tripleo.NodeBooter is the
// Booter that extracts the image's root and runs its node agent.
// [Machine.BootStatus] shows how the last boot went (running, stopped,
// failed with the error, no OS on the disk); errors and panics of a
// Booter are logged, never raised.
//
// # Scale
//
// All machines live in one process: 1,000 of them with their BMCs take
// about 50 MiB of RSS (one ipmi_sim process per BMC took about 620 MB for
// the same count), which is what drivers/ipmi's BenchmarkPowerStatus
// sweeps.
package sim
