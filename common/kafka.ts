/** Kafka-protocol client factories (Apache Kafka locally, Redpanda in production). */

import type { KafkaJS as K } from "@confluentinc/kafka-javascript";
import kafkaPkg from "@confluentinc/kafka-javascript";
import { brokerList, type Config } from "./config.ts";
import { type Logger, logger as makeLogger } from "./log.ts";
import { metric } from "./metrics.ts";
import { tracedBatch, tracedSend, tracingEnabled } from "./telemetry.ts";

const { Kafka, logLevel } = kafkaPkg.KafkaJS;
export type Producer = K.Producer;
export type Consumer = K.Consumer;
export type Admin = K.Admin;
export type EachBatchPayload = K.EachBatchPayload;

/**
 * A broker that refuses the credentials is a configuration error, not an outage: librdkafka would
 * retry forever (and ingest would queue every write in the outbox), so the process says which
 * setting to fix in one line and exits 1. Tests may replace the handler.
 */
let fatalConfigHandler = (line: string): void => {
  process.stderr.write(`taskstream: ${line}\n`);
  process.exit(1);
};
export function onKafkaConfigError(handler: (line: string) => void): void {
  fatalConfigHandler = handler;
}

/** The setting a librdkafka error message points at, if it is a security misconfiguration. */
export function kafkaConfigProblem(config: Config, msg: string): string | undefined {
  const sasl = config.kafkaSaslMechanism ? `SASL ${config.kafkaSaslMechanism} as ${JSON.stringify(config.kafkaSaslUsername)}` : "";
  if (/SASL authentication error|Authentication failed/i.test(msg)) {
    return `KAFKA_SASL_PASSWORD (or KAFKA_SASL_USERNAME) was refused by the broker ${config.kafkaBrokers}: ${sasl} failed (invalid credentials)`;
  }
  if (/Unsupported SASL mechanism|SASL mechanism .* not supported|Broker: Unsupported SASL/i.test(msg)) {
    return `KAFKA_SASL_MECHANISM=${config.kafkaSaslMechanism ?? ""} is not enabled on the broker ${config.kafkaBrokers}`;
  }
  // Deliberately not matched: "Disconnected while requesting ApiVersion: might be caused by incorrect
  // security.protocol" and TLS handshake failures also happen while a broker restarts or is
  // overloaded; they are retried and surface as KAFKA_BROKERS in /readyz and start-up errors.
  return undefined;
}

/** Routes the client's own logs into our structured logger. */
function kafkaLogger(log: Logger, config: Config): K.Logger {
  let reported = false;
  const check = (msg: string) => {
    if (reported) return;
    const problem = kafkaConfigProblem(config, msg);
    if (problem) {
      reported = true;
      fatalConfigHandler(problem);
    }
  };
  const adapter: K.Logger = {
    info: (msg, extra) => log.debug(extra ?? {}, msg),
    warn: (msg, extra) => {
      check(msg);
      log.warn(extra ?? {}, msg);
    },
    // Broker connection failures ("FAIL") are retried by librdkafka and surface in /readyz and
    // start-up errors; at error level they would bury the one line that says what to fix.
    error: (msg, extra) => {
      check(msg);
      if ((extra as { fac?: string } | undefined)?.fac === "FAIL") log.debug(extra ?? {}, msg);
      else log.error(extra ?? {}, msg);
    },
    debug: (msg, extra) => log.debug(extra ?? {}, msg),
    namespace: () => adapter,
    setLogLevel: () => {},
  };
  return adapter;
}

/**
 * Security settings of every client (producer, consumers, admin all come from createKafka):
 * SASL (PLAIN / SCRAM) and TLS from KAFKA_SASL_* / KAFKA_SSL*, nothing else to change for a
 * secured cluster such as Redpanda Cloud.
 */
