/**
 * The processors: a consumer group on the task-events and reminders topics. Each partition's
 * batches come in order and join a group (group-commit.ts): parse (malformed → dead letters),
 * apply the group in one PostgreSQL transaction (which also records its schedule changes for the
 * scheduler), publish to Redis, and only then store each partition's offset, which librdkafka
 * commits every second. A crash anywhere before the commit redelivers the batches, which the
 * event_id dedupe makes harmless.
 */
import type { Redis } from "ioredis";
import type { Config } from "../common/config.ts";
import { MalformedEventError, parseEvent, serializeEvent, type TaskEvent, topicName, topicSpecs } from "../common/contracts/index.ts";
import { checks, openDb, openRedis } from "../common/deps.ts";
import {
  type Admin,
  type Consumer,
  createConsumer,
  createKafka,
  createProducer,
  type EachBatchPayload,
  effectsFirstBatchHandler,
  keepConnecting,
  notConnected,
  type Producer,
} from "../common/kafka.ts";
import { logger } from "../common/log.ts";
import { metric } from "../common/metrics.ts";
import type { Db } from "../common/postgres.ts";
import { redisKeys } from "../common/redis.ts";
import { durationMs } from "../common/series.ts";
import { type Health, healthServer, type Service, withTimeout } from "../common/service.ts";
import { withSpan } from "../common/telemetry.ts";
import { applyBatch } from "./apply-batch.ts";
import { type DeadLetter, sendDeadLetters } from "./dead-letter.ts";
import { groupCommit } from "./group-commit.ts";
import { defineAppendAndPublish, publishApplied } from "./publish.ts";
import { queueSettle } from "./settle.ts";
import { inTimeOrder } from "./time-order.ts";

const log = logger("processors");
/**
 * Offsets stored after each batch's effects are committed this often (and on rebalance and
 * shutdown): after a crash up to this much is redelivered, which the event_id dedupe absorbs.
 */
const OFFSET_COMMIT_INTERVAL_MS = 1000;
const applied = metric.counter("processor_events_total", "Events handled by the processors, by outcome", ["outcome"]);
const batchSeconds = metric.latency("processor_batch_seconds", "Time to apply and publish one group of partition batches");
const groupEvents = metric.sizes("processor_group_events", "Events applied together in one group of partition batches (one transaction)");
const lagSeconds = metric.latency("processor_event_age_seconds", "Event timestamp to processor commit");

