#!/usr/bin/env bash
# Runs bench suites against a throwaway `bench` stack (Kafka, PostgreSQL, Redis on ports 4xxxx)
# and the four services started as separate processes on 48080/48081/48082/48090. Starts
# everything it needs and stops all of it on exit (also on Ctrl-C or a failure).
#
# usage: bench/run.sh [--short|--full] [suite...]
#   suites: e2e ramp ws-scale reminders query   (default: all five)
#   --short (default) is the few-minutes `make bench`; --full is `make bench-full`.
# Every parameter of a suite can be overridden by env (see bench/README-bench.md), e.g.
#   RATE=2000 DURATION=120 bench/run.sh e2e
# env: BENCH_STRICT=1 exit non-zero when a suite misses a threshold; BENCH_CPU_PROF=1 run the
#      services with `node --cpu-prof` (profiles land in the run's prof/ directory);
#      BENCH_KEEP_STACK=1 leave the stack up (services still stop).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# Node 22 first on PATH, as for make dev / make test.
# shellcheck source=/dev/null
. "$ROOT/stack/node-env.sh"
# A local dev stack: the documented dev JWT secret is allowed.
export TASKSTREAM_PROFILE=dev

MODE=short
suites=()
for a in "$@"; do
  case "$a" in
    --short) MODE=short ;;
    --full) MODE=full ;;
    e2e | ramp | ws-scale | reminders | query) suites+=("$a") ;;
    *) echo "usage: $0 [--short|--full] [e2e|ramp|ws-scale|reminders|query]..." >&2; exit 2 ;;
  esac
done
[ ${#suites[@]} -gt 0 ] || suites=(e2e ramp ws-scale reminders query)

export STACK_PROFILE=bench STACK_PORT_BASE=4
export INGEST_PORT=48080 PROCESSORS_PORT=48081 SCHEDULER_PORT=48082 FANOUT_PORT=48090 HOST=127.0.0.1
export INGEST_URL="http://127.0.0.1:$INGEST_PORT" FANOUT_URL="ws://127.0.0.1:$FANOUT_PORT"
# Bench users write far above the per-user production limits; nothing else differs from prod defaults.
export RATE_LIMIT_PER_SECOND="${RATE_LIMIT_PER_SECOND:-1000000}" RATE_LIMIT_BURST="${RATE_LIMIT_BURST:-1000000}"
export WS_MAX_CONNECTIONS_PER_USER="${WS_MAX_CONNECTIONS_PER_USER:-50}"
export LOG_LEVEL="${LOG_LEVEL:-warn}"
# Shorter than the 60 s default so the connection-scale hold sees every socket answer heartbeats.
export WS_IDLE_TIMEOUT_SECONDS="${WS_IDLE_TIMEOUT_SECONDS:-20}"
STACK_DIR="$ROOT/.stack/bench"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RESULTS="$ROOT/bench/results"
mkdir -p "$RESULTS"

log() { printf '\033[1;35m[bench]\033[0m %s\n' "$*" >&2; }

K6="$("$ROOT/bench/install-k6.sh")"
# 20,000+ sockets need file descriptors on both ends (root may raise the hard limit).
ulimit -Hn 200000 2>/dev/null || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((${CONNECTIONS:-20000} + 200)) ]; then
  log "note: open files limited to $(ulimit -n) per process (hard limit): one fan-out process cannot hold more sockets than that"
fi

declare -A PIDS=()
stack_up=0
cleanup() {
  local rc=$?
  set +e
  stop_services
  if [ "$stack_up" = 1 ] && [ "${BENCH_KEEP_STACK:-0}" != 1 ]; then
    log "stopping the bench stack"
    "$ROOT/stack/down.sh" >/dev/null 2>&1
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_services() {
  local name pid
  for name in "${!PIDS[@]}"; do
    pid=${PIDS[$name]}
    kill -TERM "$pid" 2>/dev/null || continue
  done
  for name in "${!PIDS[@]}"; do
    pid=${PIDS[$name]}
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    unset "PIDS[$name]"
  done
}

start_services() {
  local logdir=$1 name port
  mkdir -p "$logdir"
  local flags=(--import tsx)
  if [ "${BENCH_CPU_PROF:-0}" = 1 ]; then mkdir -p "$logdir/prof"; flags+=(--cpu-prof "--cpu-prof-dir=$logdir/prof"); fi
  for name in processors scheduler fanout ingest; do
    node "${flags[@]}" bin/taskstream.ts "$name" >"$logdir/$name.log" 2>&1 &
    PIDS[$name]=$!
  done
  for port in $PROCESSORS_PORT $SCHEDULER_PORT $FANOUT_PORT $INGEST_PORT; do
    for i in $(seq 1 150); do
      curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
      for name in "${!PIDS[@]}"; do
        kill -0 "${PIDS[$name]}" 2>/dev/null || { tail -20 "$logdir/$name.log" >&2; log "$name exited during start-up"; exit 1; }
      done
      [ "$i" -lt 150 ] || { log "port $port not ready after 45 s"; exit 1; }
      sleep 0.3
    done
  done
  log "services up: ingest ${PIDS[ingest]} processors ${PIDS[processors]} scheduler ${PIDS[scheduler]} fanout ${PIDS[fanout]}"
}

scrape() { # <dir> <before|after>
  local name port
  for name in ingest processors scheduler fanout; do
    case $name in ingest) port=$INGEST_PORT ;; processors) port=$PROCESSORS_PORT ;; scheduler) port=$SCHEDULER_PORT ;; fanout) port=$FANOUT_PORT ;; esac
    curl -s --max-time 5 "http://127.0.0.1:$port/metrics" >"$1/metrics-$2-$name.prom" || true
  done
  "$ROOT/bench/cpu-snapshot.sh" "$STACK_DIR" "${PIDS[ingest]:-}" "${PIDS[processors]:-}" "${PIDS[scheduler]:-}" "${PIDS[fanout]:-}" >"$1/cpu-$2.txt"
}

