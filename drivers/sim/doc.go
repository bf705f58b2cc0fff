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
// [Machine.SetFault] makes the BMC unreachable (packets dropped), slow
// (answers delayed) or refuse every password; [Machine.SetPowerOnDelay]
// makes the machine reach "on" only some time after the command, as real
// servers do, which catches drivers that declare success early.
//
// # Scale
//
// All machines live in one process: 1,000 of them with their BMCs take
// about 50 MiB of RSS (one ipmi_sim process per BMC took about 620 MB for
// the same count), which is what drivers/ipmi's BenchmarkPowerStatus
// sweeps.
package sim
