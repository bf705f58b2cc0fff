// Package argparse parses command lines the way Python's argparse module
// (Python 3.11) does, for the drop-in replacements of Python tools in cmd/:
// options with zero-or-more values (nargs='*'), a repeated option replacing
// the earlier value, "--opt=value" and "-oVALUE" forms, clusters of short
// flags ("-vt DIR"), unambiguous abbreviations of long options, negative
// numbers taken as values, and argparse's usage, help and error texts
// (exit status 2 on a usage error).
//
// Only what the ported tools need is implemented: optional arguments (no
// positionals), the store, store_true, version and help actions.
package argparse
