// Command os-refresh-config is a drop-in replacement for TripleO's
// os-refresh-config: it runs the phase directories (pre-configure.d,
// configure.d, post-configure.d, migration.d) under its base directory with
// dib-run-parts' rules, and error.d when a phase fails.
//
// Flags, defaults and exit statuses are the original's: --print-base,
// --print-phases, --log-level, --lockfile (default
// /var/run/os-refresh-config.lock), --timeout SECONDS; exit 0 on success, 1
// when a phase fails or the timeout is reached, 11 when the lock is held,
// 2 on a usage error. The base directory is $OS_REFRESH_CONFIG_BASE_DIR, or
// /usr/libexec/os-refresh-config (or the deprecated
// /opt/stack/os-config-refresh when only that one exists). No dib-run-parts
// is needed: the scripts' environment.d files are sourced by bash.
package main
