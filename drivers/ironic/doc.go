// Package ironic drives bare-metal nodes through a real OpenStack Ironic,
// over its REST API with github.com/gophercloud/gophercloud/v2 (v2.15.0):
// what package provision's embedded [provision.Provisioner] does in
// process, done by Ironic's conductor instead.
//
// # Connecting
//
// [OpenNoAuth] (auth_strategy = noauth), [OpenHTTPBasic] (http_basic, the
// user's [provision.Credentials]) and [OpenKeystone] (a Keystone token and
// the service catalogue) connect and check that Ironic answers; [New]
// wraps a gophercloud service client built any other way. Every request
// carries API microversion [DefaultMicroversion] (1.78, Ironic Zed) unless
// Options.Microversion says otherwise. [Provisioner.As] reaches the
// *gophercloud.ServiceClient.
//
// # The same methods as the embedded provisioner
//
// [Provisioner] has Enroll, Manage, Inspect, Provide, Deploy, Undeploy and
// Power with the embedded provisioner's signatures: both implement
// [provision.Lifecycle], and a program moves from one to the other by
// changing its constructor. Beside them: Get, List, Delete,
// SetBootDevice, BootDevice, Rebuild and WaitProvisionState.
//
// A node's BMC address becomes Ironic's hardware type and driver_info:
//
//	ipmi://h[:p][?cipher=N]      ipmi: ipmi_address, ipmi_port, ipmi_protocol_version 2.0,
//	                             ipmi_cipher_suite (default 3), ipmi_username, ipmi_password
//	ipmi+lan://h[:p]             ipmi with ipmi_protocol_version 1.5
//	redfish[+https]://h[:p]/sys  redfish: redfish_address https://h[:p], redfish_system_id /sys,
//	                             redfish_verify_ca false (insecure=true) or PATH (ca=PATH),
//	                             redfish_auth_type (auth=session|basic), redfish_username, redfish_password
//	redfish+http://h[:p]/sys     the same over plain HTTP
//	fake://anything              fake-hardware with the fake boot, deploy, power,
//	                             management and inspect interfaces (Ironic's own test driver)
//
// Enroll also creates one Ironic port per MAC, stores Properties and the
// Inventory fields as Ironic properties (cpus, cpu_arch, memory_mb,
// local_gb) and keeps the BMC address as written in the node's extra
// (tripleo_bmc_address), so that Get returns it unchanged. Ironic's
// provision states map onto ours by name ([StateFromIronic]); its waiting
// states fold into the nearest of ours (inspect wait → inspecting, clean
// wait and clean hold → cleaning, deploy hold → deploying); rescue,
// adoption and servicing states have no counterpart and are an error.
//
// Every state change waits with the package's own poller
// ([Provisioner.WaitProvisionState]), which stops as soon as a node
// reaches a "* failed" state or "error", or rests in an unexpected stable
// state with last_error set, returning a [*StateError]; gophercloud's
// nodes.WaitForProvisionState compares the state only and would wait out
// its whole timeout. Errors are *provision.OpError whose cause classifies
// with the provision sentinels: 404 ErrNotFound, 409 on create ErrExists,
// 409 "locked" ErrLocked, an action refused in the current state
// ErrInvalidTransition, 401/403 ErrAuth, 5xx and no answer ErrUnreachable.
//
// # Differences from the embedded provisioner
//
//   - Deploy takes an [Image] (URL and checksum, which Ironic's agent
//     fetches and verifies) among its steps; other deploy steps cannot run
//     inside Ironic and fail with provision.ErrUnsupported. A real deploy
//     of an ipmi or redfish node needs the Ironic Python Agent to call
//     back (Ironic waits in "wait call-back", then fails after its
//     deploy_callback_timeout); fake-hardware nodes deploy at once.
//   - Deploy on an active, deploy failed or error node is Ironic's
//     "rebuild", as the embedded provisioner's Deploy is; Rebuild says so
//     by name.
//   - Cleaning is Ironic's: with automated_clean off, provide goes
//     straight to available and nothing powers the machine off, where the
//     embedded provisioner powers it off.
//   - Locks are Ironic's: a request Ironic answers with 409 "locked" is
//     retried for Options.LockRetryTimeout (10 s by default, as
//     python-ironicclient retries), then fails with ErrLocked; the
//     conductor keeps a node locked for a moment after a state change
//     settles, so an operation right after another can meet it. Under
//     load Ironic 21.4 can also delete a node and then answer 400
//     "found not to be locked on release" (its tasks all lock with the
//     conductor's host name, and it can read a stale row when
//     releasing); Delete then asks whether the node is gone and deletes
//     it again if not.
//     Operations are not capped by a MaxConcurrent of ours.
//   - Power sync is Ironic's periodic task (sync_power_state_interval,
//     force_power_state_during_sync); there is no SyncPower here.
//   - Inspect fills Inventory from the properties Ironic's inspect
//     interface sets (cpus, cpu_arch, memory_mb, local_gb) and the ports
//     it creates, once Ironic records inspection_finished_at (Inventory
//     is nil before, unless given at enrollment); Extra stays empty.
//     Ironic's fake inspect interface finds nothing but the ports.
//   - Ironic cannot clear a boot override (SetBootDevice with
//     provision.BootNone is ErrUnsupported).
//   - Node names follow Ironic's rules as well as ours; UUIDs must be
//     UUIDs.
//
// # Secrets
//
// The BMC password goes to Ironic in driver_info and nowhere else: it is
// never logged, and every password this Provisioner has sent is scrubbed
// (as [REDACTED]) from error texts and last_error before they reach the
// caller. Ironic masks it in its API answers. Ironic 21.4.4 (Debian 12)
// itself writes BMC passwords in clear to the conductor log on provide, a
// bug fixed upstream: keep the conductor's log private.
//
// # Tests
//
// The integration tests start a standalone Ironic (Debian's ironic-api and
// ironic-conductor, noauth, json-rpc, sqlite, on 127.0.0.1 and free
// ports) with .ci/openstack/ironic.sh in TestMain, or use the one named by
// TRIPLEO_IRONIC_URL. Without Ironic installed they skip, or fail when
// TRIPLEO_REQUIRE_PEERS=1. They take a fake-hardware node through the
// whole lifecycle; an ipmi node whose BMC is OpenIPMI's ipmi_sim, and an
// ipmi node and a redfish node whose BMCs are drivers/sim machines
// (Ironic's own ipmitool and sushy talk to them), through manage, power on
// and off, boot device and provide; the redfish node also through
// inspection. OpenHTTPBasic runs against a second ironic-api with
// auth_strategy = http_basic beside it (a wrong password is ErrAuth).
// One lifecycle scenario (enroll, inspect, provide, power, deploy,
// rebuild, undeploy, manage, and a refused transition) runs with the same
// expectations on the embedded provisioner (a drivers/sim machine) and on
// Ironic (a fake-hardware node), through an interface both satisfy.
// The poller's failure modes are unit-tested under
// testing/synctest against a scripted in-process Ironic.
package ironic
