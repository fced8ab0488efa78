#!/usr/bin/env bash
# Stops whatever the stack of STACK_PROFILE (dev|test) runs: app processes, Kafka, PostgreSQL, Redis.
source "$(dirname "$0")/lib.sh"
stop_pidfile "$STACK_DIR/web.pid" "dashboard dev server"
stop_pidfile "$STACK_DIR/app.pid" "taskstream services"
"$ROOT/stack/kafka.sh" stop
"$ROOT/stack/redis.sh" stop
"$ROOT/stack/postgres.sh" stop
