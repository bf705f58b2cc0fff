// Package peertest finds the real peer programs (Debian's os-apply-config,
// ipmi_sim, ipmitool, qemu-img, ...) that differential and integration tests
// run beside our code.
//
// A missing peer skips the test on a developer's machine, but fails it when
// the environment variable TRIPLEO_REQUIRE_PEERS is set to 1, as .ci/run
// does: in CI a peer that did not install is a failure, never a silent skip.
package peertest
