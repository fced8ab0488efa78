#!/usr/bin/env bash
# A real Apache Kafka broker in single-node KRaft mode (broker + controller), from Maven Central jars.
# usage: stack/kafka.sh start|stop
source "$(dirname "$0")/lib.sh"
dir="$STACK_DIR/kafka"
pidfile="$dir/kafka.pid"

listening() { port_open "$KAFKA_PORT" && port_open "$KAFKA_SASL_PORT"; }
listening_or_exited() { listening || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; }

start() {
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then log "kafka already running"; return; fi
  mkdir -p "$dir/data"
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
# A second listener that requires SASL/SCRAM-SHA-256 (the user is created at format time), so
# tests prove the clients' KAFKA_SASL_* settings against a real broker.
sasl.enabled.mechanisms=SCRAM-SHA-256
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.check.interval.ms=60000
# The log cleaner's buffer (128 MB by default) held most of the heap, which kept G1 marking
# concurrently every ~9 s; 16 MB is ample for the offsets of a local stack.
log.cleaner.dedupe.buffer.size=16777216
PROPS
  cat > "$dir/log4j2.yaml" <<'LOG'
Configuration:
  Appenders:
    Console: { name: STDOUT, PatternLayout: { pattern: "[%d] %p %m (%c)%n" } }
  Loggers:
    Root: { level: WARN, AppenderRef: [ { ref: STDOUT } ] }
    Logger:
      - { name: kafka.server.KafkaRaftServer, level: INFO }
LOG
  local cp="$KAFKA_LIBS/*"
  if [ ! -f "$dir/data/meta.properties" ]; then
    java -cp "$cp" -Dlog4j2.configurationFile="$dir/log4j2.yaml" kafka.tools.StorageTool format \
      --standalone -t "$(java -cp "$cp" kafka.tools.StorageTool random-uuid)" -c "$dir/server.properties" \
      --add-scram "SCRAM-SHA-256=[name=$KAFKA_SCRAM_USERNAME,password=$KAFKA_SCRAM_PASSWORD]" >"$dir/format.log" 2>&1 \
      || { cat "$dir/format.log" >&2; die "kafka storage format failed"; }
  fi
  log "starting kafka on 127.0.0.1:$KAFKA_PORT (SASL/SCRAM-SHA-256 on :$KAFKA_SASL_PORT)"
  # C1 alone starts the broker sooner, which the short-lived stacks of tests and checks want; a
  # broker that runs for minutes (dev, bench) spends less CPU per request with the full JIT: at
  # 1,000 writes/s over 90 s, 0.22 ms per write instead of 0.31 (bench/README-bench.md, stop 28).
  # The heap is sized once (no resizing under load), with room for young collections every ~25 s.
  local jit=()
  case "$PROFILE" in dev | bench) ;; *) jit=(-XX:TieredStopAtLevel=1) ;; esac
  # up.sh reserves our ports, but a connection made before that can still hold one as its local
  # port (up to a minute more once it closes, in TIME_WAIT): the broker then cannot bind it and exits
  # ("Address already in use", seen once in test-faults). Start it again until the port is free.
  local attempt
  for attempt in $(seq 14); do
    nohup java -Xms768m -Xmx768m -XX:+UseG1GC "${jit[@]}" -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$dir/log4j2.yaml" -cp "$cp" kafka.Kafka "$dir/server.properties" \
      >"$dir/kafka.log" 2>&1 &
    echo $! > "$pidfile"
    wait_for 60 "kafka (log: $dir/kafka.log)" listening_or_exited
    listening && break
    grep -q "Address already in use" "$dir/kafka.log" || die "kafka exited at start (log: $dir/kafka.log)"
    [ "$attempt" -lt 14 ] || die "kafka: a port is still in use after a minute (log: $dir/kafka.log)"
    log "kafka: one of its ports is still held by another connection; starting it again in 5 s"
    sleep 5
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop_pidfile "$pidfile" kafka ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
