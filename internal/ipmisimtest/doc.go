// Package ipmisimtest starts OpenIPMI's ipmi_sim for tests: one BMC on a
// free loopback UDP port whose chassis (power, boot device) lives in files
// that a test can read and change, with a log of the chassis calls. It is
// the independent IPMI implementation our IPMI drivers and the Ironic
// driver's ipmi nodes are tested against.
package ipmisimtest
