#!/usr/bin/env bash
# Benchmarks JuneTransformer (release build, one thread) and measures heap allocations per event.
#   scripts/bench-transform.sh [ITERATIONS]
# Allocations/event = (valgrind allocs at N2 - allocs at N1) / (N2 - N1), so start-up allocations cancel out.
set -euo pipefail
cd "$(dirname "$0")/.."
iterations="${1:-2000000}"
swift build -c release --product transform-bench >/dev/null
bin=.build/release/transform-bench
"$bin" --iterations "$iterations"

if ! command -v valgrind >/dev/null; then
    echo "allocations:     (valgrind not installed; skipped)"
    exit 0
fi
allocs() {
    valgrind --tool=memcheck --leak-check=no "$bin" --iterations "$1" --quiet 2>&1 \
        | sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' | tr -d ,
}
n1=1000
n2=11000
a1=$(allocs "$n1")
a2=$(allocs "$n2")
awk -v a1="$a1" -v a2="$a2" -v n1="$n1" -v n2="$n2" \
    'BEGIN { printf "allocations:     %.2f per event (valgrind: %d allocs at %d events, %d at %d)\n", (a2 - a1) / (n2 - n1), a1, n1, a2, n2 }'