export function kafkaSecurity(config: Config): { kafkaJS: Pick<K.KafkaConfig, "ssl" | "sasl">; rdkafka: Record<string, string> } {
  const kafkaJS: Pick<K.KafkaConfig, "ssl" | "sasl"> = {};
  const rdkafka: Record<string, string> = {};
  if (config.kafkaSsl) kafkaJS.ssl = true;
  if (config.kafkaSslCaFile) rdkafka["ssl.ca.location"] = config.kafkaSslCaFile;
  if (config.kafkaSaslMechanism && config.kafkaSaslUsername && config.kafkaSaslPassword) {
    const mechanism = config.kafkaSaslMechanism.toLowerCase() as "plain" | "scram-sha-256" | "scram-sha-512";
    kafkaJS.sasl = { mechanism, username: config.kafkaSaslUsername, password: config.kafkaSaslPassword } as K.SASLOptions;
  }
  return { kafkaJS, rdkafka };
}

export function createKafka(config: Config, clientId: string): K.Kafka {
  const security = kafkaSecurity(config);
  return new Kafka({
    kafkaJS: {
      brokers: brokerList(config),
      clientId,
      logLevel: logLevel.WARN,
      logger: kafkaLogger(makeLogger(`kafka:${clientId}`), config),
      connectionTimeout: config.dependencyTimeoutMs,
      ...security.kafkaJS,
    },
    ...security.rdkafka,
  });
}

/**
 * Idempotent producer with acks=all: a retried send never duplicates or reorders a partition.
 * A short linger batches concurrent sends into one request without a visible latency cost: 1 ms
 * (was 2) took 100 writes/s from e2e p95 21 to 15 ms, and at 1,000/s neither the broker's CPU per
 * write (0.37–0.43 ms with 0.5, 1 or 2 ms) nor the latency moved beyond the run-to-run spread.
 */
export function createProducer(kafka: K.Kafka, lingerMs = 1): Producer {
  const producer = kafka.producer({
    kafkaJS: { idempotent: true, acks: -1, compression: kafkaPkg.KafkaJS.CompressionTypes.LZ4 },
    "linger.ms": lingerMs,
    "message.timeout.ms": 30000,
  });
  // Tracing on: every send is a PRODUCER span and its records carry `traceparent` (common/telemetry.ts).
  if (tracingEnabled()) {
    const send = producer.send.bind(producer);
    producer.send = (record) => tracedSend(record, send);
  }
  return producer;
}

/**
 * Consumer with manual commits (`commitIntervalMs` unset): callers commit only after their
 * effects are durable. With `commitIntervalMs`, offsets are committed by librdkafka at that
 * interval, on rebalance and on close, but only offsets the caller stored (`resolveOffset`, after
 * its effects): at-least-once still, one commit request per interval instead of one per batch.
 */
export function createConsumer(kafka: K.Kafka, groupId: string, opts: { maxBatchSize?: number; commitIntervalMs?: number } = {}): Consumer {
  const { maxBatchSize = 500, commitIntervalMs } = opts;
  const commits = commitIntervalMs === undefined ? { autoCommit: false } : { autoCommit: true, autoCommitInterval: commitIntervalMs };
  return kafka.consumer({
    // A 10 s session: a crashed member's partitions move to the survivors (or its restart) quickly.
    kafkaJS: { groupId, fromBeginning: true, ...commits, sessionTimeout: 10000, heartbeatInterval: 2000 },
    // How long the broker holds a fetch that finds nothing new. A record that arrives meanwhile
    // answers it at once (fetch.min.bytes is 1), so this costs no latency; it only sets how often
    // an idle consumer asks: every 10 ms cost the broker 0.13 of a core doing nothing, 100 ms 0.05.
    "fetch.wait.max.ms": 100,
    "js.consumer.max.batch.size": maxBatchSize,
    "enable.partition.eof": false,
    // Fetch again only once what was fetched has been handed to the handler (librdkafka's default
    // prefetches up to 100,000 records): while a batch is being applied, new records wait at the
    // broker and come back as one fetch, not one fetch per produce request. When idle it answers
    // the moment a record arrives, as before (the queue is checked every 1 ms, not the default
    // 1,000). At 1,000 writes/s this took the broker from 0.39-0.45 to 0.24-0.31 ms of CPU per
    // write (three runs each); at 100 writes/s p95 stayed at 8-9 ms (bench/README-bench.md).
    "queued.min.messages": 1,
    "fetch.queue.backoff.ms": 1,
  });
}

