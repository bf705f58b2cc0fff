// Command os-collect-config is a drop-in replacement for TripleO's
// os-collect-config: it polls metadata sources, caches what they return in
// the original's layout, and runs a command when the metadata changes.
//
// Supported collectors: heat_local, ec2, request, local (the original's),
// and watch (ours: a long-poll source, --watch-metadata-url, served by
// refresh.MetadataServer, that sees a change in milliseconds). The
// original's cfn, heat and zaqar collectors are not built in: they are
// skipped with a warning when named or configured. Options are the
// original's (command line and oslo.config files: --config-file, or
// /etc/os-collect-config.conf): --command/-c, --cachedir,
// --backup-cachedir, positional collectors, --one-time, --force, --print,
// --print-cachedir, --min-polling-interval, --polling-interval/-i,
// --splay, --deployment-key, --debug, --local-path, --heat_local-path,
// --request-metadata-url, --request-timeout, --ec2-metadata-url,
// --ec2-timeout; exit statuses too (the command's status with --one-time,
// 2 on a usage error, 1 for an unknown collector), and SIGHUP re-executes
// the program (between two runs of the command; the original ignores it
// for good after the first run). Unlike the original the poll interval
// returns to the minimum after each change, a changed config file does not
// re-exec, and option values are taken literally (oslo.config would
// substitute "$name" with another option's value).
//
// With --agent it is the whole node agent (see refresh.Agent): collect,
// render the os-apply-config templates, run the os-refresh-config phases
// and signal the deployments, with no Python and no other binary.
package main
