/**
 * The scheduler's BullMQ jobs: one discriminated union of payloads, deterministic job ids and
 * the options every job is added with.
 *
 * Job ids carry the instant they fire at, so a redelivered event or a second reconcile adds
 * nothing (BullMQ ignores an add whose id exists), while a moved reminder or occurrence gets a
 * new job and the old one is removed as stale.
 */
import type { JobsOptions } from "bullmq";
import { nameBasedUuid } from "../common/ids.ts";

/** The one queue the scheduler uses; its keys live under redisKeys(prefix).bullPrefix. */
export const QUEUE_NAME = "scheduler";

export interface ReminderJob {
  kind: "reminder";
  user_id: string;
  task_id: string;
  reminder_id: string;
  /** The instant the reminder is due (ISO-8601 UTC). */
  remind_at: string;
}

export interface OccurrenceJob {
  kind: "occurrence";
  user_id: string;
  /** The recurring (parent) task. */
  task_id: string;
  /** The parent's next_occurrence this job was scheduled for (ISO-8601 UTC). */
  occurrence: string;
  /** When the job is due: its lead before the occurrence (ISO-8601 UTC; absent in jobs made before it: the occurrence). */
  fire_at?: string;
}

/**
 * Tracing on: the W3C trace context (`traceparent`) of the event whose handling scheduled the job,
 * so the job's span links to it (common/telemetry.ts). Absent otherwise.
 */
export type SchedulerJob = (ReminderJob | OccurrenceJob) & { trace?: Record<string, string> };

/** A job's result: it produced its event, or the projection said it was no longer wanted. */
export type Outcome = "fired" | "stale";

/** A job the projection says should exist. */
export interface PlannedJob {
  id: string;
  data: SchedulerJob;
  /** When it fires, epoch ms. */
  dueAt: number;
}

/**
 * BullMQ refuses custom ids with ':' (legacy repeatable-job format) and integer-looking ids,
 * hence dots.
 */
export const reminderJobId = (reminderId: string, remindAt: number): string => `reminder.${reminderId}.${remindAt}`;
/** An occurrence job fired ahead of its occurrence (spawn-ahead) names its fire time too, so a changed lead moves it. */
export const occurrenceJobId = (taskId: string, occurrence: number, fireAt = occurrence): string =>
  fireAt === occurrence ? `occurrence.${taskId}.${occurrence}` : `occurrence.${taskId}.${occurrence}.${fireAt}`;

export function plannedReminder(userId: string, taskId: string, reminderId: string, remindAt: string | Date): PlannedJob {
  const dueAt = new Date(remindAt).getTime();
  return {
    id: reminderJobId(reminderId, dueAt),
    dueAt,
    data: { kind: "reminder", user_id: userId, task_id: taskId, reminder_id: reminderId, remind_at: new Date(dueAt).toISOString() },
  };
}

/** The job that spawns the instance due at `occurrence`; it fires at `spawnAt` (its lead time before; default: at the occurrence). */
export function plannedOccurrence(userId: string, taskId: string, occurrence: string | Date, spawnAt?: string | Date): PlannedJob {
  const at = new Date(occurrence).getTime();
  const dueAt = spawnAt === undefined ? at : Math.min(at, new Date(spawnAt).getTime());
  return {
    id: occurrenceJobId(taskId, at, dueAt),
    dueAt,
    data: {
      kind: "occurrence",
      user_id: userId,
      task_id: taskId,
      occurrence: new Date(at).toISOString(),
      ...(dueAt !== at ? { fire_at: new Date(dueAt).toISOString() } : {}),
    },
  };
}

/**
 * A name-based (version 5 layout, SHA-1) UUID: the same name always gives the same id, so an
 * event produced twice by a retried job is deduplicated by the processors on event_id.
 */
export const deterministicUuid = (name: string): string => nameBasedUuid("taskstream-scheduler", name);

/**
 * Retries use BullMQ's own backoff: 10 attempts, exponential from 500 ms (about 4 minutes in
 * all), enough to ride out a broker fail-over. A job that still fails stays in the failed set
 * and is retried by the next reconcile (start-up or periodic); UnrecoverableError is not.
 * Completed jobs are kept briefly so a reconcile racing the processors does not add them again.
 */
export const JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: "exponential", delay: 500 },
  removeOnComplete: { age: 3600, count: 5000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** When a job is due, from its data (BullMQ's own `timestamp` is when it was added, its `delay` 0 once promoted). */
export const dueTimeOf = (data: SchedulerJob): number =>
  Date.parse(data.kind === "reminder" ? data.remind_at : (data.fire_at ?? data.occurrence));

/** Prefix of the failure reason of a job that must not be retried (see UnrecoverableError). */
export const PERMANENT = "permanent:";
