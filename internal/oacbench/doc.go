// Package oacbench generates the benchmark inputs of the os-apply-config
// comparison (the scenarios of the peer notes, §7) deterministically, so
// that config's Go benchmarks and bench/oac-compare time the same work:
//
//   - BigMeta ("big-meta-200"): a metadata file of about 1 MB (200
//     services, 500 hosts, opaque 64-character blobs as padding) and 200
//     templates of about 520 output lines each, using dotted names, an
//     object section, a 5-item list section, an inverted section and a
//     500-item list section with a nested section.
//   - Small ("small-1000"): about 2 KB of metadata and 1,000 four-line
//     templates in 20 directories.
package oacbench
