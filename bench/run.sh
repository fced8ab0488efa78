#!/usr/bin/env bash
# Runs bench suites against a throwaway `bench` stack (Kafka, PostgreSQL, Redis on ports 4xxxx)
# and the four services started as separate processes on 48080/48081/48082/48090, from the
# compiled dist/ (`npm run build`, what `npm start` and the image run). Starts
# everything it needs and stops all of it on exit (also on Ctrl-C or a failure). The load
# generator is Gatling (bench/gatling, Apache-2.0, from Maven Central; Maven downloads it into
# ~/.m2 the first time) except for connection scale (bench/ws-scale.mjs, a light Node client).
#
# usage: bench/run.sh [--short|--full] [suite...]
#        bench/run.sh --compare          the ramp through taskstream, then through Centrifugo
#   suites: e2e ramp ws-scale reminders query   (default: all five)
#   --short (default) is `make bench`; --full is `make bench-full`; --compare is `make bench-compare`.
# Every parameter of a suite can be overridden by env (see bench/README-bench.md), e.g.
#   RATE=2000 DURATION=60 bench/run.sh e2e
# env: BENCH_LENIENT=1 report only: exit 0 even when a Gatling assertion (a target) fails;
#      BENCH_CPU_PROF=1 run the services with `node --cpu-prof` (profiles in the run's prof/);
#      BENCH_PERF=1 record the whole machine with `perf` over the measured window of e2e and ramp
#        (the run's perf.data; per process and function in perf-summary.txt, bench/perf-top.mjs);
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
    --compare) MODE=compare ;;
    e2e | ramp | ws-scale | reminders | query) suites+=("$a") ;;
    *) echo "usage: $0 [--short|--full|--compare] [e2e|ramp|ws-scale|reminders|query]..." >&2; exit 2 ;;
  esac
done
if [ "$MODE" = compare ]; then suites=(ramp); fi
if [ "${BENCH_PERF:-0}" = 1 ]; then
  # Debian's perf (linux-perf, GPL-2.0: a tool run beside the bench, not a dependency of ours).
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  command -v perf >/dev/null || { command -v apt-get >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq linux-perf >/dev/null; } \
    || { echo "BENCH_PERF=1 needs perf (Debian/Ubuntu: linux-perf)" >&2; exit 2; }
  # cpu-clock works where the VM exposes no hardware counters; -a needs root or perf_event_paranoid <= 0.
  perf record -q -e cpu-clock -a -o /dev/null -- true 2>/dev/null \
    || { echo "BENCH_PERF=1: perf cannot record the whole machine here (run as root, or sysctl kernel.perf_event_paranoid=0)" >&2; exit 2; }
