#!/usr/bin/env bash
# Times Debian's Python os-apply-config and ours side by side on the same
# deterministically generated inputs (see bench/oac-compare/main.go):
# 1 MB metadata with 200 templates, 1,000 small templates, --key on the
# 1 MB file, and --version start-up. Prints median wall and CPU times and
# the speed-up. Needs python3-os-apply-config (apt-get install it).
#
# Usage: bench/oac-compare.sh [-n RUNS] [-only big-meta-200,small-1000,...]
#        [-dir /dev/shm/oac]   (work on tmpfs: times the tools, not the disk)
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/os-apply-config" ./cmd/os-apply-config
go build -o "$tmp/oac-compare" ./bench/oac-compare
"$tmp/oac-compare" -ours "$tmp/os-apply-config" -dir "$tmp/work" "$@"
