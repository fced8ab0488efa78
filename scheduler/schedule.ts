/**
 * Keeps BullMQ's delayed jobs in step with the schedules the processors record (applyChanges) and,
 * as a safety net, with the projection (reconcileAll). Each task has a Redis set indexing its
 * job ids, so the jobs of a deleted task, a deleted or moved reminder or a moved occurrence can be
 * found and removed although PostgreSQL no longer knows them. The index is written before the job
 * (it may name a job that does not exist, never the reverse); whatever slips through anyway is
 * caught when the job runs, which re-checks the projection (worker.ts).
 */
import { type ConnectionOptions, type Job, Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { ScheduleChange } from "../common/contracts/schedule.ts";
import { logger } from "../common/log.ts";
import { metric } from "../common/metrics.ts";
import type { Db } from "../common/postgres.ts";
import type { RedisKeys } from "../common/redis.ts";
import { spawnTime } from "../common/series.ts";
import { traceHeaders, tracingEnabled } from "../common/telemetry.ts";
import { pendingRemindersPage, type SeriesHead, seriesPage } from "../storage/queries/scheduler-reads.ts";
import {
  dueTimeOf,
  JOB_OPTIONS,
  type Outcome,
  PERMANENT,
  type PlannedJob,
  plannedOccurrence,
  plannedReminder,
  QUEUE_NAME,
  type SchedulerJob,
} from "./jobs.ts";
import { desiredJobs, type ScheduledTask } from "./plan.ts";

const log = logger("scheduler");
const scheduled = metric.counter("scheduler_jobs_scheduled_total", "Delayed jobs added (new job ids only)", ["kind"]);
const removed = metric.counter("scheduler_jobs_removed_total", "Stale jobs removed (cancelled or moved)", ["kind"]);
const reconcileSeconds = metric.latency("scheduler_reconcile_seconds", "Time to reconcile the jobs of one batch of tasks", ["scope"]);
const abandoned = metric.gauge(
  "scheduler_jobs_given_up",
  "Failed jobs more than a day past their time, no longer re-queued by the reconcile (as of the last one)",
);
const RETRY_FAILED_FOR_MS = 86_400_000;
const FAILED_PAGE = 1000;
const MAX_FAILED_PAGES = 20;
const unplannable = metric.counter("scheduler_unplannable_tasks_total", "Tasks whose schedule the planner refused (no jobs made for them)");

/**
 * BullMQ pins its own ioredis minor version; our client is API-compatible (BullMQ only needs
 * connect/disconnect/duplicate and maxRetriesPerRequest null), the types are not.
 */
/** Tracing on: the job carries the trace context of the batch (the events) that scheduled it. */
const withTrace = (data: SchedulerJob): SchedulerJob => (tracingEnabled() ? { ...data, trace: traceHeaders() } : data);

export const bullConnection = (redis: Redis): ConnectionOptions => redis as unknown as ConnectionOptions;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const kindOf = (jobId: string): string => jobId.slice(0, jobId.indexOf("."));

export class Schedule {
  readonly queue: Queue<SchedulerJob, Outcome>;

  constructor(
    private readonly db: Db,
    private readonly redis: Redis,
    bullPrefix: string,
    /** The key of one task's job index (`redisKeys(…).taskJobs`). */
    private readonly taskJobs: RedisKeys["taskJobs"],
    /** RECURRENCE_LEAD in ms: the reconcile plans occurrence jobs this far ahead (as the processors' schedule changes do). */
    private readonly recurrenceLeadMs = 86_400_000,
  ) {
    this.queue = new Queue<SchedulerJob, Outcome>(QUEUE_NAME, {
      connection: bullConnection(redis),
      prefix: bullPrefix,
      defaultJobOptions: JOB_OPTIONS,
    });
  }

  /**
   * Makes the jobs of these tasks match their recorded schedules (the processors' schedule
   * changes): adds what is missing, removes what is stale. Reads nothing from PostgreSQL.
   * Idempotent: applying the same changes again (a crash before they were settled) changes nothing.
   * A task given twice counts with its last entry.
   */
  async applyChanges(
    changes: readonly Pick<ScheduleChange, "task_id" | "user_id" | "schedule">[],
  ): Promise<{ added: number; removed: number }> {
    // Task ids are UUIDs; anything else cannot name a task (nor be indexed sensibly).
    const latest = new Map(changes.filter((c) => UUID.test(c.task_id)).map((c) => [c.task_id, c]));
    if (latest.size === 0) return { added: 0, removed: 0 };
    const end = reconcileSeconds.startTimer({ scope: "tasks" });
    const ids = [...latest.keys()];
    const read = this.redis.pipeline();
    for (const id of ids) read.smembers(this.taskJobs(id));
    const indexed = ((await read.exec()) ?? []).map(([err, members]) => {
      if (err) throw err;
      return members as string[];
    });
    const wanted: PlannedJob[] = [];
    const stale: { taskId: string; jobId: string }[] = [];
    ids.forEach((id, i) => {
      const change = latest.get(id);
      const desired = change?.schedule ? plannedOrNone({ id, user_id: change.user_id, ...change.schedule }) : [];
      const existing = new Set(indexed[i]);
      for (const job of desired) if (!existing.has(job.id)) wanted.push(job);
      const keep = new Set(desired.map((j) => j.id));
      for (const jobId of existing) if (!keep.has(jobId)) stale.push({ taskId: id, jobId });
    });
    await this.add(wanted);
    await this.remove(stale);
    end();
    return { added: wanted.length, removed: stale.length };
  }

  /** Indexes and adds jobs; ids that already exist in BullMQ (in any state) are left as they are. */
  async add(jobs: readonly PlannedJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const index = this.redis.pipeline();
    for (const j of jobs) index.sadd(this.taskJobs(j.data.task_id), j.id);
    await index.exec();
    const now = Date.now();
    for (let i = 0; i < jobs.length; i += 1000) {
      const chunk = jobs.slice(i, i + 1000);
      await this.queue.addBulk(
        chunk.map((j) => ({
          name: j.data.kind,
          data: withTrace(j.data),
          opts: { ...JOB_OPTIONS, jobId: j.id, delay: Math.max(0, j.dueAt - now) },
        })),
      );
      for (const j of chunk) scheduled.inc({ kind: j.data.kind });
    }
  }

  /** Removes jobs and their index entries; a job running right now re-checks the projection itself. */
  async remove(stale: readonly { taskId: string; jobId: string }[]): Promise<void> {
    if (stale.length === 0) return;
    await Promise.all(stale.map((s) => this.queue.remove(s.jobId)));
    const index = this.redis.pipeline();
    for (const s of stale) index.srem(this.taskJobs(s.taskId), s.jobId);
    await index.exec();
    for (const s of stale) removed.inc({ kind: kindOf(s.jobId) });
  }

  /**
   * Start-up (and periodic) reconcile: recreates every job PostgreSQL says should exist and Redis
   * lacks, in pages (one EXISTS pipeline per page, so 100k rows cost 100 round trips when nothing
   * is missing), and re-queues jobs that exhausted their attempts on a transient failure. Returns
   * how many jobs were missing. Stale jobs are left to
   * the events that made them stale and to the check each job makes when it runs.
   */
  async reconcileAll(pageSize = 1000): Promise<{ reminders: number; occurrences: number; retried: number }> {
    const end = reconcileSeconds.startTimer({ scope: "all" });
    let reminders = 0;
    let occurrences = 0;
    for (let after: string | null = null; ; ) {
      const page = await pendingRemindersPage(this.db, after, pageSize);
      if (page.length === 0) break;
      reminders += await this.addMissing(page.map((r) => plannedReminder(r.user_id, r.task_id, r.id, r.remind_at)));
      after = page[page.length - 1]?.id ?? null;
    }
    for (let after: string | null = null; ; ) {
      const page = await seriesPage(this.db, after, pageSize);
      if (page.length === 0) break;
      occurrences += await this.addMissing(page.map((t) => plannedOccurrence(t.user_id, t.id, t.next_occurrence, this.spawnAtOf(t))));
      after = page[page.length - 1]?.id ?? null;
    }
    const retried = await this.retryFailed();
    end();
    return { reminders, occurrences, retried };
  }

  private spawnAtOf(t: SeriesHead): Date | undefined {
    try {
      return spawnTime(t, new Date(t.next_occurrence), this.recurrenceLeadMs);
    } catch {
      return undefined;
    }
  }

  /** Adds the jobs whose id BullMQ does not hold in any state; returns how many that was. */
  private async addMissing(jobs: readonly PlannedJob[]): Promise<number> {
    const check = this.redis.pipeline();
    for (const j of jobs) check.exists(this.queue.toKey(j.id));
    const exists = ((await check.exec()) ?? []).map(([err, n]) => {
      if (err) throw err;
      return n === 1;
    });
    const missing = jobs.filter((_, i) => !exists[i]);
    await this.add(missing);
    return missing.length;
  }

  /**
   * Re-queues jobs that exhausted their attempts (an outage outlasted them), until a day past their
   * time: a job failing for another reason must not be retried forever. Those stay failed, counted,
   * until BullMQ removes them (`removeOnFail`).
   */
  private async retryFailed(now = Date.now()): Promise<number> {
    let retried = 0;
    let kept = 0;
    let givenUp = 0;
    // Pages of the failed set; a re-queued job leaves it, a kept one moves the next page on.
    for (let page = 0; page < MAX_FAILED_PAGES; page++) {
      const failed: Job<SchedulerJob, Outcome>[] = await this.queue.getFailed(kept, kept + FAILED_PAGE - 1);
      if (failed.length === 0) break;
      for (const job of failed) {
        const permanent = job.failedReason?.startsWith(PERMANENT) === true;
        // A due time that does not parse (NaN) counts as past the window too.
        if (permanent || !(now - dueTimeOf(job.data) <= RETRY_FAILED_FOR_MS)) {
          kept += 1;
          if (!permanent) givenUp += 1;
          continue;
        }
        await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
        retried += 1;
      }
    }
    abandoned.set(givenUp);
    if (retried > 0) log.info({ retried }, "re-queued jobs that had exhausted their attempts");
    if (givenUp > 0) log.warn({ givenUp }, "failed jobs more than a day past their time are no longer retried");
    return retried;
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

/**
 * The jobs a task calls for; a task whose schedule cannot be planned (a stored rule the planner
 * refuses) gets none and is logged, rather than failing every batch that touches it forever.
 */
function plannedOrNone(schedule: ScheduledTask): PlannedJob[] {
  try {
    return desiredJobs(schedule);
  } catch (err) {
    unplannable.inc();
    log.warn({ task: schedule.id, err: (err as Error).message }, "task schedule cannot be planned; no jobs for it");
    return [];
  }
}