fi
[ ${#suites[@]} -gt 0 ] || suites=(e2e ramp ws-scale reminders query)

# BENCH_PORT_BASE moves the whole bench (stack, services, Centrifugo) to ports <base>xxxx.
B="${BENCH_PORT_BASE:-4}"
export STACK_PROFILE=bench STACK_PORT_BASE=$B
export INGEST_PORT=${B}8080 PROCESSORS_PORT=${B}8081 SCHEDULER_PORT=${B}8082 FANOUT_PORT=${B}8090 HOST=127.0.0.1
export INGEST_URL="http://127.0.0.1:$INGEST_PORT" FANOUT_URL="ws://127.0.0.1:$FANOUT_PORT"
export PROCESSORS_METRICS_URL="http://127.0.0.1:$PROCESSORS_PORT/metrics"
# Centrifugo (make bench-compare only): its own port and its own Redis, both in the 4xxxx range.
export CENTRIFUGO_PORT="${CENTRIFUGO_PORT:-${B}8000}" CENTRIFUGO_REDIS_PORT="${CENTRIFUGO_REDIS_PORT:-${B}6380}"
export CENTRIFUGO_URL="http://127.0.0.1:$CENTRIFUGO_PORT"
# Bench users write far above the per-user production limits; nothing else differs from prod defaults.
export RATE_LIMIT_PER_SECOND="${RATE_LIMIT_PER_SECOND:-1000000}" RATE_LIMIT_BURST="${RATE_LIMIT_BURST:-1000000}"
export WS_MAX_CONNECTIONS_PER_USER="${WS_MAX_CONNECTIONS_PER_USER:-50}"
export LOG_LEVEL="${LOG_LEVEL:-warn}"
# Shorter than the 60 s default so the connection-scale hold sees every socket answer heartbeats.
export WS_IDLE_TIMEOUT_SECONDS="${WS_IDLE_TIMEOUT_SECONDS:-20}"
STACK_DIR="$ROOT/.stack/bench"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RESULTS="$ROOT/bench/results"
GATLING_POM="$ROOT/bench/gatling/pom.xml"
mkdir -p "$RESULTS"

log() { printf '\033[1;35m[bench]\033[0m %s\n' "$*" >&2; }

command -v mvn >/dev/null || { log "Maven (mvn) and Java 17 are needed for the Gatling suites"; exit 1; }
log "Gatling: compiling the simulations (Maven fetches Gatling into ~/.m2 the first time)"
mvn -B -q -f "$GATLING_POM" test-compile >"$RESULTS/.gatling-compile.log" 2>&1 || { tail -30 "$RESULTS/.gatling-compile.log" >&2; log "Gatling build failed"; exit 1; }
# The services run as production runs them (`npm start`: compiled JavaScript in dist/, not tsx).
log "building the services (npm run build → dist/)"
npm run -s build >"$RESULTS/.build.log" 2>&1 || { tail -30 "$RESULTS/.build.log" >&2; log "npm run build failed"; exit 1; }
CENTRIFUGO=""
if [ "$MODE" = compare ]; then CENTRIFUGO="$("$ROOT/bench/install-centrifugo.sh")"; fi

# 20,000+ sockets need file descriptors on both ends (root may raise the hard limit).
ulimit -Hn 200000 2>/dev/null || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

declare -A PIDS=()
stack_up=0
cleanup() {
  local rc=$?
  set +e
  stop_services
  stop_centrifugo
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
  local flags=(--enable-source-maps)
  if [ "${BENCH_CPU_PROF:-0}" = 1 ]; then mkdir -p "$logdir/prof"; flags+=(--cpu-prof "--cpu-prof-dir=$logdir/prof"); fi
  # JIT-compiled functions named for perf (/tmp/perf-<pid>.map).
  if [ "${BENCH_PERF:-0}" = 1 ]; then flags+=(--perf-basic-prof-only-functions --interpreted-frames-native-stack); fi
  for name in processors scheduler fanout ingest; do
    node "${flags[@]}" dist/bin/taskstream.js "$name" >"$logdir/$name.log" 2>&1 &
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

# Writes through the fresh services before a suite is measured (bench/warm-up.ts): the JITs
# compile the hot paths outside the measured window. BENCH_WARM_SECONDS=0 skips it.
warm_up() {
  local logdir=$1
  [ "${BENCH_WARM_SECONDS:-20}" -gt 0 ] || return 0
  WARM_SECONDS="${BENCH_WARM_SECONDS:-20}" node --import tsx bench/warm-up.ts >"$logdir/warm-up.log" 2>&1 \
    || { tail -5 "$logdir/warm-up.log" >&2; log "warm-up failed"; exit 1; }
  log "warmed up: $(tail -1 "$logdir/warm-up.log")"
}

# Centrifugo with its Redis engine and history on, on its own Redis (make bench-compare).
CF_DIR="$ROOT/.stack/bench-centrifugo"
start_centrifugo() {
  local logdir=$1
  rm -rf "$CF_DIR" && mkdir -p "$CF_DIR"
  # 4xxxx lies in Linux's ephemeral range: an outgoing connection may hold the port for a while, so try the next ones.
  local port ok=0
  for port in $(seq "$CENTRIFUGO_REDIS_PORT" $((CENTRIFUGO_REDIS_PORT + 9))); do
    redis-server --bind 127.0.0.1 --port "$port" --dir "$CF_DIR" --daemonize yes --pidfile "$CF_DIR/redis.pid" \
      --logfile "$CF_DIR/redis.log" --save "" --appendonly no
    for _ in $(seq 1 25); do redis-cli -p "$port" ping >/dev/null 2>&1 && { ok=1; break; }; sleep 0.2; done
    [ "$ok" = 1 ] && break
  done
  [ "$ok" = 1 ] || { tail -5 "$CF_DIR/redis.log" >&2; log "Centrifugo's Redis did not start"; exit 1; }
  CENTRIFUGO_REDIS_PORT=$port
  local cport up=0
  for cport in $(seq "$CENTRIFUGO_PORT" $((CENTRIFUGO_PORT + 9))); do # same ephemeral-range caveat as above
    sed -e "s/@PORT@/$cport/" -e "s/@REDIS_PORT@/$CENTRIFUGO_REDIS_PORT/" "$ROOT/bench/centrifugo/config.json.in" >"$CF_DIR/config.json"
    "$CENTRIFUGO" --config "$CF_DIR/config.json" >"$logdir/centrifugo.log" 2>&1 &
    PIDS[centrifugo]=$!
    for i in $(seq 1 100); do
      curl -sf "http://127.0.0.1:$cport/health" >/dev/null 2>&1 && { up=1; break; }
      kill -0 "${PIDS[centrifugo]}" 2>/dev/null || break
      [ "$i" -lt 100 ] || { log "centrifugo not ready after 30 s"; exit 1; }
      sleep 0.3
    done
    [ "$up" = 1 ] && break
    tail -2 "$logdir/centrifugo.log" >&2
    unset "PIDS[centrifugo]"
  done
  [ "$up" = 1 ] || { log "centrifugo did not start"; exit 1; }
  export CENTRIFUGO_PORT=$cport CENTRIFUGO_URL="http://127.0.0.1:$cport"
  cp "$CF_DIR/config.json" "$logdir/centrifugo-config.json"
  log "centrifugo $("$CENTRIFUGO" version 2>/dev/null | head -1) up on $CENTRIFUGO_PORT (pid ${PIDS[centrifugo]}), redis on $CENTRIFUGO_REDIS_PORT"
}
stop_centrifugo() {
  if [ -f "$CF_DIR/redis.pid" ]; then
    redis-cli -p "$CENTRIFUGO_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$CF_DIR/redis.pid")" 2>/dev/null || true
    rm -f "$CF_DIR/redis.pid"
  fi
}

scrape() { # <dir> <before|after>
  local name port
  # CPU first: a saturated service can take seconds to answer /metrics, and by then the load
  # generator may have exited, its CPU time lost from the snapshot (stop 28's bench-compare).
  "$ROOT/bench/cpu-snapshot.sh" "$STACK_DIR" "${PIDS[ingest]:-}" "${PIDS[processors]:-}" "${PIDS[scheduler]:-}" "${PIDS[fanout]:-}" >"$1/cpu-$2.txt" 2>"$1/cpu-$2-processes.txt"
  for name in ingest processors scheduler fanout; do
    [ -n "${PIDS[$name]:-}" ] || continue
    case $name in ingest) port=$INGEST_PORT ;; processors) port=$PROCESSORS_PORT ;; scheduler) port=$SCHEDULER_PORT ;; fanout) port=$FANOUT_PORT ;; esac
    curl -s --max-time 5 "http://127.0.0.1:$port/metrics" >"$1/metrics-$2-$name.prom" || true
  done
  if [ -n "${PIDS[centrifugo]:-}" ]; then curl -s --max-time 5 "$CENTRIFUGO_URL/metrics" >"$1/metrics-$2-centrifugo.prom" || true; fi
}

