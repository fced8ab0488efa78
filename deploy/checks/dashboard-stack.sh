#!/usr/bin/env bash
# deploy-check: the Grafana dashboard against a running stack's /metrics. Starts a throwaway stack
# (profile `dashboard`, ports DASHBOARD_STACK_PORT_BASE, default 5: <base>9092, <base>5432,
# <base>6379, services on <base>808x), the four services as `bin/taskstream.ts all`, makes one write
# (so the pipeline's metrics have samples), scrapes the four /metrics, stops everything and runs
# deploy/checks/dashboard.mjs on what was scraped.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export STACK_PROFILE=dashboard STACK_PORT_BASE="${DASHBOARD_STACK_PORT_BASE:-5}"
# shellcheck source=/dev/null
. "$root/stack/node-env.sh"
cd "$root"
out="$(mktemp -d /tmp/taskstream-dashboard.XXXXXX)"
pid=""
cleanup() {
  [ -z "$pid" ] || { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  "$root/stack/down.sh" >/dev/null 2>&1 || true
  rm -rf "$out"
}
trap cleanup EXIT
stack_env="$("$root/stack/up.sh" 2>"$out/stack.log")" || { cat "$out/stack.log" >&2; echo "the dashboard check's stack did not start" >&2; exit 1; }
eval "$stack_env"
b=$STACK_PORT_BASE
export INGEST_PORT=${b}8080 PROCESSORS_PORT=${b}8081 SCHEDULER_PORT=${b}8082 FANOUT_PORT=${b}8090 LOG_LEVEL=warn
node --import tsx bin/taskstream.ts all >"$out/services.log" 2>&1 &
pid=$!
for _ in $(seq 1 240); do
  ready=1
  for p in $INGEST_PORT $PROCESSORS_PORT $SCHEDULER_PORT $FANOUT_PORT; do
    curl -fsS "http://127.0.0.1:$p/readyz" >/dev/null 2>&1 || ready=0
  done
  [ $ready = 1 ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$out/services.log" >&2; echo "the services exited" >&2; exit 1; }
  sleep 0.5
done
[ $ready = 1 ] || { tail -20 "$out/services.log" >&2; echo "the services did not become ready" >&2; exit 1; }
token="$(node --import tsx bin/taskstream.ts token dashboard-check)"
curl -fsS -X POST "http://127.0.0.1:$INGEST_PORT/api/dashboard-check/tasks" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' -d '{"title":"dashboard check"}' >/dev/null
# Until the write was applied (the processors' histograms have samples), at most 30 s.
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$PROCESSORS_PORT/metrics" | grep -q '^taskstream_processor_events_total{outcome="applied"} [1-9]' && break
  sleep 0.5
done
for p in $INGEST_PORT $PROCESSORS_PORT $SCHEDULER_PORT $FANOUT_PORT; do curl -fsS "http://127.0.0.1:$p/metrics" >"$out/metrics-$p.txt"; done
node "$here/dashboard.mjs" "$out"/metrics-*.txt
