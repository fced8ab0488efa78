/**
 * The scheduler's decisions as pure functions (no I/O): which jobs a task needs and which
 * occurrence a firing job spawns after downtime. How a timezone change moves a series is in
 * common/series.ts (the processors apply it).
 */

import type { TaskSchedule } from "../common/contracts/schedule.ts";
import { nextOccurrence, occurrencesAfter } from "../common/recurrence.ts";
import { type PlannedJob, plannedOccurrence, plannedReminder } from "./jobs.ts";

/** Fired more than this after its time counts as `late` (and is reported as such to clients). */
export const LATE_AFTER_MS = 2000;

export const isLate = (dueAt: number, firedAt: number): boolean => firedAt - dueAt > LATE_AFTER_MS;

/** One task's scheduling state (as the processors recorded it), with the task it belongs to. */
export interface ScheduledTask extends TaskSchedule {
  id: string;
  user_id: string;
}

/**
 * The jobs a task needs: one per pending reminder while the task is pending (completion cancels
 * them), and one for the next occurrence while it has a rule, whether or not it is completed
 * (a series runs independently of its instances' and its own completion; only deletion, a
 * removed rule or COUNT/UNTIL end it).
 */
export function desiredJobs(task: ScheduledTask): PlannedJob[] {
  const jobs: PlannedJob[] = [];
  if (task.status === "pending") {
    for (const r of task.reminders) jobs.push(plannedReminder(task.user_id, task.id, r.id, r.remind_at));
  }
  if (task.recurrence_rule && task.next_occurrence)
    jobs.push(plannedOccurrence(task.user_id, task.id, task.next_occurrence, task.spawn_at));
  return jobs;
}

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
 * Ahead of `due` (the job fires a lead time before it, so the instance's reminders can fire on
 * time), that is `due` itself, and the series moves on to the occurrence after it.
 *
 * On time, that is `due` itself and the next one after it. After downtime several may have
 * fallen due: only the most recent one is spawned (late), the older ones are counted as missed,
 * and the series moves on to the first occurrence after `now`. A recurring task stands for
 * "the current one": after a week offline, seven stale copies of a daily task would bury the one
 * that matters, and the user can still see in the history that occurrences were missed.
 */
export function spawnAt(rule: string, start: Date, timezone: string, due: Date, now: Date): Spawn {
  // Spawned ahead (its lead time before the occurrence): that occurrence, and the series moves to the one after it.
  if (now.getTime() < due.getTime()) return { occurrence: due, next: nextOccurrence(rule, start, timezone, due), missed: 0 };
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
