#!/usr/bin/env bash
# Load benchmark of `inkdesk serve` on the embedded store and on Redis, side by side with
# the ceiling (`inkdesk-ceiling`: a bare axum handler that checks the HMAC and parses the
# JSON, nothing else), all on this machine in the same run. See docs/PERFORMANCE.md.
#
# Usage: scripts/bench-webhook.sh [seconds] [rounds]        (defaults: 60 s, 3 rounds)
#   BURST_SECONDS=20   length of the -c32 throughput run (the burst)
#   SERVERS="embedded redis ceiling"   which servers, in this order within each round
#                      (also: embedded-wait, the embedded store with INKDESK_INTAKE_ACK_MS=0,
#                      every webhook waiting for its commit as before the intake spool)
#   BODIES=300000      signed bodies per wrk run (unique message ids, 500 senders)
#                      (a run that sends more repeats them, which inkdesk only dedupes: it warns)
#
# Each round starts every server afresh and runs, against each:
#   1. ready: exec to the first /health answer;
#   2. open loop, 1,000 req/s for [seconds] (inkdesk-loadgen, latency from the scheduled
#      send time, so a stall also counts against the requests queued behind it);
#   3. wrk -t1 -c1 for [seconds]: one request at a time, raw percentiles and max;
#   4. wrk -t2 -c32 for BURST_SECONDS: throughput (the burst, >100,000 messages);
#   5. open loop again, right after the burst;
#   6. peak RSS (VmHWM).
# wrk sends precomputed, correctly signed bodies (scripts/webhook.lua); its printed
# percentiles are corrected for coordinated omission, so the script's RAW line (computed
# from wrk's histogram with the correction undone) is what is reported.
# Needs wrk (Debian: apt-get install wrk); Redis runs only if redis-server is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-60}
ROUNDS=${2:-3}
BURST_SECONDS=${BURST_SECONDS:-20}
SERVERS=${SERVERS:-embedded redis ceiling}
BODIES=${BODIES:-300000}
TARGET=${CARGO_TARGET_DIR:-target}
command -v wrk >/dev/null || { echo "wrk is not installed (Debian: apt-get install wrk)" >&2; exit 1; }
cargo build --release -p inkdesk-webhook --bins >/dev/null
BIN="$TARGET/release/inkdesk"
LOADGEN="$TARGET/release/inkdesk-loadgen"
CEILING="$TARGET/release/inkdesk-ceiling"
SECRET=bench-secret
ACCOUNT=17841400000000000
PORT=3917
REDIS_PORT=6391
WORK=$(mktemp -d)
RESULTS="$WORK/results.tsv"
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null
    [ -f "$WORK/redis.pid" ] && kill "$(cat "$WORK/redis.pid")" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# Prints the value of key=… from a line ("12.3ms" → "12.3").
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | sed 's/ms$//'; }
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RESULTS"; }

start_server() {
    local label=$1 round=$2 start_ns ready_ns
    local -a env_vars=(PATH="$PATH" PORT=$PORT IG_APP_SECRET=$SECRET IG_ACCOUNT_ID=$ACCOUNT
        INKDESK_DATA_DIR="$WORK/data-$label-$round" RUST_LOG=warn)
    local -a cmd=("$BIN" serve)
    case $label in
        redis)
            redis-server --port $REDIS_PORT --save '' --appendonly no --daemonize yes \
                --pidfile "$WORK/redis.pid" >/dev/null
            until [ -s "$WORK/redis.pid" ]; do sleep 0.05; done
            sleep 0.2
            env_vars+=(REDIS_URL=redis://127.0.0.1:$REDIS_PORT) ;;
        ceiling) cmd=("$CEILING") ;;
        embedded-wait) env_vars+=(INKDESK_INTAKE_ACK_MS=0) ;;
    esac
    start_ns=$(date +%s%N)
    env -i "${env_vars[@]}" "${cmd[@]}" >"$WORK/$label-$round.log" 2>&1 &
    PID=$!
    until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do sleep 0.002; done
    ready_ns=$(date +%s%N)
    record "$label" "$round" ready_ms $(( (ready_ns - start_ns) / 1000000 ))
}

stop_server() {
    local label=$1
    kill "$PID"; wait "$PID" 2>/dev/null || true
    PID=
    if [ "$label" = redis ]; then
        kill "$(cat "$WORK/redis.pid")"; rm -f "$WORK/redis.pid"; sleep 0.3
    fi
}

