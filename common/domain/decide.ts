/**
 * decide(state, command): the events a user's request makes, or why it is refused — the rules of
 * writing (schedules checked, a series' first occurrence, tags deduplicated, reminders resolved,
 * no-op updates answered without an event). Ingest calls these; the task its 202 answer shows is
 * the decided event evolved over the same state (evolve.ts), so there is one rule for both.
 *
 * Pure apart from the ids and clock the caller passes in.
 */
import { newEvent } from "../contracts/envelope.ts";
import { LIMITS, type RecurrenceMode, type ReminderSpec, type TaskChanges, type TaskEvent, type TaskFields } from "../contracts/events.ts";
import type { ErrorDetail } from "../errors.ts";
import { isValidTimezone, neverMatches, nextOccurrence, occurrencesAfter, parseRecurrenceRule } from "../recurrence.ts";
import { parseReminderSpec, parseReminderSpecs, type ReminderSpec as ReminderInput, reminderFireTime } from "../reminder-time.ts";
import { isOwnCurrentInstance, movesWithUserZone } from "../series.ts";
import { evolve } from "./evolve.ts";
import { reminderSpecOf, type Task, taskView, type UserState } from "./model.ts";
import { BLANK_TAG_NAME, tagKey, tagName } from "./tags.ts";

export interface Command {
  user_id: string;
  correlation_id: string;
  /** ISO-8601 instant of the request. */
  now: string;
  newId: () => string;
}

export type Refusal =
  | { kind: "validation"; details: ErrorDetail[] }
  | { kind: "not_found"; what: string }
  | { kind: "conflict"; message: string };

/** The event to write and the task as it will be once applied; `event: null` when nothing changes. */
export type Decision = { ok: true; event: TaskEvent | null; task: Task } | { ok: false; refusal: Refusal };

export interface TaskInput {
  title?: string;
  description?: string | null;
  due_date?: string | null;
  priority?: Task["priority"];
  tags?: string[];
  recurrence_rule?: string | null;
  recurrence_mode?: RecurrenceMode;
  timezone?: string;
  reminders?: unknown[];
}

const refuse = (refusal: Refusal): Decision => ({ ok: false, refusal });
const iso = (s: string | null | undefined): string | null => (s ? new Date(s).toISOString() : null);
/** A task's tag names, trimmed and deduplicated (the last spelling wins); a blank one is reported. */
function taskTags(tags: string[] = [], details: ErrorDetail[]): string[] {
  for (const [i, t] of tags.entries()) if (tagName(t) === null) details.push({ path: `tags[${i}]`, message: BLANK_TAG_NAME });
  return [...new Map(tags.map((t) => [tagKey(t), t.trim()])).values()].filter(Boolean);
}

/** The state one task is decided against (ingest knows the task, not the whole user). */
const stateOf = (userId: string, timezone: string, task: Task | null, id: string): UserState => ({
  id: userId,
  timezone,
  tasks: new Map([[id, task]]),
  tags: null,
  versions: new Map(task ? [[id, task.version]] : []),
});

/** The envelope of the event a command makes on `aggregateId`. */
export const on = (cmd: Command, aggregateId: string) => ({
  user_id: cmd.user_id,
  aggregate_id: aggregateId,
  correlation_id: cmd.correlation_id,
  event_id: cmd.newId(),
  timestamp: cmd.now,
});

function decided(state: UserState, event: TaskEvent): Decision {
  const aggregateId = event.aggregate_id;
  const outcome = evolve(state, event);
  if (outcome.kind === "rejected") {
    if (outcome.code === "not_found") return refuse({ kind: "not_found", what: `task ${aggregateId}` });
    if (outcome.code === "invalid")
      return refuse({ kind: "validation", details: [{ path: outcome.field ?? "(body)", message: outcome.reason }] });
    return refuse({ kind: "conflict", message: outcome.reason });
  }
  // A deleted task is answered as it was.
  const task = (outcome.kind === "applied" ? outcome.state.tasks.get(aggregateId) : undefined) ?? state.tasks.get(aggregateId);
  if (!task) return refuse({ kind: "not_found", what: `task ${aggregateId}` });
  return { ok: true, event, task: taskView(task) };
}

