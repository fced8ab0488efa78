#!/usr/bin/env bash
# Installs what is missing, starts Kafka, PostgreSQL and Redis for STACK_PROFILE (dev|test),
# applies migrations and creates topics. Prints the env to use on stdout (`eval "$(stack/up.sh)"`).
source "$(dirname "$0")/lib.sh"
# Everything but the final env goes to stderr, so `eval "$(stack/up.sh)"` stays clean.
"$ROOT/stack/install.sh" >&2
if [ "$PROFILE" != dev ] && [ "${STACK_KEEP:-0}" != 1 ]; then
  "$ROOT/stack/down.sh" >/dev/null 2>&1 || true
  rm -rf "$STACK_DIR" "/var/tmp/taskstream-$(printf '%s' "$ROOT" | sha1sum | cut -c1-10)/$PROFILE"
fi
# Our fixed ports (3xxxx-5xxxx) lie in Linux's ephemeral range: an outgoing connection can take
# one just before a server binds it ("cannot listen", seen in CI). Reserve them when allowed (root).
reserved=/proc/sys/net/ipv4/ip_local_reserved_ports
ports="$KAFKA_PORT-$KAFKA_SASL_PORT,$PG_PORT,$REDIS_PORT,${PORT_BASE}8080-${PORT_BASE}8082,${PORT_BASE}8090"
if [ -w "$reserved" ]; then
  current="$(cat "$reserved")"
  echo "${current:+$current,}$ports" > "$reserved" 2>/dev/null || true
fi
"$ROOT/stack/postgres.sh" start >&2 &
"$ROOT/stack/redis.sh" start >&2 &
"$ROOT/stack/kafka.sh" start >&2 &
for job in $(jobs -p); do wait "$job" || die "a dependency failed to start"; done
(cd "$ROOT" && node --import tsx bin/taskstream.ts migrate && node --import tsx bin/taskstream.ts topics) >&2
cat <<ENV
export KAFKA_BROKERS='$KAFKA_BROKERS'
export DATABASE_URL='$DATABASE_URL'
export REDIS_URL='$REDIS_URL'
export TASKSTREAM_PROFILE='$TASKSTREAM_PROFILE'
export TEST_KAFKA_SCRAM_BROKERS='127.0.0.1:$KAFKA_SASL_PORT'
export TEST_KAFKA_SCRAM_USERNAME='$KAFKA_SCRAM_USERNAME'
export TEST_KAFKA_SCRAM_PASSWORD='$KAFKA_SCRAM_PASSWORD'
ENV