const consumerLag = metric.gauge(
  "kafka_consumer_lag",
  "Records in the partition after the last committed batch (high watermark - committed offset), per consumed topic and partition",
  ["topic", "partition"],
);
const batchFailures = metric.counter(
  "kafka_consumer_batch_failures_total",
  "Consumed batches whose handling failed (redelivered after backoff), per topic",
  ["topic"],
);

/**
 * An eachBatch handler for a consumer that commits stored offsets (createConsumer with
 * `commitIntervalMs`): the batch's offset is stored only after `handle` succeeded (effects first,
 * offsets last). On failure nothing is stored: it backs off (capped, jittered, per partition) and
 * rethrows, so the consumer seeks back and redelivers the whole batch.
 */
export function effectsFirstBatchHandler(log: Logger, handle: (batch: EachBatchPayload["batch"]) => Promise<void>) {
  const failures = new Map<string, number>();
  return async ({ batch, resolveOffset }: EachBatchPayload): Promise<void> => {
    const partition = `${batch.topic}/${batch.partition}`;
    try {
      await tracedBatch(batch, () => handle(batch));
      const last = batch.messages[batch.messages.length - 1];
      if (last) {
        resolveOffset(last.offset);
        const lag = Number(batch.offsetLag());
        if (lag >= 0) consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, lag);
      }
      failures.delete(partition);
    } catch (err) {
      batchFailures.inc({ topic: batch.topic });
      const attempt = (failures.get(partition) ?? 0) + 1;
      failures.set(partition, attempt);
      const delay = Math.min(100 * 2 ** attempt, 5000) * (0.5 + Math.random() / 2);
      log.warn({ partition, attempt, retryInMs: Math.round(delay), err: (err as Error).message }, "batch failed; will be redelivered");
      await new Promise((r) => setTimeout(r, delay));
      throw err;
    }
  };
}

/**
 * The broker is the one dependency a process starts without: `attempt` (which makes fresh clients
 * each time, since a librdkafka client that failed to connect cannot connect again, and closes
 * them when it fails) runs until it succeeds, with capped jittered backoff. `firstAttempt`
 * settles after the first try, so a start-up can wait briefly for a broker that is up.
 */
export function keepConnecting(
  log: Logger,
  attempt: () => Promise<void>,
): { firstAttempt: Promise<void>; connected(): boolean; stop(): void } {
  let connected = false;
  let stopped = false;
  let settleFirst = () => {};
  const firstAttempt = new Promise<void>((resolve) => {
    settleFirst = resolve;
  });
  void (async () => {
    for (let n = 1; !stopped; n++) {
      try {
        await attempt();
        connected = true;
        if (n > 1) log.info({ attempts: n }, "connected to the broker");
        settleFirst();
        return;
      } catch (err) {
        settleFirst();
        if (stopped) return;
        const delay = Math.min(500 * 2 ** n, 15_000) * (0.5 + Math.random() / 2);
        log.warn(
          { attempt: n, retryInMs: Math.round(delay), err: (err as Error).message },
          "broker not reachable (KAFKA_BROKERS); retrying",
        );
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  })();
  return {
    firstAttempt,
    connected: () => connected,
    stop: () => {
      stopped = true;
    },
  };
}

/** What a readiness check says while keepConnecting has not succeeded yet. */
export const notConnected = () => Promise.reject(new Error("not connected to the broker yet (KAFKA_BROKERS)"));