/** White space, format characters (zero-width space, word joiner, BOM) and the Hangul fillers: nothing to see. */
const INVISIBLE = /^[\s\p{Cf}\u115F\u1160\u3164\uFFA0]*$/u;

/** A title of invisible characters alone is no title. */
function checkTitle(title: string | undefined, details: ErrorDetail[]): void {
  if (title !== undefined && INVISIBLE.test(title)) details.push({ path: "title", message: "must not be blank" });
}

/** Timezone, RRULE and reminder checks the schema cannot express; every problem is reported. */
function checkSchedule(
  input: { timezone?: string; recurrence_rule?: string | null; due_date?: string | null; reminders?: unknown[] },
  details: ErrorDetail[],
) {
  if (input.timezone !== undefined && !isValidTimezone(input.timezone))
    details.push({ path: "timezone", message: `"${input.timezone}" is not an IANA timezone` });
  let rule: string | null = null;
  if (input.recurrence_rule) {
    const parsed = parseRecurrenceRule(input.recurrence_rule);
    if (parsed.ok) rule = parsed.canonical;
    else details.push({ path: "recurrence_rule", message: parsed.message });
  }
  let reminders: ReminderInput[] = [];
  if (input.reminders) {
    const zone = input.timezone !== undefined && isValidTimezone(input.timezone) ? input.timezone : undefined;
    const parsed = parseReminderSpecs(input.reminders, input.due_date ? new Date(input.due_date) : null, zone);
    if (parsed.ok) reminders = parsed.specs;
    else details.push({ path: parsed.path, message: parsed.message });
  }
  return { rule, reminders };
}

/** A series' first occurrence after its start (its due date, else its creation), and never before `notBefore`. */
export function firstOccurrence(
  rule: string | null,
  dueDate: string | null,
  createdAt: string,
  timezone: string,
  notBefore?: string,
): string | null {
  if (!rule) return null;
  const start = new Date(dueDate ?? createdAt);
  // An edit never schedules an occurrence in the past (the scheduler would spawn it at once).
  const after = notBefore && Date.parse(notBefore) > start.getTime() ? new Date(notBefore) : start;
  return nextOccurrence(rule, start, timezone, after)?.toISOString() ?? null;
}

export function reminderOf(spec: ReminderInput, dueDate: string | null, timezone: string, id: string, now: string): ReminderSpec {
  const remindAt = reminderFireTime(spec, dueDate ? new Date(dueDate) : null, timezone);
  return {
    id,
    ...(spec.kind === "before" ? { before: spec.before } : { at: spec.at.toISOString() }),
    remind_at: (remindAt ?? new Date(now)).toISOString(),
  };
}

/** POST /tasks. `timezone` is the user's, the default of the task's. */
export function createTask(cmd: Command, timezone: string, input: TaskInput & { title: string }): Decision {
  const details: ErrorDetail[] = [];
  checkTitle(input.title, details);
  const zone = input.timezone ?? timezone;
  const { rule, reminders } = checkSchedule({ ...input, timezone: zone }, details);
  const tags = taskTags(input.tags, details);
  if (details.length) return refuse({ kind: "validation", details });
  const id = cmd.newId();
  const dueDate = iso(input.due_date);
  const never = rule ? neverMatches(rule, new Date(dueDate ?? cmd.now), zone) : null;
  if (never) return refuse({ kind: "validation", details: [{ path: "recurrence_rule", message: never }] });
  const fields: TaskFields = {
    title: input.title,
    description: input.description ?? null,
    priority: input.priority ?? "medium",
    due_date: dueDate,
    timezone: zone,
    recurrence_rule: rule,
    // Written only when asked for: events without it are `schedule`.
    ...(input.recurrence_mode !== undefined ? { recurrence_mode: input.recurrence_mode } : {}),
    // An after_completion series is its own first instance (common/series.ts): its next_occurrence is its own start.
    next_occurrence:
      rule && input.recurrence_mode === "after_completion" ? (dueDate ?? cmd.now) : firstOccurrence(rule, dueDate, cmd.now, zone),
    parent_task_id: null,
    tags,
    reminders: reminders.map((spec) => reminderOf(spec, dueDate, zone, cmd.newId(), cmd.now)),
  };
  const data = { task: fields, timezone_defaulted: input.timezone === undefined };
  return decided(stateOf(cmd.user_id, timezone, null, id), newEvent("task.created", on(cmd, id), data));
}

