// Package refresh is the node agent's half of TripleO's on-node toolchain:
// what os-collect-config, os-refresh-config and dib-run-parts did, in Go.
//
//   - PhaseRunner runs the phase directories (pre-configure.d, configure.d,
//     post-configure.d, migration.d, and error.d on failure) with
//     dib-run-parts' rules: which files run, numeric-then-byte order,
//     environment.d sourced by bash so only exported variables reach the
//     scripts, the first failure stops the run with a *PhaseError, a flock()
//     lock file compatible with os-refresh-config's, and a timeout that kills
//     the running script's whole process group.
//   - Collectors (local, request, ec2, and Watch, a long-poll source served
//     by MetadataServer) fetch metadata; Cache stores it in
//     os-collect-config's layout (name.json, .last, .orig,
//     os_config_files.json, a backup copy) and detects changes by content.
//   - Poll is os-collect-config's loop: collect, and when something changed
//     run a command, committing .last only when it succeeds, with a backoff
//     that returns to the minimum interval after a change, and a splay.
//   - Signaler reports a deployment's result to the orchestrator as Heat's
//     heat-config-notify does, and Agent chains collect → apply → phases →
//     signal in one loop.
//
// The cmd/os-refresh-config and cmd/os-collect-config binaries are thin
// mains over this package, drop-in replacements for the Python tools.
package refresh
