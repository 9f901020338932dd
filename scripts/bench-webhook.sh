#!/usr/bin/env bash
# Load benchmark of `inkdesk serve`: start-up time, sustained throughput, acknowledgement
# latency at 1,000 req/s and peak RSS, for the embedded store and (if redis-server is
# installed) for Redis. Usage: scripts/bench-webhook.sh [seconds]   (release build)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-10}
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release -p inkdesk-webhook --bins >/dev/null
BIN="$TARGET/release/inkdesk"
LOADGEN="$TARGET/release/inkdesk-loadgen"
SECRET=bench-secret
PORT=3917
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -f "$WORK/redis.pid" ] && kill "$(cat "$WORK/redis.pid")" 2>/dev/null; rm -rf "$WORK"' EXIT

run_one() {
    local label=$1; shift
    local start_ns ready_ns pid
    start_ns=$(date +%s%N)
    env -i PATH="$PATH" PORT=$PORT IG_APP_SECRET=$SECRET IG_ACCOUNT_ID=17841400000000000 \
        INKDESK_DATA_DIR="$WORK/data-$label" RUST_LOG=warn "$@" "$BIN" serve >"$WORK/$label.log" 2>&1 &
    pid=$!
    until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do sleep 0.005; done
    ready_ns=$(date +%s%N)
    echo "[$label] ready in $(( (ready_ns - start_ns) / 1000000 )) ms"
    echo "[$label] max throughput (64 connections):"
    "$LOADGEN" --url "http://127.0.0.1:$PORT/webhook" --secret $SECRET --rate 0 --concurrency 64 --seconds "$SECONDS_PER_RUN"
    echo "[$label] at 1,000 req/s:"
    "$LOADGEN" --url "http://127.0.0.1:$PORT/webhook" --secret $SECRET --rate 1000 --concurrency 32 --seconds "$SECONDS_PER_RUN"
    echo "[$label] peak RSS: $(awk '/VmHWM/ {print $2 / 1024 " MB"}' /proc/$pid/status)"
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_one embedded
if command -v redis-server >/dev/null; then
    redis-server --port 6391 --save '' --appendonly no --daemonize yes --pidfile "$WORK/redis.pid" >/dev/null
    sleep 0.3
    run_one redis REDIS_URL=redis://127.0.0.1:6391
fi