run_k6() { # <dir> <script> [k6 args...]
  local dir=$1 script=$2; shift 2
  K6_WEB_DASHBOARD=true K6_WEB_DASHBOARD_HOST=127.0.0.1 K6_WEB_DASHBOARD_PORT="${K6_WEB_DASHBOARD_PORT:-45665}" \
    K6_WEB_DASHBOARD_OPEN=false K6_WEB_DASHBOARD_EXPORT="$dir/dashboard.html" \
    RESULTS_DIR="$dir" RUN_ID="${RUN_ID:-b$STAMP-$RANDOM}" \
    loadgen "$dir" "$K6" run --quiet --no-usage-report "$@" "$script"
}

loadgen() { # <dir> <command...>: runs the load generator, records its CPU seconds
  local dir=$1; shift
  local rc=0
  ( nice -n "${LOADGEN_NICE:-0}" "$@" >"$dir/k6.log" 2>&1 || rc=$?
    times >"$dir/loadgen-times.txt" # (not in a pipeline: that would be a fork with no children)
    tail -1 "$dir/loadgen-times.txt" | awk '{ split($1, u, "m"); split($2, s, "m"); printf "loadgen %.2f\n", u[1]*60 + u[2] + s[1]*60 + s[2] }' >"$dir/loadgen-cpu.txt"
    exit $rc )
}

