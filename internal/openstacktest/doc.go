// Package openstacktest starts a real OpenStack service (a standalone
// Ironic or Heat on loopback, through the scripts in .ci/openstack) once
// for a package's tests, from TestMain, and hands its endpoint to the
// tests that need it.
//
// A [Service] names the script, the binaries it needs and the environment
// variable that points the tests at a service already running instead.
// [Service.Main] is the whole TestMain: it starts the service when the
// binaries are installed and tests will run (not for -list, -fuzz or
// -run '^$'), runs the tests, stops the service and removes its state.
// [Service.Need] returns the endpoint to a test, skipping it when the
// service is not installed, or failing it when TRIPLEO_REQUIRE_PEERS=1
// (internal/peertest), and failing it when the service did not start.
package openstacktest