/** PATCH/PUT /tasks/:id: only what really changes goes into the event; nothing changing is no event. */
export function updateTask(cmd: Command, task: Task, input: TaskInput): Decision {
  const details: ErrorDetail[] = [];
  checkTitle(input.title, details);
  const { rule } = checkSchedule(
    { timezone: input.timezone ?? task.timezone, recurrence_rule: input.recurrence_rule, due_date: input.due_date ?? task.due_date },
    details,
  );
  const tags = input.tags !== undefined ? taskTags(input.tags, details).sort() : task.tags;
  const dueDate = input.due_date !== undefined ? iso(input.due_date) : task.due_date;
  const zone = input.timezone ?? task.timezone;
  // `reminders` replaces the task's reminders, evaluated against the due date and zone after the update.
  let reminders: ReminderSpec[] | undefined;
  if (input.reminders !== undefined) {
    const parsed = parseReminderSpecs(input.reminders, dueDate ? new Date(dueDate) : null, isValidTimezone(zone) ? zone : undefined);
    if (parsed.ok) reminders = parsed.specs.map((spec) => reminderOf(spec, dueDate, zone, cmd.newId(), cmd.now));
    else details.push({ path: parsed.path, message: parsed.message });
  }
  if (details.length) return refuse({ kind: "validation", details });
  const next: TaskChanges = {};
  if (reminders !== undefined) next.reminders = { old: task.reminders.map(reminderSpecOf), new: reminders };
  else if (dueDate === null && task.due_date !== null && task.reminders.some((r) => r.before !== undefined))
    // `before` reminders need a due date: clearing it removes them, and the event says so.
    next.reminders = {
      old: task.reminders.map(reminderSpecOf),
      new: task.reminders.filter((r) => r.before === undefined).map(reminderSpecOf),
    };
  const after = {
    title: input.title ?? task.title,
    description: input.description !== undefined ? input.description : task.description,
    priority: input.priority ?? task.priority,
    due_date: dueDate,
    timezone: zone,
    recurrence_rule: input.recurrence_rule !== undefined ? rule : task.recurrence_rule,
    recurrence_mode: input.recurrence_mode ?? task.recurrence_mode ?? "schedule",
    tags,
  };
  const change = <K extends keyof typeof after>(field: K) => {
    const was = field === "recurrence_mode" ? (task.recurrence_mode ?? "schedule") : task[field];
    if (JSON.stringify(was) !== JSON.stringify(after[field])) Object.assign(next, { [field]: { old: was, new: after[field] } });
  };
  for (const field of Object.keys(after) as (keyof typeof after)[]) if (input[field] !== undefined) change(field);
  if (after.recurrence_rule && (next.recurrence_rule || next.due_date || next.timezone)) {
    // A new start (due date, or its month in another zone) can make a rule that matched never match.
    const never = neverMatches(after.recurrence_rule, new Date(after.due_date ?? task.created_at), after.timezone);
    const culprits = next.recurrence_rule ? ["recurrence_rule"] : (["due_date", "timezone"] as const).filter((f) => next[f]);
    if (never) return refuse({ kind: "validation", details: culprits.map((path) => ({ path, message: never })) });
  }
  const wasAfterCompletion = task.recurrence_rule !== null && task.recurrence_mode === "after_completion";
  if (wasAfterCompletion && after.recurrence_rule && after.recurrence_mode === "after_completion") {
    // An after_completion series' next_occurrence is its current instance's due date, which an
    // edit leaves alone: the new rule, time or zone applies from the next instance on. Before its
    // first instance the series is its own current one, so it follows the series' own start.
    if (next.due_date && isOwnCurrentInstance(task))
      next.next_occurrence = { old: task.next_occurrence, new: after.due_date ?? task.created_at };
  } else if (next.recurrence_rule || next.due_date || next.timezone || next.recurrence_mode) {
    // Back to `schedule`: the next occurrence after the current instance, never in the past.
    // Still `schedule`: after the instance already spawned ahead, which stays as it is.
    const notBefore = wasAfterCompletion
      ? task.next_occurrence && Date.parse(task.next_occurrence) > Date.parse(cmd.now)
        ? task.next_occurrence
        : cmd.now
      : after.recurrence_mode === "schedule"
        ? (spawnedAhead(task, cmd.now) ?? cmd.now)
        : cmd.now;
    // A plain task made an after_completion series is its own first instance, as a new series is.
    const ownFirst = after.recurrence_mode === "after_completion" && task.recurrence_rule === null;
    const occurrence = !after.recurrence_rule
      ? null
      : ownFirst
        ? (after.due_date ?? task.created_at)
        : firstOccurrence(after.recurrence_rule, after.due_date, task.created_at, after.timezone, notBefore);
    if (occurrence !== task.next_occurrence) next.next_occurrence = { old: task.next_occurrence, new: occurrence };
  }
  if (Object.keys(next).length === 0) return { ok: true, event: null, task };
  // A timezone written here is the writer's choice: the series keeps it (follows_user false).
  const data = { changes: next, ...(next.timezone ? { follows_user: false, zone_moves_reminders: true as const } : {}) };
  return decided(stateOf(cmd.user_id, task.timezone, task, task.id), newEvent("task.updated", on(cmd, task.id), data));
}

