// Command quickstart is the reference deployer a new user runs first: the
// TripleO flow on embedded defaults, with no server installed.
//
//	go run ./examples/quickstart [-nodes 8] [-json] [-dir DIR]
//
// The steps (each timed in the summary):
//
//  1. A simulated datacenter on loopback (drivers/sim): even machines with
//     an IPMI BMC, driven over the wire by drivers/ipmi, odd ones with a
//     Redfish BMC, driven by drivers/redfish.
//  2. The golden image, built with image.Build from the small root
//     filesystem in rootfs/ and the element in elements/toy-service (an
//     os-apply-config template and os-refresh-config phase scripts of a toy
//     service), in two versions (v1, v2) that differ in /etc/toy-release.
//  3. Cloud.Bootstrap, the seed's work: every machine enrolled from an
//     inventory with profiles in the manner of TripleO's instackenv.json,
//     inspected when its BMC can tell its hardware (Redfish), provided.
//  4. Cloud.DeployUndercloud (2 control nodes) then Cloud.DeployOvercloud
//     (1 controller and the computes, a tenant of the undercloud), from the
//     HOT templates in templates/, running image v1 (its digest is the
//     ImageDigest parameter); each server a bare-metal node claimed from the
//     pool by profile and placed on the node tagged for it (the scheduler
//     hint capabilities:node).
//  5. Every overcloud node booted v1, rendered /etc/toy/toy.conf with the
//     values of the stack's ToyGreeting and ToyWorkers parameters, ran the
//     phase scripts and signalled its deployment.
//  6. Cloud.Update to image v2, rolling one server at a time (the groups'
//     rolling_update), then Cloud.Rollback to v1; toy/first-boot, written
//     on the persistent volume at the first boot, is still there on every
//     node.
//  7. A compute's machine dies (powered off, its BMC stops answering);
//     Cloud.Probe finds it, and Cloud.Recover puts it in maintenance and
//     replaces its server in place from the pool: the first spare takes
//     the dead node's placement tag and the server, boots v1, is
//     configured and signals.
//  8. The summary: nodes (BMC protocol, profile, state, power, server, image
//     digest, deployments signalled), images, stacks (owner, image history),
//     the recovery, the checks made and the timings.
//
// Progress goes to stderr, one line per event, stamped with the time since
// the start; the summary goes to stdout as text, or as JSON with -json.
// With -nodes N the datacenter has N machines (at least 5): a quarter are
// spares and the overcloud gets the rest as computes.
//
// The machines boot for real, as far as data goes: once its image is
// deployed a machine runs the Cloud's NodeBooter (drivers/sim's Booter),
// which extracts the image's root into the machine's directory and runs
// the node agent (refresh.Agent) against the Cloud's metadata service,
// with the phase scripts writing under $ROOT and the persistent volume
// $VOLUME.
package main
