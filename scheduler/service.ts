/**
 * The scheduler process: BullMQ delayed jobs for reminders and recurring tasks.
 *
 * Intake is a consumer group (SCHEDULER_GROUP) on task-updates, where the processors put every
 * applied event after its PostgreSQL commit. For each batch, the tasks the events touched are
 * reconciled against the projection (schedule.ts) and only then are offsets committed; a settings
 * change first moves the user's recurring tasks to the new timezone (timezone.ts). A BullMQ worker
 * runs due jobs (worker.ts), which produce reminder.triggered and recurring.spawned to the
 * reminders topic. At start-up, on a Redis reconnect and periodically, every job the projection
 * calls for is recreated if missing, so Redis may lose its data and nothing is lost but time.
 */
import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import { Gauge } from "prom-client";
import type { Config } from "../common/config.ts";
import { type EventOf, MalformedEventError, parseEvent, topicName } from "../common/contracts/index.ts";
import { checks, openDb, openRedis } from "../common/deps.ts";
import { isInfrastructureError } from "../common/failures.ts";
import {
  type Admin,
  type Consumer,
  committingBatchHandler,
  createConsumer,
  createKafka,
  createProducer,
  type EachBatchPayload,
  keepConnecting,
  notConnected,
  type Producer,
} from "../common/kafka.ts";
import { logger } from "../common/log.ts";
import { metric, registry } from "../common/metrics.ts";
import type { Db } from "../common/postgres.ts";
import { redisKeys } from "../common/redis.ts";
import { type Health, healthServer, type Service, withTimeout } from "../common/service.ts";
import { type Outcome, QUEUE_NAME, type SchedulerJob } from "./jobs.ts";
import { bullConnection, Schedule } from "./schedule.ts";
import { followTimezoneChange } from "./timezone.ts";
import { jobProcessor } from "./worker.ts";

const log = logger("scheduler");
let countJobs: (() => Promise<Record<string, number>>) | undefined;
new Gauge({
  name: "taskstream_scheduler_jobs",
  help: "Scheduler jobs in Redis by state",
  labelNames: ["state"],
  registers: [registry],
  async collect() {
    for (const [state, n] of Object.entries((await countJobs?.()) ?? {})) this.set({ state }, n);
  },
});
const consumed = metric.counter("scheduler_events_total", "task-updates events read by the scheduler, by outcome", ["outcome"]);

export interface SchedulerOptions {
  /** Jobs one process runs at once. @defaultValue 100 */
  concurrency: number;
  /** Full reconcile against PostgreSQL besides start-up and Redis reconnects. @defaultValue 300000 (5 min) */
  reconcileIntervalMs: number;
}
const DEFAULTS: SchedulerOptions = { concurrency: 100, reconcileIntervalMs: 300_000 };

/** Task ids whose jobs an applied event may change. */
export function affectedTasks(event: ReturnType<typeof parseEvent>): string[] {
  switch (event.event_type) {
    case "recurring.spawned":
      return event.data.task.parent_task_id ? [event.aggregate_id, event.data.task.parent_task_id] : [event.aggregate_id];
    case "task.created":
    case "task.updated":
    case "task.completed":
    case "task.uncompleted":
    case "task.deleted":
    case "recurring.skipped":
    case "reminder.created":
    case "reminder.deleted":
    case "reminder.triggered":
      return [event.aggregate_id];
    default:
      return [];
  }
}

