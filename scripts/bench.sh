#!/usr/bin/env bash
# make bench: the release binary against dev-broker and june-stub (separate processes, real sockets).
# 8 partitions, USERS users (20% of the events from 1% of them), a backlog of EVENTS events produced
# before the relay starts; each June latency in LATENCIES. Prints the steady-state events/s (between
# 10% and 90% of the backlog delivered, so start-up and the tail are excluded), the relay's CPU per
# event over the same stretch, its peak RSS and the events per June request.
#
# With CAPACITY=N (make bench-capacity: N=32), the capacity run instead: a June stub serving N requests
# at once at CAPACITY_LATENCY ms (default 20; ceiling N × 1000 / latency requests/s), once answering 429
# beyond N (--capacity-429 N) and once queueing beyond N (--capacity N), each against the relay with
# --concurrency adaptive and --concurrency fixed. Prints events/s, the share of requests answered 429,
# the stub's observed latency (arrival to answer, whole run) and the relay's
# relay_june_concurrency_limit gauge once a second.
#   scripts/bench.sh [BIN]      env: EVENTS (default 1000000; 100000 with CAPACITY), USERS (10000),
#                               LATENCIES ("0 20 100"), DELIVERY (single or batch; default single),
#                               RELAY_FLAGS (extra flags for `run`, e.g. "--max-in-flight 512"),
#                               CAPACITY, CAPACITY_LATENCY (20), CONCURRENCY_MODES ("adaptive fixed"; the
#                               mode "default" runs without --concurrency, for binaries that predate it)
set -euo pipefail
BIN=${1:-.build/release/june-relay}
CAPACITY=${CAPACITY:-}
EVENTS=${EVENTS:-$([ -n "$CAPACITY" ] && echo 100000 || echo 1000000)}
USERS=${USERS:-10000}
LATENCIES=${LATENCIES:-"0 20 100"}
DELIVERY=${DELIVERY:-single}
RELAY_FLAGS=${RELAY_FLAGS:-}
CAPACITY_LATENCY=${CAPACITY_LATENCY:-20}
CONCURRENCY_MODES=${CONCURRENCY_MODES:-"adaptive fixed"}
WORK=$(mktemp -d /tmp/june-relay-bench.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

first_line() { # file, timeout seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do [ -s "$1" ] && { head -1 "$1"; return; }; sleep 0.1; done
  echo "timed out waiting for $1" >&2; exit 1
}
stats_json() { curl -s "$1/stats"; }
json_field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
gauge() { # metrics port, name → value or "-"
  curl -s "localhost:$1/metrics" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 {v = $NF} END {print (v == "" ? "-" : v)}'
}

# One run: a fresh broker with the backlog, a stub (STUB_ARGS), the relay (EXTRA_FLAGS), measured until
# the backlog is delivered. Sets RESULT_* for the caller.
run_once() { # name, stub args, extra relay flags
  local name=$1 stub_args=$2 extra_flags=$3
  local run="$WORK/$name"; mkdir -p "$run"
  "$BIN" dev-broker --partitions 8 --topic bench --topic bench.dlq --log-level warning >"$run/broker.out" 2>"$run/broker.log" &
  PIDS+=($!); local broker=$!
  local bootstrap; bootstrap=$(first_line "$run/broker.out" 30)
  "$BIN" dev-produce --brokers "$bootstrap" --topic bench --events "$EVENTS" --users "$USERS" --skewed --compression zstd --log-level warning >"$run/produce.out" 2>&1
  local retained; retained=$("$BIN" offsets show --brokers "$bootstrap" --group none --topic bench | awk '$1 ~ /^[0-9]+$/ {n += $4 - $3} END {print n}')
  [ "$retained" -lt "$EVENTS" ] && echo "warning: the dev broker kept only $retained of $EVENTS events (5 MiB per partition)" >&2
  # shellcheck disable=SC2086
  "$BIN" june-stub --port 0 $stub_args --log-level warning >"$run/stub.out" 2>"$run/stub.log" &
  PIDS+=($!); local stub=$!
  local stub_url; stub_url=$(first_line "$run/stub.out" 30)
  local metrics_port; metrics_port=$(free_port)
  # shellcheck disable=SC2086
  JUNE_WRITE_KEY=bench-key "$BIN" run --brokers "$bootstrap" --topic bench --group "bench-$name" \
    --june-url "$stub_url" --metrics-port "$metrics_port" --delivery "$DELIVERY" --log-level info $RELAY_FLAGS $extra_flags \
    >"$run/relay.out" 2>"$run/relay.log" &
  PIDS+=($!); local relay=$!
  local ticks; ticks=$(getconf CLK_TCK)
  cpu_now() { awk -v t="$ticks" '{print ($14+$15)/t}' "/proc/$relay/stat"; }
  local low=$(( EVENTS / 10 )) high=$(( EVENTS * 9 / 10 ))
  local t1="" t2="" a1=0 a2=0 c1=0 c2=0 s1="" s2="" deadline=$(( $(date +%s) + 1800 )) next_scrape
  local accepted=0 json limits=""
  next_scrape=$(date +%s)
  while :; do
    if ! kill -0 "$relay" 2>/dev/null; then
      echo "the relay exited early ($name); its log ends:" >&2; tail -5 "$run/relay.log" >&2; exit 1
    fi
    json=$(stats_json "$stub_url")
    accepted=$(json_field "$json" uniqueAccepted)
    if [ -z "$t1" ] && [ "$accepted" -ge "$low" ]; then t1=$(date +%s.%N); a1=$accepted; c1=$(cpu_now); s1=$json; fi
    if [ -z "$t2" ] && [ "$accepted" -ge "$high" ]; then t2=$(date +%s.%N); a2=$accepted; c2=$(cpu_now); s2=$json; fi
    if [ "$(date +%s)" -ge "$next_scrape" ]; then
      limits="$limits $(gauge "$metrics_port" relay_june_concurrency_limit)"; next_scrape=$(( next_scrape + 1 ))
    fi
    [ "$accepted" -ge "$EVENTS" ] && break
    [ "$(date +%s)" -gt "$deadline" ] && { echo "timed out at $accepted/$EVENTS" >&2; break; }
    sleep 0.1
  done
  RESULT_RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$relay/status")
  RESULT_STATS=$(stats_json "$stub_url")
  RESULT_REQUESTS=$(curl -s "localhost:$metrics_port/metrics" | awk '/^relay_june_request_duration_seconds_count/ {n += $NF} END {print n + 0}')
  kill -TERM "$relay"; wait "$relay" || true
  kill -TERM "$stub" "$broker"; wait "$stub" "$broker" 2>/dev/null || true
  PIDS=()
  RESULT_ACCEPTED=$accepted RESULT_T1=$t1 RESULT_T2=$t2 RESULT_A1=$a1 RESULT_A2=$a2 RESULT_C1=$c1 RESULT_C2=$c2
  RESULT_S1=${s1:-"{}"} RESULT_S2=${s2:-"{}"} RESULT_LIMITS=$limits
}

machine="$(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

latency_sweep() {
  echo "june-relay benchmark: delivery $DELIVERY, $EVENTS events, $USERS users, 8 partitions; machine: $machine"
  printf "%-10s %10s %10s %12s %14s %12s %12s\n" "latency" "events" "seconds" "events/s" "CPU µs/event" "peak RSS MB" "events/req"
  for latency in $LATENCIES; do
    run_once "latency-$latency" "--latency-ms $latency" ""
    python3 - "$latency" "$RESULT_ACCEPTED" "$RESULT_T1" "$RESULT_T2" "$RESULT_A1" "$RESULT_A2" "$RESULT_C1" "$RESULT_C2" \
      "$RESULT_RSS_KB" "$(json_field "$RESULT_STATS" orderViolations)" "$RESULT_REQUESTS" <<'PY'
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
}

capacity_run() {
  # The flag comes with adaptive concurrency; an older binary must fail here, not measure something else.
  # (The help is read whole first: `grep -q` stops reading early, and with pipefail the writer's SIGPIPE
  # would fail the test.)
  local help; help=$("$BIN" run --help 2>&1 || true)
  if [ -n "${CONCURRENCY_MODES//default/}" ] && ! grep -q -- "--concurrency" <<<"$help"; then
    echo "error: $BIN run has no --concurrency flag; the capacity run compares --concurrency adaptive and fixed" >&2
    exit 2
  fi
  local ceiling=$(( CAPACITY * 1000 / CAPACITY_LATENCY ))
  echo "june-relay capacity benchmark: June serves $CAPACITY requests at once at $CAPACITY_LATENCY ms (ceiling $ceiling requests/s);" \
    "delivery $DELIVERY, $EVENTS events, $USERS users, 8 partitions; machine: $machine"
  printf "%-12s %-10s %10s %10s %9s %9s %9s %9s %12s\n" "June" "relay" "events/s" "of ceiling" "429s" "mean ms" "p50 ms" "p95 ms" "peak RSS MB"
  local series=()
  for june in capacity-429 capacity; do
    for mode in $CONCURRENCY_MODES; do
      local flag="--concurrency $mode"; [ "$mode" = default ] && flag=""
      run_once "$june-$mode" "--latency-ms $CAPACITY_LATENCY --$june $CAPACITY" "$flag"
      python3 - "$june" "$mode" "$ceiling" "$RESULT_T1" "$RESULT_T2" "$RESULT_A1" "$RESULT_A2" "$RESULT_S1" "$RESULT_S2" \
        "$RESULT_STATS" "$RESULT_RSS_KB" "$DELIVERY" <<'PY'
import json, sys
june, mode, ceiling, t1, t2, a1, a2, s1, s2, final, rss_kb, delivery = sys.argv[1:]
s1, s2, final = json.loads(s1), json.loads(s2), json.loads(final)
if not t2:
    print(f"{june:<12} {mode:<10}   did not reach 90% of the backlog"); sys.exit()
rate = (int(a2) - int(a1)) / (float(t2) - float(t1))
# 429 share of the requests between 10% and 90% of the backlog (capacity 429s over everything answered).
refused = s2.get("capacityRejections", 0) - s1.get("capacityRejections", 0)
answered = refused + s2.get("served", 0) - s1.get("served", 0)
share = 100 * refused / max(1, answered)
latency = final.get("latency", {})
of_ceiling = f"{100 * rate / int(ceiling):.0f}%" if delivery == "single" else "-"
flags = "" if final.get("orderViolations", 0) == 0 else f"   ORDER VIOLATIONS: {final['orderViolations']}"
print(f"{june:<12} {mode:<10} {rate:>10.0f} {of_ceiling:>10} {share:>8.1f}% {latency.get('meanMs', 0):>9.1f}"
      f" {latency.get('p50Ms', 0):>9.1f} {latency.get('p95Ms', 0):>9.1f} {int(rss_kb) / 1024:>12.0f}{flags}")
PY
      series+=("$june/$mode limit, once a second:$RESULT_LIMITS")
    done
  done
  echo "(events/s and 429s: from 10% to 90% of the backlog delivered; latency: the stub's arrival-to-answer time over the whole run;"
  echo " 'of ceiling' for single delivery, one event per request; '-' in the series: no relay_june_concurrency_limit gauge)"
  printf "%s\n" "${series[@]}"
}

if [ -n "$CAPACITY" ]; then capacity_run; else latency_sweep; fi
