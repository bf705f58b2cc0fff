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
// mains over this package, drop-in replacements for the Python tools;
// differential tests run both against Debian's originals.
//
// # Where it deliberately differs from the originals
//
//   - Script order is fixed to the C locale (an exported LC_ALL changes
//     dib-run-parts' tie order). No profiling banner is printed: durations
//     are in the Report and the log.
//   - The poll interval returns to the minimum after new content (the
//     original's documented intent; since 2017 it never resets), but not
//     while the same failed change is retried.
//   - Change detection is Python's == on the parsed values, as the original,
//     so reordered keys or 1 vs 1.0 are not a change.
//   - request and watch send If-None-Match/If-Modified-Since (one 304 for
//     unchanged metadata) instead of a HEAD and a GET every poll, and refuse
//     a body shorter than its Content-Length (the original accepts it when
//     what arrived parses) or a root that is not an object.
//   - Deployment names that are not plain file names, deployments without a
//     config, empty EC2 listing lines, FIFOs in a local directory and a
//     corrupt .last are skipped or handled with a warning where the
//     originals crash, hang or write outside the cache.
//   - The backup cache directory is swapped in atomically; cache files are
//     fsynced.
//   - heat-config-notify's final HTTP status is checked (a 4xx is an
//     error), and its body trimming works (it raises TypeError on Python 3).
//
// # The long-poll protocol (MetadataServer, Watch)
//
// GET returns the document with an ETag; If-None-Match gives 304 when
// unchanged; adding "?wait=S" (and the ETag as If-None-Match or "etag=")
// blocks up to S seconds until the document changes, then answers 200, or
// 304 when the wait expires.
package refresh
