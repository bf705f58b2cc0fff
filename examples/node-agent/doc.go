// Command node-agent shows the node agent (refresh.Agent) at work, with
// nothing installed: it builds a small node in a temporary directory (a
// local metadata file, os-apply-config templates, an os-refresh-config
// phase tree), starts a loopback HTTP endpoint standing in for the
// orchestrator's deployment signal, runs the agent, changes the metadata,
// and shows the configuration re-rendered, the phases re-run and both
// signals received.
//
//	go run ./examples/node-agent
package main
