// Command stack deploys a HOT template with the embedded orchestrate
// engine, as `openstack stack create` did with Heat:
//
//	go run ./examples/stack -template T.yaml [-e env.yaml]... [-P key=value]... \
//	    [-state FILE] create|update|delete|show
//	go run ./examples/stack -state FILE [-resource R] [-marker ID] [-limit N] events
//
// Events are printed on stderr as they happen; on success the stack
// outputs are printed on stdout as one JSON object (output name → value,
// null for outputs whose condition is false). The exit status is non-zero,
// with the error on stderr, on failure. update and delete use the state
// file written by create; it defaults to the template's path with its
// extension replaced by ".state", and the simulated servers live in a
// directory beside it (FILE.cloud). Servers are simulated: the built-in
// types plus Sim::Server, also registered as OS::Nova::Server. Other tools
// call this program: these flags are stable.
//
// events lists the stack's past events from the history kept beside the
// state file (the newest 1000), oldest first: one line each on stderr,
// as they were printed when they happened, and the list as a JSON array
// of Heat's event fields on stdout; -resource keeps one resource's,
// -marker those after an event ID, -limit caps the count.
package main
