/**
 * What a due job does. Each job re-reads the projection first, so a job that should have been
 * removed (task completed or deleted, reminder deleted or moved, occurrence skipped) ends quietly.
 * Then it produces one event to the reminders topic, keyed by user_id, with an event_id derived
 * from the job id: a retried job produces the same event, which the processors apply once.
 *
 * A reminder whose task (or the user's settings) has a write accepted and not applied yet waits
 * for it: the trigger goes to another topic than the write, so the processors could apply it
 * first, and a completion or deletion sent before the reminder's time would not cancel it (with
 * the processors behind, every such reminder fired). Waiting costs no delivery time: a trigger
 * reaches the user only once the processors apply it.
 */
import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import { Histogram } from "prom-client";
import { newEvent, serializeEvent, type TaskEvent } from "../common/contracts/index.ts";
import type { Producer } from "../common/kafka.ts";
import { logger } from "../common/log.ts";
import { metric, registry } from "../common/metrics.ts";
import type { Db } from "../common/postgres.ts";
import { PENDING_SECONDS } from "../common/redis.ts";
import { seriesStart, spawnedEvent } from "../common/series.ts";
import { withLinkedSpan } from "../common/telemetry.ts";
import { type ReminderAtFire, remindersAtFire, seriesAtFire } from "../storage/queries/scheduler-reads.ts";
import { Batcher } from "./batcher.ts";
import { deterministicUuid, dueTimeOf, type OccurrenceJob, type Outcome, PERMANENT, type ReminderJob, type SchedulerJob } from "./jobs.ts";
import { isLate, spawnAt } from "./plan.ts";

const log = logger("scheduler");
const fired = metric.counter(
  "scheduler_jobs_fired_total",
  "Due jobs run, by outcome (fired; stale and dropped; waited for a write of the user not applied yet)",
  ["kind", "outcome"],
);
// Lateness spans milliseconds (normal) to hours (after downtime), beyond metric.latency's buckets.
const lateness = new Histogram({
  name: "taskstream_scheduler_firing_lateness_seconds",
  help: "Fire time minus due time: a reminder's time; an occurrence job's spawn time (its lead before the occurrence)",
  labelNames: ["kind"],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
  registers: [registry],
});
const missedOccurrences = metric.counter(
  "scheduler_occurrences_missed_total",
  "Occurrences that fell due during downtime and were not spawned (only the latest one is)",
);

export interface WorkerDeps {
  db: Db;
  producer: Pick<Producer, "send">;
  /** The reminders topic (with TOPIC_PREFIX). */
  topic: string;
  /** Whether the user has writes on these aggregates accepted and not applied yet (common/redis.ts writesPending). */
  writesPending?: (userId: string, aggregateIds: string[]) => Promise<boolean>;
  now?: () => Date;
}

/** How long a reminder waits for a pending write before it looks again: soon at first, at most 5 s once long overdue. */
export const pendingWriteWaitMs = (dueAt: number, now: number): number => Math.min(5000, Math.max(250, (now - dueAt) / 4));
/**
 * A reminder waits for pending writes at most this long past its time: a little longer than ingest
 * keeps them, since one whose write never reaches the log (its ingest crashed before producing it)
 * must not hold the reminder for good.
 */
export const MAX_PENDING_WAIT_MS = (PENDING_SECONDS + 30) * 1000;

export function jobProcessor(deps: WorkerDeps): (job: Job<SchedulerJob>, token?: string) => Promise<Outcome> {
  const now = deps.now ?? (() => new Date());
  const reminders = new Batcher<string, ReminderAtFire>((ids) => remindersAtFire(deps.db, ids));
  const send = (event: TaskEvent) =>
    deps.producer.send({
      topic: deps.topic,
      messages: [{ key: event.user_id, value: serializeEvent(event), headers: { event_type: event.event_type } }],
    });

  async function reminder(job: Job<SchedulerJob>, data: ReminderJob, token: string | undefined): Promise<Outcome> {
    const current = await reminders.load(data.reminder_id);
    const dueAt = dueTimeOf(data);
    // The task, its series (deleting one clears its instances' reminders) and the user's settings.
    const aggregates = [data.task_id, ...(current?.parent_task_id ? [current.parent_task_id] : []), data.user_id];
    const at = now().getTime();
    if (token !== undefined && at - dueAt < MAX_PENDING_WAIT_MS && (await deps.writesPending?.(data.user_id, aggregates))) {
      fired.inc({ kind: "reminder", outcome: "waited" });
      await job.moveToDelayed(at + pendingWriteWaitMs(dueAt, at), token);
      throw new DelayedError();
    }
    if (!current || current.notified || current.status !== "pending" || new Date(current.remind_at).getTime() !== dueAt) {
      return "stale";
    }
    const firedAt = now();
    const late = isLate(dueAt, firedAt.getTime());
    await send(
      newEvent(
        "reminder.triggered",
        {
          user_id: data.user_id,
          aggregate_id: data.task_id,
          correlation_id: deterministicUuid(`correlation:${job.id}`),
          event_id: deterministicUuid(`event:${job.id}`),
          timestamp: firedAt.toISOString(),
        },
        { reminder_id: data.reminder_id, remind_at: data.remind_at, fired_at: firedAt.toISOString(), late, title: current.title },
      ),
    );
    lateness.observe({ kind: "reminder" }, (firedAt.getTime() - dueAt) / 1000);
    return "fired";
  }

  async function occurrence(job: Job<SchedulerJob>, data: OccurrenceJob): Promise<Outcome> {
    const series = await seriesAtFire(deps.db, data.task_id);
    if (
      !series?.recurrence_rule ||
      series.recurrence_mode === "after_completion" ||
      !series.next_occurrence ||
      Date.parse(series.next_occurrence) !== Date.parse(data.occurrence)
    ) {
      return "stale";
    }
    const firedAt = now();
    let spawn: ReturnType<typeof spawnAt>;
    try {
      spawn = spawnAt(series.recurrence_rule, seriesStart(series), series.timezone, new Date(data.occurrence), firedAt);
    } catch (err) {
      // A rule or timezone the projection holds but cannot be evaluated: retrying will not help.
      throw new UnrecoverableError(`${PERMANENT} cannot evaluate the recurrence of task ${series.id}: ${(err as Error).message}`);
    }
    const at = spawn.occurrence.getTime();
    const late = isLate(at, firedAt.getTime());
    if (spawn.missed > 0) {
      missedOccurrences.inc(spawn.missed);
      log.warn(
        { task: series.id, missed: spawn.missed, spawned: spawn.occurrence.toISOString() },
        "occurrences fell due while the scheduler was behind; spawning only the latest",
      );
    }
    await send(
      spawnedEvent(series, spawn.occurrence, spawn.next, late, {
        timestamp: firedAt.toISOString(),
        correlation_id: deterministicUuid(`correlation:${job.id}`),
      }),
    );
    lateness.observe({ kind: "occurrence" }, (firedAt.getTime() - dueTimeOf(data)) / 1000);
    return "fired";
  }

  return async (job, token) => {
    // Tracing on: a new trace per run, linked to the event that scheduled the job (its `trace`).
    const outcome = await withLinkedSpan(`scheduler ${job.data.kind}`, job.data.trace, { "taskstream.job_id": String(job.id) }, () =>
      job.data.kind === "reminder" ? reminder(job, job.data, token) : occurrence(job, job.data),
    );
    fired.inc({ kind: job.data.kind, outcome });
    return outcome;
  };
}
