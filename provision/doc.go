// Package provision enrolls bare-metal machines and moves them through their
// lifecycle, the role Nova baremetal and then Ironic played in TripleO.
//
// # Pieces
//
//   - [Node] is one machine: name, UUID, BMC address, [Credentials], MACs,
//     properties, hardware inventory, provision and power state, last error.
//   - [Inventory] stores nodes; [OpenFileInventory] is the embedded default,
//     one JSON file rewritten atomically (temp file, fsync, rename, directory
//     fsync) so a crash mid-write leaves the previous content intact.
//   - A BMC address has the grammar driver[+transport]://host[:port][/path]
//     (ipmi://10.0.0.5, ipmi+lan://bmc:623, redfish+https://bmc/redfish/v1,
//     sim://127.0.0.1:9001). [ParseBMCAddress] parses it; credentials are
//     never part of it. Drivers join a registry by scheme in their init
//     function with [Register], the database/sql pattern, so a program's
//     import list decides which drivers it has.
//   - [PowerDriver] is the one interface a driver must implement. Boot
//     device ([BootDeviceDriver]), virtual media ([VirtualMediaDriver]) and
//     hardware inventory ([InventoryDriver]) are optional interfaces found by
//     type assertion.
//   - [BMC] wraps a driver and does the shared work: idempotent, verified
//     power actions (an action succeeds only when the BMC reports the target
//     state, polled with backoff within a deadline), retries of transient
//     failures, a minimum interval between commands, logging without
//     secrets, error wrapping and closed-state checks.
//   - [Transitions] is Ironic's provision state machine as a data table.
//   - [Provisioner] is the embedded, in-process default: Enroll, Manage,
//     Inspect, Provide, Deploy and Undeploy, with per-node locks, a cap on
//     concurrent operations and a power-state sync ([Provisioner.SyncPower]).
//
// The conformance suite every power driver runs is in package
// provision/powertest. This package imports no driver and no protocol
// library: drivers (drivers/ipmi, drivers/sim, ...) import it.
package provision