# Snapshots at the simulation's marks (first write; last socket done), so warm-up and connects
# are outside the measured window. Falls back to the whole run when a mark never appears.
watch_window() { # <dir>
  local dir=$1
  for _ in $(seq 1 600); do [ -f "$dir/mark-start" ] && break; [ -f "$dir/.loadgen-done" ] && break; sleep 0.1; done
  date +%s.%3N >"$dir/window.txt"
  scrape "$dir" before
  local perf=
  if [ "${BENCH_PERF:-0}" = 1 ]; then
    perf record -q -e cpu-clock -F 499 -a -g -o "$dir/perf.data" >"$dir/perf.log" 2>&1 &
    perf=$!
  fi
  while [ ! -f "$dir/mark-end" ] && [ ! -f "$dir/.loadgen-done" ]; do sleep 0.1; done
  date +%s.%3N >>"$dir/window.txt"
  if [ -n "$perf" ]; then kill -INT "$perf"; wait "$perf" || true; fi
  scrape "$dir" after
}

loadgen() { # <dir> <command...>: runs the load generator, records its CPU seconds (whole run)
  local dir=$1; shift
  local rc=0
  ( nice -n "${LOADGEN_NICE:-0}" "$@" >"$dir/loadgen.log" 2>&1 || rc=$?
    times >"$dir/loadgen-times.txt" # (not in a pipeline: that would be a fork with no children)
    exit $rc )
}

