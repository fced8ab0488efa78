/**
 * Rules of recurring series shared by the processors and the scheduler (pure, no I/O): where a
 * series starts, and how a user's timezone change moves the series that followed the old zone.
 */
import { DateTime } from "luxon";
import { type EventOf, newEvent, type TaskChanges } from "./contracts/index.ts";
import { nameBasedUuid } from "./ids.ts";
import { nextOccurrence } from "./recurrence.ts";

/** The start of a series: its due date, else its creation (as ingest computes next_occurrence). */
export const seriesStart = (task: { due_date: string | null; created_at: string }): Date => new Date(task.due_date ?? task.created_at);

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

/**
 * The id of the task.updated that moves `taskId` after the settings event `settingsEventId`: the
 * same name the scheduler derived it from before the processors took this over, so a log holding
 * either kind deduplicates the same way.
 */
export const timezoneMoveEventId = (settingsEventId: string, taskId: string): string =>
  nameBasedUuid("taskstream-scheduler", `timezone:${settingsEventId}:${taskId}`);

/** A series as the timezone move needs it. */
export interface FollowingSeries extends SeriesTask {
  id: string;
  updated_at: string;
}

/**
 * One task.updated per series that followed the user's old timezone (`tasks` are the user's
 * recurring tasks in `oldZone`), moving it to `newZone`. Its timestamp is the settings change's,
 * or the task's last change when that is later, so the move never loses last-write-wins to an
 * earlier edit while a user's later edit still wins over it.
 */
export function timezoneMoveEvents(
  settings: Pick<EventOf<"settings.updated">, "event_id" | "user_id" | "correlation_id" | "timestamp">,
  newZone: string,
  tasks: readonly FollowingSeries[],
  now: Date,
): EventOf<"task.updated">[] {
  const events: EventOf<"task.updated">[] = [];
  for (const task of tasks) {
    const changes = moveSeries(task, newZone, now);
    if (Object.keys(changes).length === 0) continue;
    const timestamp = new Date(Math.max(Date.parse(settings.timestamp), Date.parse(task.updated_at))).toISOString();
    events.push(
      newEvent(
        "task.updated",
        {
          user_id: settings.user_id,
          aggregate_id: task.id,
          correlation_id: settings.correlation_id,
          event_id: timezoneMoveEventId(settings.event_id, task.id),
          timestamp,
        },
        { changes },
      ),
    );
  }
  return events;
}
