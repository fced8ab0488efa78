#!/usr/bin/env bash
# `make test`: installs what is missing, starts a throwaway Kafka/PostgreSQL/Redis (profile `test`,
# own ports and data dir), runs the import-rule check, lint, typecheck, unit and integration tests,
# then stops everything.
# Extra arguments go to vitest (e.g. `stack/test.sh processors/`). STACK_PROFILE/STACK_PORT_BASE
# give a second, independent test stack (see stack/lib.sh).
export STACK_PROFILE="${STACK_PROFILE:-test}"
export TASKSTREAM_PROFILE=dev # tests use the documented dev JWT secret
source "$(dirname "$0")/lib.sh"
trap '"$ROOT/stack/down.sh" >/dev/null 2>&1 || true' EXIT INT TERM
start=$SECONDS
"$ROOT/stack/install.sh"
log "install checked in $((SECONDS - start))s"
cd "$ROOT"
log "import rules (stack/check-imports.mjs), lint (biome) and typecheck (tsc, and the k6 scripts against @types/k6)"
node stack/check-imports.mjs
node_modules/.bin/biome ci .
node_modules/.bin/tsc --noEmit -p .
node_modules/.bin/tsc --noEmit -p web
# The k6 scripts (not run here: k6 is AGPL) against @types/k6, strict, so they cannot rot.
node_modules/.bin/tsc -p bench/k6
t=$SECONDS
stack_env="$("$ROOT/stack/up.sh")" || die "the local stack did not start (see the messages above)"
eval "$stack_env"
log "stack up in $((SECONDS - t))s"
# Tests start their own service instances on these ports, away from a running `make dev`.
export INGEST_PORT=${PORT_BASE}8080 PROCESSORS_PORT=${PORT_BASE}8081 SCHEDULER_PORT=${PORT_BASE}8082 FANOUT_PORT=${PORT_BASE}8090 LOG_LEVEL="${LOG_LEVEL:-warn}"
node_modules/.bin/vitest run "$@"
log "all tests passed in $((SECONDS - start))s"