# Gatling simulation <class> with the suite's env; report to <dir>/gatling/.
run_gatling() { # <dir> <simulation class>
  local dir=$1 sim=$2 rc=0
  RESULTS_DIR="$dir" RUN_ID="${RUN_ID:-b$STAMP-$RANDOM}" loadgen "$dir" \
    mvn -B -q -f "$GATLING_POM" gatling:test "-Dgatling.simulationClass=taskstream.bench.$sim" \
    "-Dgatling.resultsFolder=$dir/gatling" "-Dbench.heap=${GATLING_HEAP:-1g}" || rc=$?
  # The plugin's exit status: non-zero when an assertion failed (or the run crashed).
  grep -E "^(Global|> |Assertion|\[bench\])|assertion|Exception" "$dir/loadgen.log" | grep -v "^\s*at " | tail -40 >&2 || true
  return $rc
}

failed_suites=()
run_suite() { # <suite> [target]
  local suite=$1 target=${2:-taskstream} dir rc=0
  dir="$RESULTS/$STAMP-$suite${2:+-$2}"
  mkdir -p "$dir"
  {
    echo "suite: $suite ($MODE) target: $target"
    echo "date: $(date -u +%FT%TZ)"
    echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) $(git -C "$ROOT" status --porcelain 2>/dev/null | grep -vc '^?? bench/' || true) modified files outside bench/"
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') (family $(awk -F': ' '/^cpu family/ {print $2; exit}' /proc/cpuinfo), model $(awk -F': ' '/^model\t/ {print $2; exit}' /proc/cpuinfo)): compare runs of one family and model only"
    echo "node: $(node --version), java: $(java -version 2>&1 | head -1), gatling: $(sed -n 's:.*<gatling.version>\(.*\)</gatling.version>.*:\1:p' "$GATLING_POM")"
    echo "uptime before: $(uptime)"
  } >"$dir/env.txt"
  log "suite $suite ($target) → ${dir#"$ROOT"/}  ($(uptime | sed 's/.*load/load/'))"
  case "$suite" in
    e2e | ramp)
      local -a envs=(TARGET="$target")
      if [ "$suite" = e2e ]; then
        envs+=(MODE=latency)
        if [ "$MODE" = full ]; then envs+=(DURATION="${DURATION:-120}"); else envs+=(DURATION="${DURATION:-30}"); fi
      else
        envs+=(MODE=ramp)
        case "$MODE" in
          short) envs+=(STEPS="${STEPS:-100,200,400,800,1000,1200,1400,1600,2000}" STEP_SECONDS="${STEP_SECONDS:-15}") ;;
          full) envs+=(STEPS="${STEPS:-100,200,300,400,600,800,1000,2000,4000,10000}" STEP_SECONDS="${STEP_SECONDS:-20}") ;;
          compare) envs+=(STEPS="${STEPS:-100,200,400,1000,1500,2000,4000,8000}" STEP_SECONDS="${STEP_SECONDS:-15}" ASSERT="${ASSERT:-0}") ;;
        esac
      fi
      rm -f "$dir/mark-start" "$dir/mark-end" "$dir/.loadgen-done"
      watch_window "$dir" &
      local watcher=$!
      (export "${envs[@]}"; run_gatling "$dir" FanoutSimulation) || rc=$?
      touch "$dir/.loadgen-done"
      wait "$watcher" || true
      ;;
    ws-scale)
      date +%s.%3N >"$dir/window.txt"; scrape "$dir" before
      if [ "$MODE" = short ]; then export CONNECTIONS="${CONNECTIONS:-5000}"; fi
      # Above the open-files limit (per process, both ends) a step that cannot open waits for the
      # deadline (minutes): open only what fits (whole steps), and still judge against the number
      # asked for (exit 99 below it).
      want="${CONNECTIONS:-20000}" step="${STEP:-2500}"
      if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((want + 200)) ]; then
        fits=$(( ($(ulimit -n) - 200) / step * step ))
        log "ws-scale: $want sockets asked for, $fits fit under this machine's open-files limit ($(ulimit -n)): opening $fits"
        export CONNECTIONS="$fits" TARGET_CONNECTIONS="${TARGET_CONNECTIONS:-$want}"
      fi
      FANOUT_PID="${PIDS[fanout]}" RESULTS_DIR="$dir" loadgen "$dir" node bench/ws-scale.mjs || rc=$?
      tail -1 "$dir/loadgen-times.txt" | awk '{ split($1, u, "m"); split($2, s, "m"); printf "loadgen %.2f\n", u[1]*60 + u[2] + s[1]*60 + s[2] }' >"$dir/loadgen-cpu.txt"
      date +%s.%3N >>"$dir/window.txt"; scrape "$dir" after
      ;;
    reminders | query)
      date +%s.%3N >"$dir/window.txt"; scrape "$dir" before
      if [ "$suite" = reminders ]; then
        if [ "$MODE" = short ]; then export REMINDERS="${REMINDERS:-1000}"; fi
        run_gatling "$dir" ReminderSimulation || rc=$?
      else
        if [ "$SEED_RC" -ne 0 ]; then rc=$SEED_RC; else run_gatling "$dir" QuerySimulation || rc=$?; fi
        # The plans of the slow ones (auto_explain, enabled for this suite's connections only).
        grep -A 60 "duration:.*plan:" "$STACK_DIR/postgres/postgres.log" >"$dir/slow-query-plans.log" 2>/dev/null || true
      fi
      date +%s.%3N >>"$dir/window.txt"; scrape "$dir" after
      ;;
  esac
  echo "uptime after: $(uptime)" >>"$dir/env.txt"
  node bench/breakdown.mjs "$dir" >/dev/null || true
  if [ -f "$dir/perf.data" ]; then node bench/perf-top.mjs "$dir" >/dev/null && log "CPU profile by process and function: ${dir#"$ROOT"/}/perf-summary.txt"; fi
  # (ws-scale writes its own summary.json and report.json)
  [ "$suite" = ws-scale ] || node bench/gatling-summary.mjs "$dir" || true
  if [ $rc -ne 0 ]; then
    log "suite $suite ($target): exit $rc (a Gatling assertion failed, i.e. a target was missed, or the run failed; see $dir/loadgen.log)"
    failed_suites+=("$suite${2:+-$2}")
  fi
  LAST_DIR=$dir
}
taskstream_stack_up() {
  log "starting the bench stack (profile bench, ports 4xxxx)"
  stack_up=1
  # Only the export lines: an npm install inside up.sh may print to stdout.
  eval "$("$ROOT/stack/up.sh" | grep "^export ")"
}

