// Command stack deploys a HOT template with the embedded orchestrate
// engine, as `openstack stack create` did with Heat:
//
//	go run ./examples/stack -template T.yaml [-e env.yaml]... [-P key=value]... \
//	    [-state FILE] create|update|delete|show
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
package main
