#!/usr/bin/env bash
# make bench: the release binary against dev-broker and june-stub (separate processes, real sockets).
# 8 partitions, USERS users (20% of the events from 1% of them), a backlog of EVENTS events produced
# before the relay starts; each June latency in LATENCIES. Prints the steady-state events/s (between
# 10% and 90% of the backlog delivered, so start-up and the tail are excluded), the relay's CPU per
# event over the same stretch, its peak RSS and the events per June request.
#   scripts/bench.sh [BIN]      env: EVENTS (default 1000000), USERS (10000), LATENCIES ("0 20 100"),
#                               DELIVERY (single or batch; default single),
#                               RELAY_FLAGS (extra flags for `run`, e.g. "--max-in-flight 512")
set -euo pipefail
BIN=${1:-.build/release/june-relay}
EVENTS=${EVENTS:-1000000}
USERS=${USERS:-10000}
LATENCIES=${LATENCIES:-"0 20 100"}
DELIVERY=${DELIVERY:-single}
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

echo "june-relay benchmark: delivery $DELIVERY, $EVENTS events, $USERS users, 8 partitions; machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
printf "%-10s %10s %10s %12s %14s %12s %12s\n" "latency" "events" "seconds" "events/s" "CPU µs/event" "peak RSS MB" "events/req"
for latency in $LATENCIES; do
  run="$WORK/latency-$latency"; mkdir -p "$run"
  "$BIN" dev-broker --partitions 8 --topic bench --topic bench.dlq --log-level warning >"$run/broker.out" 2>"$run/broker.log" &
  PIDS+=($!); broker=$!
  bootstrap=$(first_line "$run/broker.out" 30)
  "$BIN" dev-produce --brokers "$bootstrap" --topic bench --events "$EVENTS" --users "$USERS" --skewed --compression zstd --log-level warning >"$run/produce.out" 2>&1
  retained=$("$BIN" offsets show --brokers "$bootstrap" --group none --topic bench | awk '$1 ~ /^[0-9]+$/ {n += $4 - $3} END {print n}')
  [ "$retained" -lt "$EVENTS" ] && echo "warning: the dev broker kept only $retained of $EVENTS events (5 MiB per partition)" >&2
  "$BIN" june-stub --port 0 --latency-ms "$latency" --log-level warning >"$run/stub.out" 2>"$run/stub.log" &
  PIDS+=($!); stub=$!
  stub_url=$(first_line "$run/stub.out" 30)
  metrics_port=$(free_port)
  JUNE_WRITE_KEY=bench-key "$BIN" run --brokers "$bootstrap" --topic bench --group bench-$latency \
    --june-url "$stub_url" --metrics-port "$metrics_port" --delivery "$DELIVERY" --log-level info $RELAY_FLAGS \
    >"$run/relay.out" 2>"$run/relay.log" &
  PIDS+=($!); relay=$!
  ticks=$(getconf CLK_TCK)
  cpu_now() { awk -v t="$ticks" '{print ($14+$15)/t}' "/proc/$relay/stat"; }
  low=$(( EVENTS / 10 )); high=$(( EVENTS * 9 / 10 ))
  t1=""; t2=""; a1=0; a2=0; c1=0; c2=0; deadline=$(( $(date +%s) + 1800 ))
  while :; do
    accepted=$(stat_field "$stub_url" uniqueAccepted)
    if [ -z "$t1" ] && [ "$accepted" -ge "$low" ]; then t1=$(date +%s.%N); a1=$accepted; c1=$(cpu_now); fi
    if [ -z "$t2" ] && [ "$accepted" -ge "$high" ]; then t2=$(date +%s.%N); a2=$accepted; c2=$(cpu_now); fi
    [ "$accepted" -ge "$EVENTS" ] && break
    [ "$(date +%s)" -gt "$deadline" ] && { echo "timed out at $accepted/$EVENTS" >&2; break; }
    sleep 0.1
  done
  rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$relay/status")
  violations=$(stat_field "$stub_url" orderViolations)
  requests=$(curl -s "localhost:$metrics_port/metrics" | awk '/^relay_june_request_duration_seconds_count/ {n += $NF} END {print n + 0}')
  kill -TERM "$relay"; wait "$relay" || true
  kill -TERM "$stub" "$broker"; wait "$stub" "$broker" 2>/dev/null || true
  PIDS=()
  python3 - "$latency" "$accepted" "$t1" "$t2" "$a1" "$a2" "$c1" "$c2" "$rss_kb" "$violations" "$requests" <<'PY'
import sys
latency, accepted, t1, t2, a1, a2, c1, c2, rss_kb, violations, requests = sys.argv[1:]
if not t2:
    print(f"{latency + ' ms':<10} {accepted:>10}   did not reach 90% of the backlog"); sys.exit()
events = int(a2) - int(a1); seconds = float(t2) - float(t1)
per_request = int(accepted) / max(1, int(float(requests)))
print(f"{latency + ' ms':<10} {events:>10} {seconds:>10.1f} {events / seconds:>12.0f} {(float(c2) - float(c1)) * 1e6 / events:>14.1f}"
      f" {int(rss_kb) / 1024:>12.0f} {per_request:>12.1f}"
      + ("" if violations == "0" else f"   ORDER VIOLATIONS: {violations}"))
PY
done
echo "(events and seconds: from 10% to 90% of the backlog delivered; CPU: the relay process only; the broker and stub share the same $(nproc) cores)"
