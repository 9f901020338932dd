#!/usr/bin/env bash
# Exactly-once turns under crashes: two `inkdesk serve` processes on one fresh Redis,
# replica B SIGKILLed and restarted every few seconds, an echoing Graph fake and a model
# fake with 0.2–3 s latency (see bins/webhook/src/bin/inkdesk-chaos.rs); then the turn
# journal's cost per turn on SQLite and Redis. Exits non-zero when a target is missed.
# Usage: scripts/bench-chaos.sh [conversations] [extra inkdesk-chaos flags…]   (release build)
set -euo pipefail
cd "$(dirname "$0")/.."
CONVERSATIONS=${1:-300}
shift || true
TARGET=$(realpath "${CARGO_TARGET_DIR:-target}")
PORT=${INKDESK_CHAOS_REDIS_PORT:-6393}
command -v redis-server >/dev/null || { echo "redis-server is needed (apt-get install redis-server)" >&2; exit 2; }
cargo build --release -p inkdesk-webhook --bins >/dev/null
WORK=$(mktemp -d)
cleanup() {
    if [ -f "$WORK/redis.pid" ]; then kill "$(cat "$WORK/redis.pid")" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
# Debian's redis-server needs all of these to start detached without a config file.
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$WORK/redis.pid" >/dev/null
for _ in $(seq 100); do
    redis-cli -p "$PORT" ping >/dev/null 2>&1 && break
    sleep 0.05
done
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
"$TARGET/release/inkdesk-chaos" --inkdesk "$TARGET/release/inkdesk" \
    --redis-url "redis://127.0.0.1:$PORT" --conversations "$CONVERSATIONS" \
    --work-dir "$WORK/run" "$@" || status=$?
echo
echo "journal cost per turn:"
REDIS_URL="redis://127.0.0.1:$PORT/1" cargo bench -p inkdesk-store --bench journal 2>/dev/null | grep -v '^$' || status=$?
exit $status
