/**
 * The scheduler's decisions as pure functions (no I/O): which jobs a task needs, which
 * occurrence a firing job spawns after downtime, and how a timezone change moves a series.
 */

import { DateTime } from "luxon";
import type { TaskChanges } from "../common/contracts/index.ts";
import { nextOccurrence, occurrencesAfter } from "../common/recurrence.ts";
import { type PlannedJob, plannedOccurrence, plannedReminder } from "./jobs.ts";

/** Fired more than this after its time counts as `late` (and is reported as such to clients). */
export const LATE_AFTER_MS = 2000;

export const isLate = (dueAt: number, firedAt: number): boolean => firedAt - dueAt > LATE_AFTER_MS;

/** What the projection says about one task, as far as scheduling goes. */
export interface TaskSchedule {
  id: string;
  user_id: string;
  status: "pending" | "completed";
  recurrence_rule: string | null;
  next_occurrence: string | null;
  /** Reminders not notified yet. */
  reminders: { id: string; remind_at: string }[];
}

/**
 * The jobs a task needs: one per pending reminder while the task is pending (completion cancels
 * them), and one for the next occurrence while it has a rule, whether or not it is completed
 * (a series runs independently of its instances' and its own completion; only deletion, a
 * removed rule or COUNT/UNTIL end it).
 */
export function desiredJobs(task: TaskSchedule): PlannedJob[] {
  const jobs: PlannedJob[] = [];
  if (task.status === "pending") {
    for (const r of task.reminders) jobs.push(plannedReminder(task.user_id, task.id, r.id, r.remind_at));
  }
  if (task.recurrence_rule && task.next_occurrence) jobs.push(plannedOccurrence(task.user_id, task.id, task.next_occurrence));
  return jobs;
}

/** The start of a series: its due date, else its creation (as ingest computes next_occurrence). */
export const seriesStart = (task: { due_date: string | null; created_at: string }): Date => new Date(task.due_date ?? task.created_at);

export interface Spawn {
  /** The occurrence to spawn an instance for. */
  occurrence: Date;
  /** The first occurrence after `now`; null when COUNT/UNTIL ended the series. */
  next: Date | null;
  /** Occurrences that fell due before `occurrence` and are not spawned (downtime cap). */
  missed: number;
}

/**
 * Which occurrence to spawn when the job for `due` runs at `now`.
 *
 * On time, that is `due` itself and the next one after it. After downtime several may have
 * fallen due: only the most recent one is spawned (late), the older ones are counted as missed,
 * and the series moves on to the first occurrence after `now`. A recurring task stands for
 * "the current one": after a week offline, seven stale copies of a daily task would bury the one
 * that matters, and the user can still see in the history that occurrences were missed.
 */
export function spawnAt(rule: string, start: Date, timezone: string, due: Date, now: Date): Spawn {
  const next = nextOccurrence(rule, start, timezone, now);
  // The latest occurrence in (due, now], looked for in growing windows back from now, so the
  // work is bounded by the window, not by how long the scheduler was down.
  for (const days of LOOKBACK_DAYS) {
    const from = new Date(Math.max(due.getTime(), now.getTime() - days * DAY_MS));
    const later = occurrencesAfter(rule, start, timezone, from, LOOKBACK_LIMIT).filter((d) => d.getTime() <= now.getTime());
    const reachedDue = from.getTime() === due.getTime();
    if (later.length === 0) {
      if (reachedDue) return { occurrence: due, next, missed: 0 };
      continue;
    }
    const occurrence = later[later.length - 1] as Date;
    if (reachedDue || later.length === LOOKBACK_LIMIT) return { occurrence, next, missed: later.length };
    // Older than the window: estimated from the window's spacing (a metric, not a schedule).
    const gap = later.length > 1 ? (occurrence.getTime() - (later[0] as Date).getTime()) / (later.length - 1) : days * DAY_MS;
    return { occurrence, next, missed: later.length + Math.round((from.getTime() - due.getTime()) / gap) };
  }
  return { occurrence: due, next, missed: 0 };
}

const DAY_MS = 86_400_000;
const LOOKBACK_DAYS = [2, 40, 400, Number.MAX_SAFE_INTEGER / DAY_MS];
const LOOKBACK_LIMIT = 1024;

export interface SeriesTask {
  timezone: string;
  due_date: string | null;
  created_at: string;
  recurrence_rule: string | null;
  next_occurrence: string | null;
}

export type SeriesChanges = Pick<TaskChanges, "timezone" | "due_date" | "next_occurrence">;

/**
 * A recurring task that followed the user's timezone moves with it, keeping its wall-clock time:
 * a daily 09:00 in New York becomes a daily 09:00 in London. The due date (the series' anchor) is
 * re-read in the new zone, and the next occurrence is the first one in the new zone at or after
 * the old next occurrence's local time (a skipped occurrence stays skipped) and after `now`.
 * A task without a due date is anchored at its creation instant, read in the new zone.
 */
export function moveSeries(task: SeriesTask, timezone: string, now: Date): SeriesChanges {
  if (task.timezone === timezone) return {};
  const keepLocal = (iso: string): Date =>
    DateTime.fromISO(iso, { zone: task.timezone }).setZone(timezone, { keepLocalTime: true }).toJSDate();
  const changes: SeriesChanges = { timezone: { old: task.timezone, new: timezone } };
  const due = task.due_date ? keepLocal(task.due_date).toISOString() : null;
  if (task.due_date && due !== task.due_date) changes.due_date = { old: task.due_date, new: due };
  if (task.recurrence_rule && task.next_occurrence) {
    const from = Math.max(now.getTime(), keepLocal(task.next_occurrence).getTime() - 1);
    const start = seriesStart({ due_date: due, created_at: task.created_at });
    const next = nextOccurrence(task.recurrence_rule, start, timezone, new Date(from))?.toISOString() ?? null;
    if (next !== task.next_occurrence) changes.next_occurrence = { old: task.next_occurrence, new: next };
  }
  return changes;
}