if [ "$MODE" = compare ]; then
  # COMPARE_TARGETS="centrifugo" runs one side only (while developing).
  ts_dir="" cf_dir=""
  if [[ " ${COMPARE_TARGETS:-taskstream centrifugo} " == *" taskstream "* ]]; then
    taskstream_stack_up
    start_services "$RESULTS/$STAMP-ramp-taskstream"
    warm_up "$RESULTS/$STAMP-ramp-taskstream"
    run_suite ramp taskstream
    ts_dir=$LAST_DIR
    stop_services
    # Nothing of taskstream's stack keeps running (an idle Kafka JVM alone costs ~0.2 cores) while Centrifugo is measured.
    "$ROOT/stack/down.sh" >/dev/null 2>&1 || true
    stack_up=0
  fi
  if [[ " ${COMPARE_TARGETS:-taskstream centrifugo} " == *" centrifugo "* ]]; then
    mkdir -p "$RESULTS/$STAMP-ramp-centrifugo"
    start_centrifugo "$RESULTS/$STAMP-ramp-centrifugo"
    run_suite ramp centrifugo
    cf_dir=$LAST_DIR
    stop_services
    stop_centrifugo
  fi
  [ -z "$ts_dir" ] || [ -z "$cf_dir" ] || node bench/compare.mjs "$ts_dir" "$cf_dir" | tee "$RESULTS/$STAMP-compare.md"
  log "results in bench/results/$STAMP-*"
  [ ${#failed_suites[@]} -eq 0 ] || log "failed: ${failed_suites[*]}"
  # The comparison reports; its assertions (ASSERT=0 by default here) are `make bench`'s job.
  exit 0
fi

taskstream_stack_up
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
  case "$s" in e2e | ramp) warm_up "$RESULTS/$STAMP-$s" ;; esac
  run_suite "$s"
  stop_services
done
log "results in bench/results/$STAMP-*"
if [ ${#failed_suites[@]} -gt 0 ]; then
  log "targets missed (Gatling assertions) in: ${failed_suites[*]}"
  [ "${BENCH_LENIENT:-0}" = 1 ] || exit 1
fi
