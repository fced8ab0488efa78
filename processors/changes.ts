/**
 * The rows a batch changes: the difference between each user's state as loaded and as evolved.
 * Pure. The evolve rules copy what they change, so an unchanged task is the same object.
 */
import type { AppliedEvent } from "../common/contracts/index.ts";
import { type ScheduleChange, scheduleOrNull, type TaskSchedule } from "../common/contracts/schedule.ts";
import type { ActivityEntry } from "../common/domain/batch.ts";
import type { Tag, Task, UserState } from "../common/domain/model.ts";
import { tagKey } from "../common/domain/tags.ts";
import { spawnTime } from "../common/series.ts";
import { noChanges, type ProjectionChanges } from "../storage/queries/projection.ts";

const DEFAULT_LEAD_MS = 86_400_000;

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function tagIdOf(tags: ReadonlyMap<string, Tag> | null, name: string): string {
  const key = tagKey(name);
  for (const t of tags?.values() ?? []) if (tagKey(t.name) === key) return t.id;
  throw new Error(`tag "${name}" is not among the user's loaded tags`);
}

export function projectionChanges(
  before: ReadonlyMap<string, UserState>,
  after: ReadonlyMap<string, UserState>,
  seqsBefore: ReadonlyMap<string, number>,
  seqsAfter: ReadonlyMap<string, number>,
  events: AppliedEvent[],
  activity: ActivityEntry[],
): ProjectionChanges {
  const c: ProjectionChanges = { ...noChanges(), events, activity };
  for (const [userId, final] of after) {
    const initial = before.get(userId);
    if (!initial) continue;
    const seq = seqsAfter.get(userId) ?? 0;
    const expected = seqsBefore.get(userId) ?? 0;
    if (seq !== expected || final.timezone !== initial.timezone) c.users.push({ id: userId, seq, timezone: final.timezone, expected });
    if (final.tags !== initial.tags && final.tags) {
      for (const [id, tag] of final.tags) if (initial.tags?.get(id) !== tag) c.tags.push({ ...tag, user_id: userId });
      for (const id of initial.tags?.keys() ?? []) if (!final.tags.has(id)) c.deletedTags.push(id);
    }
    if (final.tasks === initial.tasks) continue;
    for (const [id, task] of final.tasks) {
      const was = initial.tasks.get(id) ?? null;
      if (task === was) continue;
      if (task === null) {
        if (was) c.deletedTasks.push(id);
        continue;
      }
      taskRows(c, final, task, was);
    }
  }
  return c;
}

function taskRows(c: ProjectionChanges, state: UserState, task: Task, was: Task | null) {
  c.tasks.push(task);
  if (!was || !sameList(was.tags, task.tags)) {
    if (was) c.relinkedTasks.push(task.id);
    for (const name of task.tags) c.links.push({ task_id: task.id, tag_id: tagIdOf(state.tags, name) });
  }
  if (was?.reminders === task.reminders) return;
  const previous = new Map((was?.reminders ?? []).map((r) => [r.id, r]));
  for (const r of task.reminders) {
    if (previous.get(r.id) !== r) c.reminders.push({ ...r, task_id: task.id, user_id: task.user_id });
    previous.delete(r.id);
  }
  // A task re-created under its old id in the same batch keeps none of the old reminders either.
  c.deletedReminders.push(...previous.keys());
}

/** When a series' occurrence job fires (its instance is spawned that long ahead); undefined without one or when it cannot be computed. */
function spawnAtOf(task: Task, leadMs: number): string | undefined {
  if (!task.recurrence_rule || task.next_occurrence === null) return undefined;
  try {
    return spawnTime({ ...task, recurrence_rule: task.recurrence_rule }, new Date(task.next_occurrence), leadMs).toISOString();
  } catch {
    // A rule the projection holds but cannot evaluate: the scheduler's planner logs and refuses it.
    return undefined;
  }
}

/** What the scheduler needs of a task: which jobs it calls for (scheduler/plan.ts desiredJobs). */
function scheduleOf(task: Task | null, leadMs: number): TaskSchedule | null {
  if (!task) return null;
  // An after_completion series needs no occurrence job: its instances come with completions (common/series.ts).
  const byClock = task.recurrence_mode !== "after_completion";
  const spawnAt = byClock ? spawnAtOf(task, leadMs) : undefined;
  return scheduleOrNull({
    status: task.status,
    recurrence_rule: task.recurrence_rule,
    next_occurrence: task.next_occurrence === null || !byClock ? null : new Date(task.next_occurrence).toISOString(),
    ...(spawnAt !== undefined ? { spawn_at: spawnAt } : {}),
    reminders: task.reminders
      .filter((r) => !r.notified)
      .map((r) => ({ id: r.id, remind_at: new Date(r.remind_at).toISOString() }))
      .sort((a, b) => (a.id < b.id ? -1 : 1)),
  });
}

/**
 * The schedule changes a batch makes: one per task whose jobs differ before and after it (a task
 * that schedules nothing, before and after, costs the scheduler nothing). A step per changed
 * task, for a caller that runs it in slices (slices.ts).
 */
export function* scheduleChangeSteps(
  before: ReadonlyMap<string, UserState>,
  after: ReadonlyMap<string, UserState>,
  /** RECURRENCE_LEAD in ms: how long before its occurrence a series' instance is spawned, at least. */
  leadMs = DEFAULT_LEAD_MS,
): Generator<void, ScheduleChange[]> {
  const changes: ScheduleChange[] = [];
  for (const [userId, final] of after) {
    const initial = before.get(userId);
    if (!initial || final.tasks === initial.tasks) continue;
    for (const [id, task] of final.tasks) {
      const was = initial.tasks.get(id) ?? null;
      if (task === was) continue;
      yield;
      const schedule = scheduleOf(task, leadMs);
      if (JSON.stringify(schedule) === JSON.stringify(scheduleOf(was, leadMs))) continue;
      changes.push({ task_id: id, user_id: userId, version: task?.version ?? final.versions.get(id) ?? was?.version ?? 0, schedule });
    }
  }
  return changes;
}
