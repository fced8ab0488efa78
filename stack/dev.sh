#!/usr/bin/env bash
# `make dev`: installs what is missing, starts Kafka, PostgreSQL and Redis (profile `dev`, data kept
# in .stack/dev), migrates, creates topics, then runs all four services in one process in the
# foreground, plus the dashboard's Vite dev server (web/, WEB_PORT=5173). Ctrl-C (or `make down`) stops the services and the stack; nothing is left running.
export STACK_PROFILE=dev
# The documented dev JWT secret is allowed only under this explicit profile.
export TASKSTREAM_PROFILE=dev
source "$(dirname "$0")/lib.sh"
cleanup() {
  trap - EXIT INT TERM
  [ -z "${web_pid:-}" ] || kill -TERM "$web_pid" 2>/dev/null || true
  [ -z "${app_pid:-}" ] || kill -TERM "$app_pid" 2>/dev/null || true
  [ -z "${app_pid:-}" ] || wait "$app_pid" 2>/dev/null || true
  "$ROOT/stack/down.sh"
}
trap cleanup EXIT INT TERM
stack_env="$("$ROOT/stack/up.sh")" || die "the local stack did not start (see the messages above)"
eval "$stack_env"
cd "$ROOT"
log "starting ingest :${INGEST_PORT:-8080}, fanout :${FANOUT_PORT:-8090}, processors :${PROCESSORS_PORT:-8081}, scheduler :${SCHEDULER_PORT:-8082}"
log "token for user 'alice': make token USER=alice"
node --import tsx bin/taskstream.ts all &
app_pid=$!
echo "$app_pid" > "$STACK_DIR/app.pid"
# The dashboard (web/), with a dev-only token endpoint: http://localhost:${WEB_PORT:-5173}/
log "dashboard: http://localhost:${WEB_PORT:-5173}/ (sign in with \"Get a dev token\" or a token from make token)"
node_modules/.bin/vite --config web/vite.config.ts &
web_pid=$!
echo "$web_pid" > "$STACK_DIR/web.pid"
wait "$app_pid"