export async function processorsService(config: Config, health: Health): Promise<Service> {
  const keys = redisKeys(config.redisPrefix);
  const topics = {
    in: [topicName(config.topicPrefix, "taskEvents"), topicName(config.topicPrefix, "reminders")],
    dlq: topicName(config.topicPrefix, "deadLetters"),
  };
  let db: Db, redis: Redis, producer: Producer;
  let admin: Admin | undefined, consumer: Consumer | undefined;
  let stopKafka = () => {};
  let closeServer = () => {};
  // Schedule changes are recorded under the deployment's topic prefix (the scheduler's intake scope).
  const scheduling = { scheduling: { scope: config.topicPrefix, recurrenceLeadMs: durationMs(config.recurrenceLead) } };

  type Batch = EachBatchPayload["batch"];

  /** One group of partition batches (group-commit.ts): one transaction, one Redis round trip. */
  async function handleGroup(batches: Batch[]): Promise<void> {
    const started = process.hrtime.bigint();
    const parsed: TaskEvent[][] = [];
    const sourceOf = new Map<string, { batch: Batch; message: Batch["messages"][number] }>();
    const dead: DeadLetter[] = [];
    const deadLetter = (batch: Batch, m: Batch["messages"][number] | undefined, reason: string): DeadLetter => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: m?.offset ?? "?",
      key: m?.key ?? null,
      value: m?.value ?? null,
      reason,
    });
    for (const batch of batches) {
      const events: TaskEvent[] = [];
      parsed.push(events);
      for (const m of batch.messages) {
        try {
          const event = parseEvent(m.value);
          events.push(event);
          sourceOf.set(event.event_id, { batch, message: m });
        } catch (err) {
          if (!(err instanceof MalformedEventError)) throw err;
          dead.push(deadLetter(batch, m, err.message));
        }
      }
    }
    const events = inTimeOrder(parsed);
    const result =
      events.length > 0
        ? await withSpan("processors apply", { attributes: { "taskstream.events": events.length } }, () =>
            applyBatch(db, events, scheduling),
          )
        : { applied: [], duplicates: [], skipped: 0, rejected: [] };
    for (const r of result.rejected) {
      if (r.code === "superseded") continue; // a normal outcome of last write wins, not a failure
      const source = sourceOf.get(r.event.event_id);
      const reason = `${r.code}: ${r.reason}`;
      // An event the processors made themselves (a timezone move, an after_completion instance) has no record of its own: it is sent whole.
      dead.push(
        source
          ? deadLetter(source.batch, source.message, reason)
          : {
              topic: (batches[0] as Batch).topic,
              partition: -1,
              offset: "derived",
              reason,
              key: r.event.user_id,
              value: serializeEvent(r.event),
            },
      );
    }
    await sendDeadLetters(producer, topics.dlq, dead);
    const toPublish = [...result.duplicates, ...result.applied];
    await publishApplied(redis, db, keys, toPublish, config.eventStreamMaxLen, (pipeline) =>
      queueSettle(pipeline, keys, events, result.applied),
    );
    const now = Date.now();
    for (const e of result.applied) lagSeconds.observe((now - Date.parse(e.timestamp)) / 1000);
    applied.inc({ outcome: "applied" }, result.applied.length);
    applied.inc({ outcome: "duplicate" }, result.duplicates.length);
    applied.inc({ outcome: "skipped" }, result.skipped);
    applied.inc({ outcome: "dead_letter" }, dead.length);
    groupEvents.observe(events.length);
    if (dead.length > 0) log.warn({ count: dead.length, reasons: dead.slice(0, 3).map((d) => d.reason) }, "sent to dead-letter topic");
    batchSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }
  const handleBatch = groupCommit(handleGroup);

  const service: Service = {
    name: "processors",
    checks: {},
    async start() {
      db = await openDb(config, undefined, { keyLookups: true });
      redis = await openRedis(config, "processors");
      defineAppendAndPublish(redis);
      Object.assign(service.checks, {
        postgres: checks.postgres(db),
        redis: checks.redis(redis),
        kafka: () => (admin ? admin.listTopics() : notConnected()),
      });
      // The broker may be down at start: the process starts (not ready) and joins its consumer
      // group once the broker answers.
      const kafkaUp = keepConnecting(log, async () => {
        const kafka = createKafka(config, "taskstream-processors");
        const a = kafka.admin();
        const p = createProducer(kafka);
        const c = createConsumer(kafka, config.processorsGroup, { commitIntervalMs: OFFSET_COMMIT_INTERVAL_MS });
        try {
          await a.connect();
          await a.listTopics();
          await p.connect();
          await c.connect();
          await c.subscribe({ topics: topics.in });
          producer = p;
          consumer = c;
          await c.run({
            // Every partition has a worker, so the batches of all of them can join one group (group-commit.ts).
            partitionsConsumedConcurrently: topicSpecs.taskEvents.partitions + topicSpecs.reminders.partitions,
            eachBatchAutoResolve: false,
            eachBatch: effectsFirstBatchHandler(log, handleBatch),
          });
          admin = a;
        } catch (err) {
          await Promise.allSettled([c.disconnect(), p.disconnect(), a.disconnect()]);
          throw err;
        }
      });
      stopKafka = kafkaUp.stop;
      await withTimeout(kafkaUp.firstAttempt, config.dependencyTimeoutMs, "broker").catch(() => {});
      const server = await healthServer(health, config.host, config.processorsPort);
      closeServer = () => server.close();
    },
    async stop() {
      stopKafka();
      // disconnect() waits for the batches in flight, whose offsets are committed as they finish.
      await consumer?.disconnect();
      await producer?.disconnect();
      await admin?.disconnect();
      redis?.disconnect();
      await db?.end();
      closeServer();
    },
  };
  return service;
}