failed_suites=()
run_suite() { # <suite>
  local suite=$1 dir="$RESULTS/$STAMP-$1" rc=0
  mkdir -p "$dir"
  {
    echo "suite: $suite ($MODE)"
    echo "date: $(date -u +%FT%TZ)"
    echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) $(git -C "$ROOT" status --porcelain 2>/dev/null | grep -vc '^?? bench/' || true) modified files outside bench/"
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo "node: $(node --version), k6: $("$K6" version 2>/dev/null | head -1)"
    echo "uptime before: $(uptime)"
  } >"$dir/env.txt"
  log "suite $suite → ${dir#"$ROOT"/}  ($(uptime | sed 's/.*load/load/'))"
  scrape "$dir" before
  date +%s >"$dir/window.txt"
  case "$suite" in
    e2e)
      if [ "$MODE" = short ]; then export DURATION="${DURATION:-30}"; else export DURATION="${DURATION:-120}"; fi
      MODE=latency run_k6 "$dir" bench/e2e.js || rc=$?
      ;;
    ramp)
      if [ "$MODE" = short ]; then export STEPS="${STEPS:-100,200,400,800}" STEP_SECONDS="${STEP_SECONDS:-15}"; fi
      MODE=ramp run_k6 "$dir" bench/e2e.js || rc=$?
      ;;
    ws-scale)
      if [ "$MODE" = short ]; then export CONNECTIONS="${CONNECTIONS:-5000}"; fi
      FANOUT_PID="${PIDS[fanout]}" RESULTS_DIR="$dir" loadgen "$dir" node bench/ws-scale.mjs || rc=$?
      ;;
    reminders)
      # Short: the window starts right after creation instead of at the next whole minute.
      if [ "$MODE" = short ]; then export REMINDERS="${REMINDERS:-1000}" ALIGN="${ALIGN:-none}"; fi
      WINDOW_BASE_MS="$(date +%s%3N)" run_k6 "$dir" bench/reminders.js || rc=$?
      ;;
    query)
      [ "$SEED_RC" -ne 0 ] && rc=$SEED_RC || run_k6 "$dir" bench/query.js || rc=$?
      # The plans of the slow ones (auto_explain, enabled for this suite's connections only).
      grep -A 60 "duration:.*plan:" "$STACK_DIR/postgres/postgres.log" >"$dir/slow-query-plans.log" 2>/dev/null || true
      ;;
  esac
  date +%s >>"$dir/window.txt"
  scrape "$dir" after
  echo "uptime after: $(uptime)" >>"$dir/env.txt"
  node bench/breakdown.mjs "$dir" >/dev/null || true
  [ -f "$dir/report.json" ] && cat "$dir/report.json" >&2
  if [ $rc -ne 0 ]; then
    log "suite $suite: exit $rc (99 = a threshold missed; see $dir/k6.log)"
    failed_suites+=("$suite")
  fi
}

log "starting the bench stack (profile bench, ports 4xxxx)"
stack_up=1
# Only the export lines: an npm install inside up.sh may print to stdout.
eval "$("$ROOT/stack/up.sh" | grep "^export ")"
for s in "${suites[@]}"; do
  SEED_RC=0
  if [ "$s" = query ]; then
    # Seed before the services start, so their connections pick up auto_explain for slow queries.
    mkdir -p "$RESULTS/$STAMP-$s"
    if [ "$MODE" = short ]; then export SEED_USER_TASKS="${SEED_USER_TASKS:-100000}" SEED_TOTAL_TASKS="${SEED_TOTAL_TASKS:-300000}" QUERY_DURATION="${QUERY_DURATION:-30}"; fi
    "$ROOT/bench/seed-tasks.sh" "$RESULTS/$STAMP-$s" || SEED_RC=$?
    "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql" "$DATABASE_URL" -q -c "alter database taskstream set session_preload_libraries = 'auto_explain'" \
      -c "alter database taskstream set auto_explain.log_min_duration = '${QUERY_EXPLAIN_MS:-100}ms'" \
      -c "alter database taskstream set auto_explain.log_analyze = on" -c "alter database taskstream set auto_explain.log_buffers = on" || true
  fi
  # Fresh service processes per suite: each run's metrics, logs and CPU profile are its own.
  start_services "$RESULTS/$STAMP-$s"
  run_suite "$s"
  stop_services
done
log "results in bench/results/$STAMP-*"
if [ ${#failed_suites[@]} -gt 0 ]; then
  log "thresholds missed in: ${failed_suites[*]}"
  [ "${BENCH_STRICT:-0}" != 1 ] || exit 1
fi
