// Package runparts holds the rules of diskimage-builder's dib-run-parts
// (dib-utils 0.0.11): which files of a directory are run, in which order,
// and how the shared environment.d directory is sourced, so that the phase
// runner of package refresh (and image elements later) run exactly what
// the original would.
//
// The order is fixed to what dib-run-parts gives under the C locale
// ("LANG=C sort -n"): the leading number first, then the whole name byte by
// byte. The original lets an exported LC_ALL change the tie order; this
// package does not.
package runparts