/**
 * The latest occurrence of a `schedule` series whose instance exists ahead of `now` (instances
 * are spawned up to the series' next_occurrence, exclusive; the latest of them), or null. An
 * edit of the series continues after it: asking for that instance again would be a duplicate
 * spawn, which moves nothing, and the series would wait for a later occurrence to come due.
 */
function spawnedAhead(task: Task, now: string): string | null {
  if (!task.recurrence_rule) return null;
  const start = new Date(task.due_date ?? task.created_at);
  // The series' own start is the series itself, not an instance.
  const after = new Date(Math.max(Date.parse(now), start.getTime()));
  // A series whose rule has ended (no next occurrence) has its instances up to the last one.
  const before = task.next_occurrence ? new Date(task.next_occurrence) : undefined;
  try {
    return occurrencesAfter(task.recurrence_rule, start, task.timezone, after, 400, before).at(-1)?.toISOString() ?? null;
  } catch {
    return null; // a stored rule that can no longer be evaluated: the edit starts from now
  }
}

/** The task's tag list replaced by `names` (POST/DELETE /tasks/:id/tags). */
export function retagTask(cmd: Command, task: Task, names: string[]): Decision {
  return updateTask(cmd, task, { tags: names });
}

export function deleteTask(cmd: Command, task: Task): Decision {
  return decided(stateOf(cmd.user_id, task.timezone, task, task.id), newEvent("task.deleted", on(cmd, task.id), {}));
}

export function completeTask(cmd: Command, task: Task): Decision {
  if (task.status === "completed") return refuse({ kind: "conflict", message: `task ${task.id} is already completed` });
  return decided(
    stateOf(cmd.user_id, task.timezone, task, task.id),
    newEvent("task.completed", on(cmd, task.id), { completed_at: cmd.now }),
  );
}

