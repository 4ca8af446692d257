#!/usr/bin/env bash
# Runs the Kafka tests under LeakSanitizer and fails on any leak.
#
# The debug test binary is not rebuilt with -sanitize=address: GCC's standalone LeakSanitizer runtime
# (liblsan.so.0, Debian package liblsan0, pulled in by gcc) is preloaded into it instead. It intercepts
# malloc/free (librdkafka's and Swift's) and checks for unreachable blocks at exit. valgrind 3.19 cannot
# read the DWARF 5 that Swift 6.3 emits, so it is not used. With KAFKA_LEAK_CHECK=1 the tests also call
# rd_kafka_wait_destroyed at exit: a never-destroyed rd_kafka_t stays reachable from its own threads,
# which LeakSanitizer cannot report.
#
# Usage: scripts/leak-check.sh [test filter]   (default: KafkaTests and DevBrokerKcatTests)
set -euo pipefail
cd "$(dirname "$0")/.."

filter="${1:-KafkaTests|DevBrokerKcatTests}"
lsan="${LSAN_LIBRARY:-$(ls /usr/lib/*-linux-gnu/liblsan.so.0 2>/dev/null | head -n1)}"
if [[ -z "$lsan" ]]; then
    echo "leak-check: liblsan.so.0 not found (apt-get install liblsan0)" >&2
    exit 2
fi

swift build --build-tests
binary="$(swift build --show-bin-path)/june-relayPackageTests.xctest"
log="$(mktemp -t kafka-leak-check.XXXXXX)"

set +e
KAFKA_LEAK_CHECK=1 \
LD_PRELOAD="$lsan" \
LSAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:max_leaks=50:exitcode=23:print_suppressions=0:suppressions=$PWD/scripts/lsan-suppressions.txt" \
    "$binary" --testing-library swift-testing --filter "$filter" >"$log" 2>&1
status=$?
set -e

grep -E '✔|✘' "$log" | sed 's/\x1b\[[0-9;]*m//g' || true
if grep -q 'ERROR: LeakSanitizer' "$log"; then
    sed -n '/ERROR: LeakSanitizer/,$p' "$log"
    echo "leak-check: LEAKS FOUND (full log: $log)" >&2
    exit 1
fi
if grep -q 'KAFKA-HANDLES: OUTSTANDING' "$log"; then
    echo "leak-check: some librdkafka handle was never destroyed (rd_kafka_wait_destroyed timed out; log: $log)" >&2
    exit 1
fi
grep -h 'KAFKA-HANDLES' "$log" || true
if [[ $status -ne 0 ]]; then
    echo "leak-check: tests failed with status $status (full log: $log)" >&2
    exit "$status"
fi
echo "leak-check: no leaks ($filter)"
rm -f "$log"
