// Command oac-compare times Debian's os-apply-config (Python) and ours on
// the same generated inputs, alternately, in one run, and prints the median
// wall-clock and CPU time of each and the speed-up.
//
// Scenarios (inputs from internal/oacbench, generated deterministically):
//
//	big-meta-200    1 MB metadata, 200 templates of ~520 output lines
//	small-1000      2 KB metadata, 1,000 small templates in 20 directories
//	small-1000-same small-1000 again over the tree an earlier run left, every
//	                file already right (the common run in TripleO, where
//	                any metadata change reruns os-apply-config)
//	small-1000-chg  small-1000 over the tree of other metadata (another
//	                node address): every file changes
//	key-lookup-1mb  --key services.svc123.db.host --type netaddress on the 1 MB file
//	startup         --version
//
// Each scenario runs once per tool as a warm-up (discarded), then -n times
// per tool, alternating, each rendering run into a fresh output directory
// (for the reruns, a fresh copy of the tree the original rendered, made
// before the timing starts).
// CPU time is the child's user+system time (rusage).
//
// The scenarios that write an output tree also time a floor, alternating
// with the two tools: this program run with -floor reads the metadata and
// the templates and writes the templates unrendered, in parallel, with no
// stat, mode, log or sync: through temporary files renamed into place in
// the output directory, and in the new directories below it (built under
// temporary names, as ours does) straight under their names (floor.go). It is the least any os-apply-config must do, so Python's
// time divided by the floor's (the python/floor column) is the largest
// speed-up any tool could show on the machine: on a filesystem where
// creating files is slow, that bound can be under a target.
//
// Usage (bench/oac-compare.sh builds ours first):
//
//	go run ./bench/oac-compare -ours /path/to/os-apply-config [-real /usr/bin/os-apply-config] [-n 9]
package main