export function uncompleteTask(cmd: Command, task: Task): Decision {
  if (task.status === "pending") return refuse({ kind: "conflict", message: `task ${task.id} is not completed` });
  return decided(stateOf(cmd.user_id, task.timezone, task, task.id), newEvent("task.uncompleted", on(cmd, task.id), {}));
}

export function skipOccurrence(cmd: Command, task: Task): Decision {
  if (!task.recurrence_rule || !task.next_occurrence)
    return refuse({ kind: "conflict", message: `task ${task.id} has no upcoming occurrence to skip` });
  if (task.recurrence_mode === "after_completion")
    return refuse({
      kind: "conflict",
      message: `task ${task.id} makes its next instance when the current one is completed (after_completion): complete or delete that one instead`,
    });
  const start = new Date(task.due_date ?? task.created_at);
  const following = nextOccurrence(task.recurrence_rule, start, task.timezone, new Date(task.next_occurrence))?.toISOString() ?? null;
  return decided(
    stateOf(cmd.user_id, task.timezone, task, task.id),
    newEvent("task.updated", on(cmd, task.id), { changes: { next_occurrence: { old: task.next_occurrence, new: following } }, skip: true }),
  );
}

/** POST /tasks/:id/reminders: `input` is the request body; `path` names it in errors. */
export function addReminder(cmd: Command, task: Task, input: unknown): Decision & { reminder?: ReminderSpec } {
  // Checked here, where the write is accepted, not in evolve: a log written before the limit replays as it was.
  if (task.reminders.length >= LIMITS.remindersPerTask)
    return refuse({
      kind: "conflict",
      message: `task ${task.id} has ${LIMITS.remindersPerTask} reminders already, the most a task holds; delete one first`,
    });
  const parsed = parseReminderSpec(input, {
    path: "(body)",
    dueDate: task.due_date ? new Date(task.due_date) : null,
    timezone: task.timezone,
  });
  if (!parsed.ok)
    return refuse({ kind: "validation", details: [{ path: parsed.path.replace(/^\(body\)\.?/, ""), message: parsed.message }] });
  const reminder = reminderOf(parsed.spec, task.due_date, task.timezone, cmd.newId(), cmd.now);
  return {
    ...decided(stateOf(cmd.user_id, task.timezone, task, task.id), newEvent("reminder.created", on(cmd, task.id), { reminder })),
    reminder,
  };
}

export function deleteReminder(cmd: Command, task: Task, reminderId: string): Decision {
  if (!task.reminders.some((r) => r.id === reminderId && !r.notified)) return refuse({ kind: "not_found", what: `reminder ${reminderId}` });
  return decided(
    stateOf(cmd.user_id, task.timezone, task, task.id),
    newEvent("reminder.deleted", on(cmd, task.id), { reminder_id: reminderId }),
  );
}

/**
 * The task as it will be once the user's pending writes (accepted, not yet applied) are: those
 * writes evolved over the projection's task, in the order they were accepted. Null when the
 * task does not exist (or will not, once they apply). `pending` holds the writes on this task and
 * the user's timezone changes (a series that followed the old zone moves, as the processors move it).
 */
export function withPending(task: Task | null, taskId: string, userId: string, pending: readonly TaskEvent[], now: Date): Task | null {
  let state = stateOf(userId, task?.timezone ?? "UTC", task, taskId);
  for (const event of pending) {
    const outcome = evolve(state, event);
    if (outcome.kind !== "applied") continue;
    state = outcome.state;
    // A timezone change moves the series that followed the old zone right after it, as the processors do.
    const current = state.tasks.get(taskId);
    if (event.event_type !== "settings.updated" || !current) continue;
    for (const move of movesWithUserZone(event, [current], now)) {
      const moved = evolve(state, move);
      if (moved.kind === "applied") state = moved.state;
    }
  }
  const result = state.tasks.get(taskId);
  return result ? taskView(result) : null;
}
