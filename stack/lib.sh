# Shared settings for the local stack scripts. Sourced, not run.
# Two profiles so tests never touch a running dev stack: `dev` keeps its data, `test` is wiped each run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# runuser and friends live in sbin, which a minimal PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"
PROFILE="${STACK_PROFILE:-dev}"
# Downloads shared by every clone on this machine (Kafka jars); data lives in the clone.
CACHE_DIR="${TASKSTREAM_CACHE:-$HOME/.cache/taskstream}"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/stack/kafka/pom.xml")"
KAFKA_LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
STACK_DIR="$ROOT/.stack/$PROFILE"

# Node 22 first on PATH (stack/node-env.sh) for this script and everything it starts.
# shellcheck source=/dev/null
. "$ROOT/stack/node-env.sh"

# Ports are <base>9092 (Kafka), <base>5432 (PostgreSQL), <base>6379 (Redis); tests run their
# services on <base>8080.. . Another profile needs its own STACK_PORT_BASE (a digit 3-5).
case "$PROFILE" in
  dev)  PORT_BASE=1 ;;
  test) PORT_BASE=2 ;;
  *) PORT_BASE="${STACK_PORT_BASE:?profile '$PROFILE' needs STACK_PORT_BASE (3-5)}" ;;
esac
KAFKA_PORT=${PORT_BASE}9092; PG_PORT=${PORT_BASE}5432; REDIS_PORT=${PORT_BASE}6379
KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + 1))
# The broker's SASL/SCRAM-SHA-256 listener and its one user (local test credentials only).
KAFKA_SASL_PORT=$((KAFKA_PORT + 2))
KAFKA_SCRAM_USERNAME=taskstream
KAFKA_SCRAM_PASSWORD=taskstream-local-scram-password

export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}"
export DATABASE_URL="${DATABASE_URL:-postgres://taskstream:taskstream@127.0.0.1:$PG_PORT/taskstream}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT}"
# The local stacks are development stacks: the documented dev JWT secret is allowed there.
export TASKSTREAM_PROFILE="${TASKSTREAM_PROFILE:-dev}"

log() { printf '\033[1;34m[stack:%s]\033[0m %s\n' "$PROFILE" "$*" >&2; }
die() { printf '\033[1;31m[stack:%s]\033[0m %s\n' "$PROFILE" "$*" >&2; exit 1; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# wait_for <seconds> <description> <command...>
wait_for() {
  local secs=$1 what=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "$what did not come up within ${secs}s"
    sleep 0.3
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# stop_pidfile <pidfile> <name>: TERM, wait up to 20 s, then KILL.
stop_pidfile() {
  local pidfile=$1 name=$2 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}
