#!/usr/bin/env bash
# Times Debian's Python os-apply-config and ours side by side on the same
# deterministically generated inputs (see bench/oac-compare/main.go):
# 1 MB metadata with 200 templates, 1,000 small templates (fresh, and
# again over an earlier run's tree), --key on the 1 MB file, and
# --version start-up. Prints median wall and CPU times, the speed-up, and
# the floor (the least any tool must do on the filesystem used; see
# bench/oac-compare/doc.go). Needs python3-os-apply-config (apt-get
# install it).
#
# Usage: bench/oac-compare.sh [-n RUNS] [-only big-meta-200,small-1000,...]
#        [-dir /dev/shm/oac]   (work on tmpfs: times the tools, not the disk)
#
# The inputs and outputs go under /var/tmp by default, not under $TMPDIR
# where `go build` (just before) and tests create and delete their work
# directories: on an ext4 without a journal (as this VM's root) creating
# an inode scans past every inode of its group deleted in the last 30 s
# (recently_deleted), which here made 1,000 file creations in /tmp cost
# 180-245 ms instead of 9-14 ms in /var/tmp, for both tools alike.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
work=$(mktemp -d -p /var/tmp oac-compare.XXXXXX)
trap 'rm -rf "$tmp" "$work"' EXIT
go build -o "$tmp/os-apply-config" ./cmd/os-apply-config
go build -o "$tmp/oac-compare" ./bench/oac-compare
dir=(-dir "$work/work")
for a in "$@"; do
	case $a in -dir | --dir | -dir=* | --dir=*) dir=() ;; esac
done
"$tmp/oac-compare" -ours "$tmp/os-apply-config" "${dir[@]}" "$@"
