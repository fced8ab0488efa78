/**
 * The scheduler process: BullMQ delayed jobs for reminders and recurring tasks.
 *
 * Intake is the outbox of schedule changes the processors record in PostgreSQL in the transaction
 * that applied the events (intake.ts): one row per task with its latest desired schedule, taken
 * on a notification or a poll, applied to BullMQ (schedule.ts) and then settled. An event that
 * changes no schedule costs the scheduler nothing. A BullMQ worker runs due jobs (worker.ts),
 * which produce reminder.triggered and recurring.spawned to the reminders topic, the scheduler's
 * only use of the broker. At start-up, on a Redis reconnect and periodically, every job the
 * projection calls for is recreated if missing, so Redis may lose its data and nothing is lost but time.
 */
import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import { Gauge } from "prom-client";
import type { Config } from "../common/config.ts";
import { topicName } from "../common/contracts/index.ts";
import { checks, openDb, openRedis } from "../common/deps.ts";
import { type Admin, createKafka, createProducer, keepConnecting, notConnected, type Producer } from "../common/kafka.ts";
import { logger } from "../common/log.ts";
import { registry } from "../common/metrics.ts";
import type { Db } from "../common/postgres.ts";
import { redisKeys, writesPending } from "../common/redis.ts";
import { durationMs } from "../common/series.ts";
import { type Health, healthServer, type Service, withTimeout } from "../common/service.ts";
import { ScheduleIntake } from "./intake.ts";
import { type Outcome, QUEUE_NAME, type SchedulerJob } from "./jobs.ts";
import { bullConnection, Schedule } from "./schedule.ts";
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

export interface SchedulerOptions {
  /** Jobs one process runs at once. @defaultValue 100 */
  concurrency: number;
  /** Full reconcile against PostgreSQL besides start-up and Redis reconnects. @defaultValue 300000 (5 min) */
  reconcileIntervalMs: number;
  /** Schedule changes are also polled for this often (besides notifications). @defaultValue 1000 */
  intakePollMs: number;
}
const DEFAULTS: SchedulerOptions = { concurrency: 100, reconcileIntervalMs: 300_000, intakePollMs: 1000 };

export async function schedulerService(config: Config, health: Health, options: Partial<SchedulerOptions> = {}): Promise<Service> {
  const opts = { ...DEFAULTS, ...options };
  const keys = redisKeys(config.redisPrefix);
  const remindersTopic = topicName(config.topicPrefix, "reminders");
  let db: Db, redis: Redis, schedule: Schedule, worker: Worker<SchedulerJob, Outcome>;
  let intake: ScheduleIntake | undefined;
  let admin: Admin | undefined, producer: Producer | undefined;
  let stopKafka = () => {};
  /** Sends through the broker (the worker runs once it is connected; a send while it is not fails, and BullMQ retries the job). */
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
        // It starts once the broker is connected; one that stopped would leave due jobs unrun.
        worker: () => (worker?.isRunning() ? Promise.resolve() : Promise.reject(new Error("the job worker is not running"))),
      });
      schedule = new Schedule(db, redis, keys.bullPrefix, keys.taskJobs, durationMs(config.recurrenceLead));
      countJobs = () => schedule.queue.getJobCounts("delayed", "waiting", "active", "failed");

      // Recreate what is missing before taking schedule changes, so the first ones find a complete set.
      await reconcileAll("start-up");

      const writesPendingOf = (userId: string, ids: string[]) => writesPending(redis, keys, userId, ids);
      const processor = jobProcessor({ db, producer: sender, topic: remindersTopic, writesPending: writesPendingOf });
      worker = new Worker<SchedulerJob, Outcome>(QUEUE_NAME, processor, {
        connection: bullConnection(redis),
        prefix: keys.bullPrefix,
        // Runs once the broker is connected: due jobs wait for it rather than fail a try each.
        autorun: false,
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

      // Schedule changes need only PostgreSQL and Redis: jobs are kept in step even while the broker is down.
      intake = new ScheduleIntake(db, schedule, {
        databaseUrl: config.databaseUrl,
        scope: config.topicPrefix,
        connectTimeoutMs: config.dependencyTimeoutMs,
        pollMs: opts.intakePollMs,
      });
      intake.start();

      // The broker may be down at start: the scheduler starts (not ready) and fires due jobs once it answers.
      const kafkaUp = keepConnecting(log, async () => {
        const kafka = createKafka(config, "taskstream-scheduler");
        const a = kafka.admin();
        const p = createProducer(kafka);
        try {
          await a.connect();
          await a.listTopics();
          await p.connect();
          producer = p;
          admin = a;
          if (!worker.isRunning() && !stopping)
            void worker.run().catch((err: Error) => log.error({ err: err.message }, "scheduler worker stopped"));
        } catch (err) {
          producer = undefined;
          await Promise.allSettled([p.disconnect(), a.disconnect()]);
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
      await intake?.stop();
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
