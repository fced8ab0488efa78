/**
 * What the processors tell the scheduler, inside the transaction that applies a batch (called by
 * apply-batch.ts; interim, until the set-based apply computes the same in memory):
 *
 * - recordScheduleChangesOf: the latest schedule of every task whose jobs the batch's applied
 *   events may have changed, read back from the projection in ONE query after the writes, recorded
 *   with ONE upsert (storage/queries/schedule-changes.ts). Which tasks get a row:
 *   - every task an applied event deleted (schedule null: its jobs go);
 *   - a task touched by task.created, task.completed, task.uncompleted, reminder.created or as a
 *     recurring.spawned instance only when it now has something to schedule (an unnotified
 *     reminder, or a rule with a next occurrence): these events never take such state away, so a
 *     task without any had no jobs before either (a plain task.created, completing a plain task,
 *     record nothing);
 *     The same for task.updated setting due_date, recurrence_rule or next_occurrence to a value
 *     (moved before-reminders or occurrence: the task has state, so it is recorded);
 *   - a task whose state such an event may have taken away (reminder.deleted, reminder.triggered,
 *     recurring.skipped, the parent of recurring.spawned, task.updated setting due_date,
 *     recurrence_rule or next_occurrence to null) always;
 *   - task.updated of other fields only (title, tags...), tag and settings events: none.
 *   The schedule recorded is null when the task needs no job (common/contracts/schedule.ts).
 * - timezoneMovesAfter: a settings.updated that changes the timezone moves the user's recurring
 *   tasks that followed the old one (common/series.ts); apply-batch applies the task.updated
 *   events it returns right after the settings event, in the same transaction.
 */
import type { CommonQueryMethods } from "slonik";
import type { AppliedEvent, EventOf, TaskEvent, TaskFields } from "../common/contracts/index.ts";
import { type ScheduleChange, scheduleOrNull, type TaskSchedule } from "../common/contracts/schedule.ts";
import { timezoneMoveEvents } from "../common/series.ts";
import { storedEvents } from "../storage/queries/events.ts";
import { projectedSchedules, recordScheduleChanges, seriesInTimezone } from "../storage/queries/schedule-changes.ts";

/** How an applied event may touch a task's jobs: only add state, or possibly take it away. */
type Touch = "adds" | "may-remove" | "deletes";

function touches(e: AppliedEvent): [string, Touch][] {
  switch (e.event_type) {
    case "task.created":
      // Its own data tells whether it schedules anything: a plain task costs no query.
      return schedulesSomething(e.data.task) ? [[e.aggregate_id, "adds"]] : [];
    case "task.completed":
    case "task.uncompleted":
    case "reminder.created":
      return [[e.aggregate_id, "adds"]];
    case "recurring.spawned": {
      const parent = e.data.task.parent_task_id;
      const instance: [string, Touch][] = schedulesSomething(e.data.task) ? [[e.aggregate_id, "adds"]] : [];
      return parent ? [...instance, [parent, "may-remove"]] : instance;
    }
    case "task.updated": {
      // A due date, rule or next occurrence set to a value moves jobs (the task then has state to
      // record); set to null it may end them (before-reminders go with the due date).
      const moved = [e.data.changes.due_date, e.data.changes.recurrence_rule, e.data.changes.next_occurrence].filter(
        (c) => c !== undefined,
      );
      if (moved.length === 0) return [];
      return [[e.aggregate_id, moved.some((c) => c.new === null) ? "may-remove" : "adds"]];
    }
    case "reminder.deleted":
    case "reminder.triggered":
    case "recurring.skipped":
      return [[e.aggregate_id, "may-remove"]];
    case "task.deleted":
      return [[e.aggregate_id, "deletes"]];
    default:
      return [];
  }
}

const schedulesSomething = (t: TaskFields): boolean => t.reminders.length > 0 || (t.recurrence_rule !== null && t.next_occurrence !== null);
const hasState = (s: TaskSchedule): boolean => s.reminders.length > 0 || (s.recurrence_rule !== null && s.next_occurrence !== null);

/** Records the schedule changes of a batch's applied events (see the file comment for which). */
export async function recordScheduleChangesOf(tx: CommonQueryMethods, applied: readonly AppliedEvent[], scope: string): Promise<void> {
  const touched = new Map<string, { touch: Touch; user_id: string; version: number }>();
  const rank: Record<Touch, number> = { adds: 0, "may-remove": 1, deletes: 2 };
  for (const e of applied) {
    for (const [taskId, touch] of touches(e)) {
      const seen = touched.get(taskId);
      touched.set(taskId, {
        touch: seen && rank[seen.touch] > rank[touch] ? seen.touch : touch,
        user_id: e.user_id,
        version: Math.max(seen?.version ?? 0, e.aggregate_id === taskId ? e.version : 0),
      });
    }
  }
  if (touched.size === 0) return;
  const live = new Map((await projectedSchedules(tx, [...touched.keys()])).map((s) => [s.task_id, s]));
  const changes: ScheduleChange[] = [];
  for (const [taskId, t] of touched) {
    const now = live.get(taskId);
    if (!now) {
      // Deleted (by this batch, or a parent deleted earlier): nothing of it may stay scheduled.
      if (t.touch !== "adds") changes.push({ task_id: taskId, user_id: t.user_id, version: t.version, schedule: null });
      continue;
    }
    if (!hasState(now.schedule) && t.touch === "adds") continue;
    changes.push({
      task_id: taskId,
      user_id: now.user_id,
      version: Math.max(now.version, t.version),
      schedule: scheduleOrNull(now.schedule),
    });
  }
  await recordScheduleChanges(tx, changes, scope);
}

/**
 * The task.updated events that move the user's recurring tasks which followed the old timezone to
 * the new one, keeping their wall-clock time; none when the timezone did not change. `settings`
 * is the applied event (its data holds the real old timezone). Event ids derive from the settings
 * event; one already stored (an earlier producer of the same move) is not made again.
 */
export async function timezoneMovesAfter(
  tx: CommonQueryMethods,
  settings: EventOf<"settings.updated">,
  now = new Date(),
): Promise<TaskEvent[]> {
  const { old, new: next } = settings.data.changes.timezone;
  if (old === next) return [];
  const moves = timezoneMoveEvents(settings, next, await seriesInTimezone(tx, settings.user_id, old), now);
  if (moves.length === 0) return [];
  const stored = new Set(
    (
      await storedEvents(
        tx,
        moves.map((m) => m.event_id),
      )
    ).map((e) => e.event_id),
  );
  return moves.filter((m) => !stored.has(m.event_id));
}