open_loop() {
    local label=$1 round=$2 phase=$3 line
    line=$("$LOADGEN" --url "http://127.0.0.1:$PORT/webhook" --secret $SECRET \
        --account-id $ACCOUNT --rate 1000 --concurrency 32 --seconds "$SECONDS_PER_RUN")
    echo "[$label #$round] open loop 1,000 req/s ($phase): $line"
    for key in p50 p99 p99.9 max errors; do
        record "$label" "$round" "open_${phase}_$key" "$(field "$key" "$line")"
    done
}

wrk_run() {
    local label=$1 round=$2 threads=$3 connections=$4 seconds=$5 name=$6 line
    "$LOADGEN" --secret $SECRET --account-id $ACCOUNT --write-bodies "$WORK/bodies.tsv" \
        --count "$BODIES"
    line=$(BODIES="$WORK/bodies.tsv" WRK_THREADS=$threads WRK_CONNECTIONS=$connections \
        wrk -t"$threads" -c"$connections" -d"${seconds}s" --timeout 10s \
        -s scripts/webhook.lua "http://127.0.0.1:$PORT/webhook" | grep '^RAW')
    echo "[$label #$round] wrk -c$connections ${seconds}s: ${line#RAW }"
    # A repeat is only a dedupe hit, far cheaper than a new message: say so loudly, since
    # such a run's throughput is not comparable (a faster machine needs a larger BODIES).
    # The ceiling keeps no dedupe, so repeats cost it nothing.
    if [ "$label" != ceiling ] && [ "$(field repeats "$line")" != 0 ]; then
        echo "[$label #$round] warning: $(field repeats "$line") requests repeated a body; raise BODIES (now $BODIES) to compare this run" >&2
    fi
    for key in throughput p50 p99 p99.9 max errors repeats; do
        record "$label" "$round" "${name}_$key" "$(field "$key" "$line")"
    done
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start, $(awk '/MemFree/ {printf "%.1f", $2 / 1048576}' /proc/meminfo) GiB free memory (the kernel's large folios, which the WAL writes depend on, need it)"
for round in $(seq 1 "$ROUNDS"); do
    for label in $SERVERS; do
        if [ "$label" = redis ] && ! command -v redis-server >/dev/null; then continue; fi
        start_server "$label" "$round"
        open_loop "$label" "$round" fresh
        wrk_run "$label" "$round" 1 1 "$SECONDS_PER_RUN" c1
        wrk_run "$label" "$round" 2 32 "$BURST_SECONDS" c32
        open_loop "$label" "$round" burst
        record "$label" "$round" rss_mb "$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' /proc/$PID/status)"
        stop_server "$label"
    done
done
echo "machine: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"

# Medians over the rounds; throughput also as a share of the ceiling's median.
echo
echo "median of $ROUNDS rounds (${SECONDS_PER_RUN} s runs, burst ${BURST_SECONDS} s); latencies in ms, raw"
awk -F'\t' '
    { v[$1, $3] = v[$1, $3] " " $4; if (!($3 in seen)) { seen[$3] = 1; keys[++nk] = $3 }
      if (!($1 in sseen)) { sseen[$1] = 1; servers[++ns] = $1 } }
    function median(s,   a, n, i, j, t) {
        n = split(s, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END {
        printf "%-22s", "metric"; for (s = 1; s <= ns; s++) printf "%12s", servers[s]; print ""
        for (k = 1; k <= nk; k++) {
            printf "%-22s", keys[k]
            for (s = 1; s <= ns; s++) printf "%12s", ((servers[s], keys[k]) in v) ? median(v[servers[s], keys[k]]) : "-"
            print ""
        }
        if (("ceiling", "c32_throughput") in v) {
            c = median(v["ceiling", "c32_throughput"]); c1 = median(v["ceiling", "c1_throughput"])
            for (s = 1; s <= ns; s++) if (servers[s] != "ceiling") {
                printf "%s: -c32 throughput %.0f %% of the ceiling, -c1 %.0f %%\n", servers[s],
                    100 * median(v[servers[s], "c32_throughput"]) / c, 100 * median(v[servers[s], "c1_throughput"]) / c1
            }
        }
    }' "$RESULTS"
echo
echo "every run (server, round, metric, value):"
cat "$RESULTS"