export async function schedulerService(config: Config, health: Health, options: Partial<SchedulerOptions> = {}): Promise<Service> {
  const opts = { ...DEFAULTS, ...options };
  const keys = redisKeys(config.redisPrefix);
  const topics = { in: topicName(config.topicPrefix, "taskUpdates"), out: topicName(config.topicPrefix, "reminders") };
  let db: Db, redis: Redis, schedule: Schedule, worker: Worker<SchedulerJob, Outcome>;
  let admin: Admin | undefined, producer: Producer | undefined, consumer: Consumer | undefined;
  let stopKafka = () => {};
  /** Sends through the broker once connected; until then due jobs fail and BullMQ retries them. */
  const sender = {
    send: (record: Parameters<Producer["send"]>[0]) =>
      producer ? producer.send(record) : Promise.reject(new Error("not connected to the broker yet")),
  };
  let closeServer = () => {};
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;

  // One full reconcile at a time; a request while one runs schedules exactly one more.
  let reconciling: Promise<void> | undefined;
  let again = false;
  function reconcileAll(reason: string): Promise<void> {
    if (reconciling) {
      again = true;
      return reconciling;
    }
    reconciling = (async () => {
      do {
        again = false;
        const started = Date.now();
        try {
          const r = await schedule.reconcileAll();
          log.info({ reason, ...r, ms: Date.now() - started }, "reconciled jobs with the projection");
        } catch (err) {
          if (!stopping) log.error({ reason, err: (err as Error).message }, "reconcile failed; will retry on the next one");
        }
      } while (again && !stopping);
    })().finally(() => {
      reconciling = undefined;
    });
    return reconciling;
  }

  async function handleBatch(batch: EachBatchPayload["batch"]): Promise<void> {
    const partitionKey = `${batch.topic}/${batch.partition}`;
    const taskIds: string[] = [];
    for (const m of batch.messages) {
      let event: ReturnType<typeof parseEvent>;
      try {
        event = parseEvent(m.value);
      } catch (err) {
        if (!(err instanceof MalformedEventError)) throw err;
        // The processors validated it before applying; a bad record here is logged, not retried forever.
        log.warn({ partition: partitionKey, offset: m.offset, err: err.message }, "skipping unreadable task-updates record");
        consumed.inc({ outcome: "malformed" });
        continue;
      }
      if (event.event_type === "settings.updated") {
        try {
          const moved = await followTimezoneChange(db, sender, topics.out, event as EventOf<"settings.updated">);
          if (moved > 0) log.info({ user: event.user_id, tasks: moved }, "moving recurring tasks to the new timezone");
        } catch (err) {
          // Outages are retried with the batch; a change that cannot be planned is logged, never retried forever.
          if (isInfrastructureError(err)) throw err;
          log.warn({ user: event.user_id, event: event.event_id, err: (err as Error).message }, "timezone change not followed");
          consumed.inc({ outcome: "unplannable" });
        }
      }
      const ids = affectedTasks(event);
      taskIds.push(...ids);
      consumed.inc({ outcome: ids.length > 0 ? "reconciled" : "ignored" });
    }
    await schedule.reconcileTasks(taskIds);
  }

  const service: Service = {
    name: "scheduler",
    checks: {},
    async start() {
      db = await openDb(config);
      redis = await openRedis(config, "scheduler");
      Object.assign(service.checks, {
        postgres: checks.postgres(db),
        redis: checks.redis(redis),
        kafka: () => (admin ? admin.listTopics() : notConnected()),
      });
      schedule = new Schedule(db, redis, keys.bullPrefix, `${config.redisPrefix}:sched`);
      countJobs = () => schedule.queue.getJobCounts("delayed", "waiting", "active", "failed");

      // Recreate what is missing before taking new events, so the first batches find a complete set.
      await reconcileAll("start-up");

      worker = new Worker<SchedulerJob, Outcome>(QUEUE_NAME, jobProcessor({ db, producer: sender, topic: topics.out }), {
        connection: bullConnection(redis),
        prefix: keys.bullPrefix,
        concurrency: opts.concurrency,
        // Jobs take milliseconds: a job whose worker died (SIGKILL) is taken up again within ~30 s.
        lockDuration: 15_000,
        stalledInterval: 15_000,
        maxStalledCount: 5,
      });
      worker.on("failed", (job, err) =>
        log.warn({ job: job?.id, attempt: job?.attemptsMade, err: err.message }, "scheduler job failed; BullMQ retries it with backoff"),
      );
      worker.on("error", (err) => log.error({ err: err.message }, "scheduler worker error"));
      await worker.waitUntilReady();

      // The broker may be down at start: the scheduler starts (not ready) and consumes once it answers.
      const kafkaUp = keepConnecting(log, async () => {
        const kafka = createKafka(config, "taskstream-scheduler");
        const a = kafka.admin();
        const p = createProducer(kafka);
        const c = createConsumer(kafka, config.schedulerGroup);
        try {
          await a.connect();
          await a.listTopics();
          await p.connect();
          producer = p;
          await c.connect();
          await c.subscribe({ topics: [topics.in] });
          consumer = c;
          await c.run({
            partitionsConsumedConcurrently: 2,
            eachBatchAutoResolve: false,
            eachBatch: committingBatchHandler(() => c, log, handleBatch),
          });
          admin = a;
        } catch (err) {
          producer = undefined;
          consumer = undefined;
          await Promise.allSettled([c.disconnect(), p.disconnect(), a.disconnect()]);
          throw err;
        }
      });
      stopKafka = kafkaUp.stop;
      await withTimeout(kafkaUp.firstAttempt, config.dependencyTimeoutMs, "broker").catch(() => {});

      // Connected by now: a later "ready" is a reconnect, after which (Redis may have lost its data)
      // every job is checked again.
      redis.on("ready", () => void reconcileAll("redis reconnected"));
      timer = setInterval(() => void reconcileAll("periodic"), opts.reconcileIntervalMs);
      timer.unref();

      const server = await healthServer(health, config.host, config.schedulerPort);
      closeServer = () => server.close();
    },
    async stop() {
      // Stop intake, let running jobs finish (their events are produced), flush, close.
      stopping = true;
      clearInterval(timer);
      stopKafka();
      await consumer?.disconnect();
      await worker?.close();
      await reconciling;
      await producer?.disconnect();
      await schedule?.close();
      await admin?.disconnect();
      redis?.disconnect();
      await db?.end();
      closeServer();
    },
  };
  return service;
}
