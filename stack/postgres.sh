#!/usr/bin/env bash
# The project's own PostgreSQL cluster (own data dir and port), run as the `postgres` OS user
# because the server refuses to run as root.
# usage: stack/postgres.sh start|stop
source "$(dirname "$0")/lib.sh"
bin="$(pg_bin)"
[ -n "$bin" ] || die "PostgreSQL is not installed (run stack/install.sh)"

as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

dir="$STACK_DIR/postgres"
# As root the server runs as `postgres`, which must reach the data dir; a clone under a private
# home (e.g. /root) is out of its reach, so the data then lives under /var/tmp, keyed by the clone.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$STACK_DIR"
  if ! (cd / && runuser -u postgres -- test -x "$STACK_DIR"); then
    dir="/var/tmp/taskstream-$(printf '%s' "$ROOT" | sha1sum | cut -c1-10)/$PROFILE/postgres"
  fi
fi

start() {
  if as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then log "postgres already running"; return; fi
  mkdir -p "$dir"
  [ "$(id -u)" != 0 ] || chown postgres:postgres "$dir"
  [ "$dir" = "$STACK_DIR/postgres" ] || log "postgres data in $dir (the clone is not readable by the postgres user)"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    echo taskstream > "$dir/.pw"; [ "$(id -u)" != 0 ] || chown postgres "$dir/.pw"
    as_pg "$bin/initdb" -D "$dir/data" -U taskstream --pwfile="$dir/.pw" -A scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  fi
  log "starting postgres on 127.0.0.1:$PG_PORT"
  # Tuned for a throwaway dev/test box; fsync stays on so crash tests mean something.
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start -o \
    "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c max_connections=200 \
     -c shared_buffers=256MB -c synchronous_commit=off -c wal_level=minimal -c max_wal_senders=0" >/dev/null
  PGPASSWORD=taskstream wait_for 30 postgres "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT"
  PGPASSWORD=taskstream psql -h 127.0.0.1 -p "$PG_PORT" -U taskstream -d postgres -tAc \
    "select 1 from pg_database where datname='taskstream'" | grep -q 1 \
    || PGPASSWORD=taskstream psql -q -h 127.0.0.1 -p "$PG_PORT" -U taskstream -d postgres -c "create database taskstream"
}

stop() {
  [ -f "$dir/data/PG_VERSION" ] || return 0
  as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 || return 0
  log "stopping postgres"
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
