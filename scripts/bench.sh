#!/usr/bin/env bash
# make bench: the release binary against dev-broker and june-stub (separate processes, real sockets).
# 8 partitions, USERS users, a backlog of EVENTS events produced before the relay starts; June latency
# 0 ms and 20 ms. Prints events/s, relay CPU seconds per 10,000 events and the relay's peak RSS.
#   scripts/bench.sh [BIN]      env: EVENTS (default 1000000), USERS (10000), LATENCIES ("0 20"),
#                               RELAY_FLAGS (extra flags for `run`, e.g. "--max-in-flight 512")
set -euo pipefail
BIN=${1:-.build/release/june-relay}
EVENTS=${EVENTS:-1000000}
USERS=${USERS:-10000}
LATENCIES=${LATENCIES:-"0 20"}
RELAY_FLAGS=${RELAY_FLAGS:-}
WORK=$(mktemp -d /tmp/june-relay-bench.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

first_line() { # file, timeout seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do [ -s "$1" ] && { head -1 "$1"; return; }; sleep 0.1; done
  echo "timed out waiting for $1" >&2; exit 1
}
stat_field() { curl -s "$1/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "june-relay benchmark: $EVENTS events, $USERS users, 8 partitions; machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
printf "%-10s %10s %10s %12s %16s %14s\n" "latency" "events" "seconds" "events/s" "CPU s/10k ev" "peak RSS MB"
for latency in $LATENCIES; do
  run="$WORK/latency-$latency"; mkdir -p "$run"
  "$BIN" dev-broker --partitions 8 --topic bench --topic bench.dlq --log-level warning >"$run/broker.out" 2>"$run/broker.log" &
  PIDS+=($!); broker=$!
  bootstrap=$(first_line "$run/broker.out" 30)
  "$BIN" dev-produce --brokers "$bootstrap" --topic bench --events "$EVENTS" --users "$USERS" --compression zstd --log-level warning >"$run/produce.out" 2>&1
  retained=$("$BIN" offsets show --brokers "$bootstrap" --group none --topic bench | awk '$1 ~ /^[0-9]+$/ {n += $4 - $3} END {print n}')
  [ "$retained" -lt "$EVENTS" ] && echo "warning: the dev broker kept only $retained of $EVENTS events (5 MiB per partition)" >&2
  "$BIN" june-stub --port 0 --latency-ms "$latency" --log-level warning >"$run/stub.out" 2>"$run/stub.log" &
  PIDS+=($!); stub=$!
  stub_url=$(first_line "$run/stub.out" 30)
  JUNE_WRITE_KEY=bench-key "$BIN" run --brokers "$bootstrap" --topic bench --group bench-$latency \
    --june-url "$stub_url" --metrics-port "$(free_port)" --log-level info $RELAY_FLAGS >"$run/relay.out" 2>"$run/relay.log" &
  PIDS+=($!); relay=$!
  start=""; deadline=$(( $(date +%s) + 1800 ))
  while :; do
    accepted=$(stat_field "$stub_url" uniqueAccepted)
    now=$(date +%s.%N)
    [ -z "$start" ] && [ "$accepted" -gt 0 ] && start=$now
    [ "$accepted" -ge "$EVENTS" ] && break
    [ "$(date +%s)" -gt "$deadline" ] && { echo "timed out at $accepted/$EVENTS" >&2; break; }
    sleep 0.2
  done
  end=$(date +%s.%N)
  ticks=$(getconf CLK_TCK)
  cpu=$(awk -v t="$ticks" '{print ($14+$15)/t}' "/proc/$relay/stat")
  rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$relay/status")
  violations=$(stat_field "$stub_url" orderViolations)
  kill -TERM "$relay"; wait "$relay" || true
  kill -TERM "$stub" "$broker"; wait "$stub" "$broker" 2>/dev/null || true
  PIDS=()
  python3 - "$latency" "$accepted" "$start" "$end" "$cpu" "$rss_kb" "$violations" <<'PY'
import sys
latency, accepted, start, end, cpu, rss_kb, violations = sys.argv[1:]
accepted = int(accepted); seconds = float(end) - float(start)
print(f"{latency + ' ms':<10} {accepted:>10} {seconds:>10.1f} {accepted / seconds:>12.0f} {float(cpu) * 10000 / accepted:>16.3f} {int(rss_kb) / 1024:>14.0f}"
      + ("" if violations == "0" else f"   ORDER VIOLATIONS: {violations}"))
PY
done
echo "(seconds: first to last delivery; CPU: the relay process only; the broker and stub share the same $(nproc) cores)"
