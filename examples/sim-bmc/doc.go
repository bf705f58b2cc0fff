// Command sim-bmc serves simulated machines' BMCs on loopback until it is
// interrupted: every machine is a system of one Redfish service (and has
// an IPMI endpoint of its own, sharing the same power state), so that a
// deployer (this SDK's, Ironic, Metal3...) can be tested end to end
// without hardware, the way TripleO and Metal3 developers use
// sushy-tools.
//
//	go run ./examples/sim-bmc -machines N -listen 127.0.0.1:PORT -username U -password-file F [-power-delay 2s]
//
// It prints one line per machine on standard output,
//
//	<name> redfish+http://127.0.0.1:PORT/redfish/v1/Systems/<id> ipmi://127.0.0.1:<port>
//
// then runs until SIGINT or SIGTERM, and prints a summary (requests
// served, each machine's power state and the calls it received) on
// standard error. -power-delay makes power changes take effect that long
// after the command (the system reports PoweringOn/PoweringOff
// meanwhile), which catches deployers that declare success early. Only
// loopback addresses are accepted. These flags are stable: other tools
// call this one.
package main
