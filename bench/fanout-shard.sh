#!/usr/bin/env bash
# Fan-out scale-out measurement: one fan-out process, then two, behind the same ingest, processors
# and scheduler (separate processes) on a throwaway stack, driven by bench/fanout-shard.mjs (the
# same users, sockets and write rate each time). Prints one JSON result per setup and stops
# everything it started.
#
# usage: bench/fanout-shard.sh [placement...]        (placement: user | socket; default: user)
# env: STACK_PROFILE (fanout) STACK_PORT_BASE (5): the stack's ports are <base>xxxx;
#      USERS RATE DURATION SOCKETS_PER_USER: see bench/fanout-shard.mjs;
#      SERVICES_DIR: run the services from another checkout (e.g. an export of main, to compare).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export STACK_PROFILE="${STACK_PROFILE:-fanout}" STACK_PORT_BASE="${STACK_PORT_BASE:-5}"
B=$STACK_PORT_BASE
SERVICES_DIR="${SERVICES_DIR:-$ROOT}"
placements=("$@")
[ ${#placements[@]} -gt 0 ] || placements=(user)
# shellcheck source=/dev/null
. "$ROOT/stack/node-env.sh"
export TASKSTREAM_PROFILE=dev HOST=127.0.0.1 LOG_LEVEL="${LOG_LEVEL:-warn}"
export INGEST_PORT=${B}8080 PROCESSORS_PORT=${B}8081 SCHEDULER_PORT=${B}8082
export RATE_LIMIT_PER_SECOND=1000000 RATE_LIMIT_BURST=1000000 WS_MAX_CONNECTIONS_PER_USER=50
OUT="$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)-fanout-shard"
mkdir -p "$OUT"
log() { printf '\033[1;35m[fanout-shard]\033[0m %s\n' "$*" >&2; }

pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done; kill -KILL "$p" 2>/dev/null; done
  "$ROOT/stack/down.sh" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

eval "$("$ROOT/stack/up.sh" | grep '^export ')"
start() { # <name> <env...>: sets PID (node itself, for its CPU time)
  local name=$1; shift
  (cd "$SERVICES_DIR" && exec env "$@" node --import tsx bin/taskstream.ts "${name%%-*}") >"$OUT/$name.log" 2>&1 &
  PID=$!
}
stop() { # <pid...>
  local p
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
ready() { for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0; sleep 0.3; done; log "port $1 not ready"; exit 1; }
for s in processors scheduler ingest; do start "$s" FANOUT_PORT=${B}8099; pids+=("$PID"); done
for p in $PROCESSORS_PORT $SCHEDULER_PORT $INGEST_PORT; do ready "$p"; done
log "services up; results in ${OUT#"$ROOT"/}"

for placement in "${placements[@]}"; do
  for n in 1 2; do
    fpids=() urls=()
    for i in $(seq 1 "$n"); do
      port=$((B * 10000 + 8090 + (i - 1) * 7))
      start "fanout-$i" FANOUT_PORT=$port
      fpids+=("$PID")
      urls+=("ws://127.0.0.1:$port")
    done
    pids+=("${fpids[@]}")
    for u in "${urls[@]}"; do ready "${u##*:}"; done
    log "placement $placement, $n fan-out process(es): ${fpids[*]} ($(uptime | sed 's/.*load/load/'))"
    (IFS=,; INGEST_URL="http://127.0.0.1:$INGEST_PORT" FANOUT_URLS="${urls[*]}" FANOUT_PIDS="${fpids[*]}" PLACEMENT=$placement \
      node bench/fanout-shard.mjs) | tee "$OUT/$placement-$n.json"
    stop "${fpids[@]}"
  done
done
