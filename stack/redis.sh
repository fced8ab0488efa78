#!/usr/bin/env bash
# The project's own Redis (own dir and port), AOF on so BullMQ's delayed jobs survive a restart.
# usage: stack/redis.sh start|stop
source "$(dirname "$0")/lib.sh"
dir="$STACK_DIR/redis"
pidfile="$dir/redis.pid"

start() {
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then log "redis already running"; return; fi
  mkdir -p "$dir"
  log "starting redis on 127.0.0.1:$REDIS_PORT"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$dir" --daemonize yes \
    --pidfile "$pidfile" --logfile "$dir/redis.log" \
    --appendonly yes --appendfsync everysec --maxmemory-policy noeviction --save ""
  wait_for 20 redis redis-cli -p "$REDIS_PORT" ping
}

case "${1:-}" in
  start) start ;;
  stop) stop_pidfile "$pidfile" redis ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
