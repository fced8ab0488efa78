/**
 * evolve(state, event): what one event does to a user's state — the one place the rules of
 * applying events live (last write wins, tags by name, `before` reminders following the due
 * date, a reminder notifying once, a series moving on). The processors evolve a whole batch in
 * memory with it, replay uses it, and ingest uses it for the task its 202 answer describes.
 *
 * Pure: no I/O, no clock. An event that cannot apply to this state is `rejected` (its writer is
 * told with write.rejected) or `skipped` (a duplicate or a no-op, nobody is told).
 */
import type { EventOf, RejectReason, TaskChanges, TaskEvent, TaskFields } from "../contracts/events.ts";
import { INSTANT_RANGE_MESSAGE, isInstantInRange } from "../contracts/formats.ts";
import { createdTaskView } from "../contracts/task-view.ts";
import { nameBasedUuid } from "../ids.ts";
import { nextOccurrence } from "../recurrence.ts";
import { fireTimeProblem, reminderFireTime } from "../reminder-time.ts";
import { seriesStart } from "../series.ts";
import { instant, type Reminder, reminderSpecOf, type Tag, type Task, type UserState } from "./model.ts";
import { retagged, tagKey, tagName } from "./tags.ts";

export type Outcome =
  | {
      kind: "applied";
      state: UserState;
      /** The event's data as stored and sent, when it differs from what was written (an update gains the real old values). */
      data?: TaskEvent["data"];
      /** The aggregate's version after this event. */
      version: number;
      /** One line for the activity feed. */
      summary: string;
      /** The task the event belongs to, if any. */
      taskId?: string;
    }
  | { kind: "skipped"; reason: string }
  /** `field`: the field of the write that makes it invalid, when one does (ingest answers 400 naming it). */
  | { kind: "rejected"; code: RejectReason; reason: string; field?: string };

type Applied = Omit<Extract<Outcome, { kind: "applied" }>, "kind" | "state" | "version">;

const rejected = (code: RejectReason, reason: string, field?: string): Outcome => ({
  kind: "rejected",
  code,
  reason,
  ...(field !== undefined ? { field } : {}),
});
const skipped = (reason: string): Outcome => ({ kind: "skipped", reason });
const missing = (id: string): Outcome => rejected("not_found", `task ${id} does not exist (deleted or never created)`);

/**
 * Maps the caller owns for the duration of one evolve (evolveBatch's working copies, made by this
 * module during the batch): changed in place instead of copied, so a batch does not copy a user's
 * tasks and versions once per event. Any other map is copied, and the copy is owned from then on.
 */
let owned: WeakSet<object> | undefined;
function copy<K, V>(map: ReadonlyMap<K, V>): Map<K, V> {
  if (owned?.has(map)) return map as Map<K, V>;
  const next = new Map(map);
  owned?.add(next);
  return next;
}

/**
 * Tag ids a task's new tag names create derive from the event, so replay rebuilds the same ids.
 * Named from toLowerCase, as before tagKey folded like PostgreSQL (an id is a name, not a
 * comparison): a log written then replays to the same ids.
 */
export const derivedTagId = (eventId: string, name: string): string => nameBasedUuid(eventId, name.toLowerCase());

const byName = (tags: ReadonlyMap<string, Tag> | null, name: string): Tag | undefined => {
  if (!tags) return undefined;
  const key = tagKey(name);
  for (const t of tags.values()) if (tagKey(t.name) === key) return t;
  return undefined;
};

/** The task a task.created (or a spawned instance) makes: the API's view of it (one rule with the client's), plus bookkeeping. */
export function createdTask(userId: string, id: string, f: TaskFields, timestamp: string, version = 1): Task {
  const view = createdTaskView(userId, id, f, timestamp, version);
  // A reminder id written twice is one reminder, the first (as the reminders table's primary key kept it).
  const reminders = view.reminders
    .filter((r, i) => view.reminders.findIndex((x) => x.id === r.id) === i)
    .map((r) => ({ ...r, created_at: timestamp }));
  return { ...view, reminders };
}

/** The task's tag names resolved against the user's tags (their spelling wins), creating the missing tags. */
function withTags(state: UserState, written: readonly string[], eventId: string, at: string): { names: string[]; tags: UserState["tags"] } {
  // Ingest writes names trimmed and refuses blank ones; a record that has them anyway keeps to the rule.
  const names = written.flatMap((n) => tagName(n) ?? []);
  if (!state.tags) {
    const keys = names.map(tagKey);
    return { names: names.filter((_, i) => keys.indexOf(keys[i] ?? "") === i).sort(), tags: null };
  }
  let tags = state.tags;
  const resolved: string[] = [];
  for (const name of names) {
    const existing = byName(tags, name);
    if (existing) {
      if (!resolved.includes(existing.name)) resolved.push(existing.name);
      continue;
    }
    const id = derivedTagId(eventId, name);
    if (tags === state.tags) tags = copy(tags);
    (tags as Map<string, Tag>).set(id, { id, name, color: null, created_at: at, updated_at: at });
    resolved.push(name);
  }
  return { names: resolved.sort(), tags };
}

/**
 * `before` reminders follow the due date (calendar units in the task's timezone). A moved one
 * notifies again when its new time is still to come (at `now`, the change's time); one that has
 * notified and whose new time has passed too stays notified (not a second, late reminder). `now`
 * null (a change by a writer, or an event written before moves said so): every moved one
 * notifies again.
 */
function followDueDate(task: Task, now: string | null, zoneOnly = false): Reminder[] {
  if (!task.reminders.some((r) => r.before !== undefined)) return task.reminders;
  if (task.due_date === null) return task.reminders.filter((r) => r.before === undefined);
  const due = new Date(task.due_date);
  const reminders = task.reminders.map((r) => {
    if (r.before === undefined) return r;
    const remindAt = (reminderFireTime({ kind: "before", before: r.before }, due, task.timezone) as Date).toISOString();
    // A timezone change leaves an offset in hours where it was (a moved due date re-arms every one, as it always did).
    if (zoneOnly && remindAt === r.remind_at) return r;
    return r.notified && now !== null && instant(remindAt) <= instant(now)
      ? { ...r, remind_at: remindAt }
      : { ...r, remind_at: remindAt, notified: false, notified_at: null };
  });
  return reminders.every((r, i) => r === task.reminders[i]) ? task.reminders : reminders;
}

/** Why the `before` reminders of a task whose due date moved cannot follow it, or null. */
function movedRemindersProblem(task: Task): string | null {
  for (const r of task.reminders) {
    const problem = r.before === undefined ? null : fireTimeProblem(new Date(r.remind_at));
    if (problem) return `due_date ${task.due_date}: the reminder ${r.before} before it ${problem}`;
  }
  return null;
}

function bump(state: UserState, aggregateId: string): { versions: Map<string, number>; version: number } {
  const version = (state.versions.get(aggregateId) ?? 0) + 1;
  const versions = copy(state.versions);
  versions.set(aggregateId, version);
  return { versions, version };
}

/** The state with `task` (or its absence) recorded and the aggregate's version moved on. */
function applied(state: UserState, aggregateId: string, change: Partial<UserState>, a: Applied, task?: Task | null): Outcome {
  const { versions, version } = bump(state, aggregateId);
  let tasks = change.tasks ?? state.tasks;
  if (task !== undefined) {
    tasks = copy(tasks);
    (tasks as Map<string, Task | null>).set(aggregateId, task === null ? null : { ...task, version });
  }
  return { kind: "applied", state: { ...state, ...change, tasks, versions }, version, ...a };
}

const withTask = (state: UserState, id: string, task: Task): UserState => {
  const tasks = copy(state.tasks);
  tasks.set(id, task);
  return { ...state, tasks };
};

type Rule<K extends TaskEvent["event_type"]> = (state: UserState, e: EventOf<K>) => Outcome;

const taskCreated: Rule<"task.created"> = (state, e) => {
  if (state.tasks.get(e.aggregate_id) || state.taken?.has(e.aggregate_id))
    return rejected("conflict", `task ${e.aggregate_id} already exists`);
  const { names, tags } = withTags(state, e.data.task.tags, e.event_id, e.timestamp);
  const task = {
    ...createdTask(e.user_id, e.aggregate_id, e.data.task, e.timestamp),
    tags: names,
    follows_user_timezone: e.data.timezone_defaulted ?? null,
  };
  return applied(state, e.aggregate_id, { tags }, { summary: `created "${task.title}"`, taskId: task.id }, task);
};

/** Last write wins by event timestamp: an update older than the task's last change is `superseded`. */
const taskUpdated: Rule<"task.updated"> = (state, e) => {
  const task = state.tasks.get(e.aggregate_id);
  if (!task) return missing(e.aggregate_id);
  const c = e.data.changes;
  const skipped = e.data.skip && c.next_occurrence?.old;
  // A skip is guarded by its occurrence, not by time (another ingest's clock may be behind).
  if (!skipped && instant(e.timestamp) < instant(task.updated_at))
    return rejected("superseded", `a later change of task ${e.aggregate_id} won (last write wins)`);
  if (skipped && (task.next_occurrence === null || instant(task.next_occurrence) !== instant(skipped)))
    return rejected("conflict", `occurrence ${skipped} is not the series' next one (skipped or spawned already)`);
  const updatedAt = instant(e.timestamp) > instant(task.updated_at) ? e.timestamp : task.updated_at;
  let next: Task = { ...task, updated_at: updatedAt };
  let tags = state.tags;
  // Each change carries the value the task really had before it (the writer may have seen an older one).
  const changes: TaskChanges = {};
  if (c.title) [changes.title, next.title] = [{ old: task.title, new: c.title.new }, c.title.new];
  if (c.description) [changes.description, next.description] = [{ old: task.description, new: c.description.new }, c.description.new];
  if (c.priority) [changes.priority, next.priority] = [{ old: task.priority, new: c.priority.new }, c.priority.new];
  if (c.due_date) [changes.due_date, next.due_date] = [{ old: task.due_date, new: c.due_date.new }, c.due_date.new];
  if (c.timezone) {
    [changes.timezone, next.timezone] = [{ old: task.timezone, new: c.timezone.new }, c.timezone.new];
    // A timezone the writer chose is the task's own (a move with the user's keeps following it).
    if (e.data.follows_user === false) next.follows_user_timezone = false;
  }
  if (c.recurrence_rule)
    [changes.recurrence_rule, next.recurrence_rule] = [{ old: task.recurrence_rule, new: c.recurrence_rule.new }, c.recurrence_rule.new];
  if (c.recurrence_mode)
    [changes.recurrence_mode, next.recurrence_mode] = [
      { old: task.recurrence_mode ?? "schedule", new: c.recurrence_mode.new },
      c.recurrence_mode.new,
    ];
  if (c.next_occurrence)
    [changes.next_occurrence, next.next_occurrence] = [{ old: task.next_occurrence, new: c.next_occurrence.new }, c.next_occurrence.new];
  if (c.tags) {
    const resolved = withTags(state, c.tags.new, e.event_id, e.timestamp);
    tags = resolved.tags;
    changes.tags = { old: task.tags, new: c.tags.new };
    next = { ...next, tags: resolved.names };
  }
  if (c.reminders) {
    changes.reminders = { old: task.reminders.map(reminderSpecOf), new: c.reminders.new };
    // A reminder kept as it was (same id and time) keeps whether it has notified.
    const was = new Map(task.reminders.map((r) => [r.id, r]));
    next = {
      ...next,
      reminders: c.reminders.new.map((r) => {
        const same = was.get(r.id);
        return same && same.remind_at === r.remind_at ? { ...same, ...r } : { ...r, notified: false, created_at: e.timestamp };
      }),
    };
  }
  // The log's events hold instants in range; an update the processors derive (a timezone move) may not.
  for (const field of ["due_date", "next_occurrence"] as const) {
    const value = changes[field]?.new;
    if (value && !isInstantInRange(instant(value))) return rejected("invalid", `${field} ${value} ${INSTANT_RANGE_MESSAGE}`, field);
  }
  let moved: TaskChanges["reminders"];
  // A timezone alone (in events that say so) moves `before` reminders in calendar units too (P1D
  // before 09:00 is 09:00 the day before, in the zone); those that notified and whose new time has
  // passed stay notified.
  const zoneOnly = !changes.due_date && changes.timezone !== undefined && e.data.zone_moves_reminders === true;
  if (changes.due_date || zoneOnly) {
    const before = next.reminders;
    next = { ...next, reminders: followDueDate(next, e.data.follows_user === true || zoneOnly ? e.timestamp : null, zoneOnly) };
    const problem = movedRemindersProblem(next);
    if (problem) return rejected("invalid", problem, "due_date");
    const pending = (reminders: Reminder[]) => reminders.filter((r) => !r.notified).map(reminderSpecOf);
    if (!changes.reminders && JSON.stringify(pending(before)) !== JSON.stringify(pending(next.reminders)))
      moved = { old: pending(before), new: pending(next.reminders) };
  }
  return applied(
    state,
    e.aggregate_id,
    { tags },
    {
      data: {
        changes,
        ...(e.data.follows_user !== undefined ? { follows_user: e.data.follows_user } : {}),
        ...(e.data.skip ? { skip: true as const } : {}),
        ...(e.data.zone_moves_reminders ? { zone_moves_reminders: true as const } : {}),
        ...(moved ? { moved_reminders: moved } : {}),
      },
      summary: skipped ? `skipped the occurrence at ${skipped} of "${task.title}"` : `updated ${Object.keys(changes).sort().join(", ")}`,
      taskId: task.id,
    },
    next,
  );
};

const statusChange =
  (status: Task["status"]): Rule<"task.completed" | "task.uncompleted"> =>
  (state, e) => {
    const task = state.tasks.get(e.aggregate_id);
    if (!task) return missing(e.aggregate_id);
    const completedAt = "completed_at" in e.data ? e.data.completed_at : null;
    const updatedAt = instant(e.timestamp) > instant(task.updated_at) ? e.timestamp : task.updated_at;
    const summary = status === "completed" ? `completed "${task.title}"` : `reopened "${task.title}"`;
    return applied(
      state,
      e.aggregate_id,
      {},
      { summary, taskId: task.id },
      { ...task, status, completed_at: completedAt, updated_at: updatedAt },
    );
  };

/**
 * A deleted series stops, and its pending instances lose the reminders that have not fired. Only
 * the instances in the state are touched (the processors load a deleted task's pending instances).
 * Its instances still to come are then deleted by events of their own (instancesEndedWithSeries in
 * series.ts, made by the processors right after this one); logs from before that replay as before.
 */
const taskDeleted: Rule<"task.deleted"> = (state, e) => {
  const task = state.tasks.get(e.aggregate_id);
  if (!task) return missing(e.aggregate_id);
  let tasks = state.tasks;
  if (task.recurrence_rule !== null)
    for (const [id, t] of state.tasks) {
      if (t?.parent_task_id !== task.id || t.status !== "pending" || !t.reminders.some((r) => !r.notified)) continue;
      if (tasks === state.tasks) tasks = copy(tasks);
      (tasks as Map<string, Task | null>).set(id, { ...t, reminders: t.reminders.filter((r) => r.notified) });
    }
  return applied(state, e.aggregate_id, { tasks }, { summary: `deleted "${task.title}"`, taskId: task.id }, null);
};

const spawned: Rule<"recurring.spawned"> = (state, e) => {
  const parentId = e.data.task.parent_task_id;
  const parent = parentId ? state.tasks.get(parentId) : undefined;
  // The series was deleted after the spawn was decided: nothing to spawn (a spawn written before
  // `strict` was refused as not found, and replays so).
  if (parentId && !parent && e.data.strict) return skipped(`series ${parentId} no longer exists`);
  if (!parentId || !parent) return missing(parentId ?? "(none)");
  if (state.tasks.get(e.aggregate_id) || state.taken?.has(e.aggregate_id)) return skipped(`instance ${e.aggregate_id} already spawned`);
  // The series' next occurrence, or a later one of its rule (the scheduler caught up on missed
  // ones). A spawn decided before the series moved (a skip, a timezone move, an edited rule, its
  // end) is for no occurrence of it any more: its instance would be a stray, or a second one.
  let base = state;
  if (e.data.strict) {
    if (!isNextOrLater(parent, e.data.occurrence))
      return skipped(`occurrence ${e.data.occurrence} is no longer the next of series ${parentId}`);
    base = withTask(state, parentId, { ...parent, next_occurrence: e.data.parent_next_occurrence });
  } else if (parent.next_occurrence !== null && instant(parent.next_occurrence) <= instant(e.data.occurrence)) {
    // A spawn written before `strict`: it makes its instance, and moves the series only forward.
    base = withTask(state, parentId, { ...parent, next_occurrence: e.data.parent_next_occurrence });
  }
  const { names, tags } = withTags(base, e.data.task.tags, e.event_id, e.timestamp);
  const instance = { ...createdTask(e.user_id, e.aggregate_id, e.data.task, e.timestamp), tags: names };
  return applied(
    base,
    e.aggregate_id,
    { tags },
    { summary: `new occurrence of "${e.data.task.title}" at ${e.data.occurrence}`, taskId: instance.id },
    instance,
  );
};

/** Whether `occurrence` is the series' next one, or a later one of its rule (a caught-up spawn). */
function isNextOrLater(series: Task, occurrence: string): boolean {
  if (series.next_occurrence === null || instant(occurrence) < instant(series.next_occurrence)) return false;
  // after_completion: the next instance is due at the rule's first occurrence after a completion, whenever that is.
  if (instant(occurrence) === instant(series.next_occurrence) || series.recurrence_mode === "after_completion") return true;
  if (series.recurrence_rule === null) return false;
  try {
    const at = nextOccurrence(series.recurrence_rule, seriesStart(series), series.timezone, new Date(instant(occurrence) - 1));
    return at?.getTime() === instant(occurrence);
  } catch {
    return false; // a rule that cannot be evaluated spawns nothing
  }
}

const skippedOccurrence: Rule<"recurring.skipped"> = (state, e) => {
  const task = state.tasks.get(e.aggregate_id);
  if (!task) return missing(e.aggregate_id);
  if (task.next_occurrence === null || instant(task.next_occurrence) !== instant(e.data.occurrence))
    return rejected("conflict", `occurrence ${e.data.occurrence} is not the series' next one (skipped or spawned already)`);
  return applied(
    state,
    e.aggregate_id,
    {},
    { summary: `skipped the occurrence at ${e.data.occurrence} of "${task.title}"`, taskId: task.id },
    { ...task, next_occurrence: e.data.next_occurrence },
  );
};

const reminderCreated: Rule<"reminder.created"> = (state, e) => {
  const task = state.tasks.get(e.aggregate_id);
  if (!task) return missing(e.aggregate_id);
  const r = e.data.reminder;
  const known = task.reminders.some((x) => x.id === r.id);
  const reminders = known ? task.reminders : [...task.reminders, { ...r, notified: false, created_at: e.timestamp }];
  return applied(
    state,
    e.aggregate_id,
    {},
    { summary: `reminder at ${r.remind_at} on "${task.title}"`, taskId: task.id },
    { ...task, reminders },
  );
};

const reminderDeleted: Rule<"reminder.deleted"> = (state, e) => {
  const task = state.tasks.get(e.aggregate_id);
  if (!task) return missing(e.aggregate_id);
  if (!task.reminders.some((r) => r.id === e.data.reminder_id))
    return rejected("not_found", `reminder ${e.data.reminder_id} does not exist (deleted already)`);
  const reminders = task.reminders.filter((r) => r.id !== e.data.reminder_id);
  return applied(
    state,
    e.aggregate_id,
    {},
    { summary: `removed a reminder from "${task.title}"`, taskId: task.id },
    { ...task, reminders },
  );
};

/** A reminder notifies once, and only while its task is pending and its time is the one the job was for. */
const reminderTriggered: Rule<"reminder.triggered"> = (state, e) => {
  const task = state.tasks.get(e.aggregate_id);
  const reminder = task?.reminders.find((r) => r.id === e.data.reminder_id);
  if (!task || !reminder || reminder.notified || task.status !== "pending" || instant(reminder.remind_at) !== instant(e.data.remind_at))
    return skipped(`reminder ${e.data.reminder_id} already notified, cancelled or its task is done`);
  const reminders = task.reminders.map((r) => (r.id === reminder.id ? { ...r, notified: true, notified_at: e.data.fired_at } : r));
  return applied(
    state,
    e.aggregate_id,
    {},
    { summary: `reminder for "${e.data.title}"${e.data.late ? " (late)" : ""}`, taskId: task.id },
    { ...task, reminders },
  );
};

const blankTag = (): Outcome => rejected("invalid", "a tag name must not be blank", "name");

/** Tags are unique per user by name (trimmed), case-insensitively. */
const tagCreated: Rule<"tag.created"> = (state, e) => {
  const name = tagName(e.data.name);
  if (name === null) return blankTag();
  const tags = state.tags ?? new Map<string, Tag>();
  if (tags.has(e.aggregate_id) || byName(tags, name)) return rejected("conflict", `tag "${name}" or id ${e.aggregate_id} already exists`);
  const next = copy(tags);
  next.set(e.aggregate_id, {
    id: e.aggregate_id,
    name,
    color: e.data.color,
    created_at: e.timestamp,
    updated_at: e.timestamp,
  });
  return applied(state, e.aggregate_id, { tags: next }, { summary: `created tag "${name}"` });
};

/** Tasks show tags by name: a renamed or deleted tag changes the tasks that carry it. */
function retagTasks(state: UserState, from: string, to: string | null): UserState["tasks"] {
  let tasks = state.tasks;
  for (const [id, task] of state.tasks) {
    const names = task && retagged(task.tags, from, to);
    if (!task || !names) continue;
    if (tasks === state.tasks) tasks = copy(tasks);
    (tasks as Map<string, Task | null>).set(id, { ...task, tags: names });
  }
  return tasks;
}

const tagUpdated: Rule<"tag.updated"> = (state, e) => {
  const tag = state.tags?.get(e.aggregate_id);
  if (!tag || !state.tags) return rejected("not_found", `tag ${e.aggregate_id} does not exist`);
  const written = e.data.changes.name?.new;
  const name = written !== undefined ? tagName(written) : undefined;
  if (name === null) return blankTag();
  const clash = name !== undefined ? byName(state.tags, name) : undefined;
  if (clash && clash.id !== tag.id) return rejected("conflict", `another tag is already named "${name}"`);
  const color = e.data.changes.color ? e.data.changes.color.new : tag.color;
  const next = copy(state.tags);
  next.set(tag.id, { ...tag, name: name ?? tag.name, color, updated_at: e.timestamp });
  const changes = {
    ...(name !== undefined ? { name: { old: tag.name, new: name } } : {}),
    ...(e.data.changes.color ? { color: { old: tag.color, new: color } } : {}),
  };
  const tasks = name !== undefined ? retagTasks(state, tag.name, name) : state.tasks;
  return applied(state, e.aggregate_id, { tags: next, tasks }, { data: { changes }, summary: `renamed or recoloured tag "${tag.name}"` });
};

const tagDeleted: Rule<"tag.deleted"> = (state, e) => {
  const tag = state.tags?.get(e.aggregate_id);
  if (!tag || !state.tags) return rejected("not_found", `tag ${e.aggregate_id} does not exist (deleted already)`);
  const next = copy(state.tags);
  next.delete(tag.id);
  return applied(
    state,
    e.aggregate_id,
    { tags: next, tasks: retagTasks(state, tag.name, null) },
    { data: { name: tag.name }, summary: "deleted a tag" },
  );
};

const settingsUpdated: Rule<"settings.updated"> = (state, e) => {
  const timezone = e.data.changes.timezone.new;
  return applied(
    state,
    e.aggregate_id,
    { timezone },
    { data: { changes: { timezone: { old: state.timezone, new: timezone } } }, summary: `timezone set to ${timezone}` },
  );
};

const ON_TASK = /^(task|reminder|recurring)\./;
const ON_ID = /^(task|reminder|recurring|tag)\./;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** write.rejected counts as one of its aggregate's versions (a task's history shows it). */
const writeRejected: Rule<"write.rejected"> = (state, e) => {
  const task = ON_TASK.test(e.data.event_type) ? state.tasks.get(e.aggregate_id) : undefined;
  const summary = `${e.data.event_type} not applied (${e.data.reason}): ${e.data.message}`.slice(0, 500);
  return applied(state, e.aggregate_id, {}, { summary, ...(task ? { taskId: task.id } : {}) }, task ?? undefined);
};

const rules: { [K in TaskEvent["event_type"]]: Rule<K> } = {
  "task.created": taskCreated,
  "task.updated": taskUpdated,
  "task.completed": statusChange("completed"),
  "task.uncompleted": statusChange("pending"),
  "task.deleted": taskDeleted,
  "recurring.spawned": spawned,
  "recurring.skipped": skippedOccurrence,
  "reminder.created": reminderCreated,
  "reminder.deleted": reminderDeleted,
  "reminder.triggered": reminderTriggered,
  "tag.created": tagCreated,
  "tag.updated": tagUpdated,
  "tag.deleted": tagDeleted,
  "settings.updated": settingsUpdated,
  "write.rejected": writeRejected,
};

/**
 * `own` (evolveBatch's): maps the rules may change in place, because nobody but the caller holds
 * them or any state made from them before this event. Without it, evolve changes nothing it is given.
 */
export function evolve(state: UserState, event: TaskEvent, own?: WeakSet<object>): Outcome {
  owned = own;
  try {
    return evolveOne(state, event);
  } finally {
    owned = undefined;
  }
}

function evolveOne(state: UserState, event: TaskEvent): Outcome {
  // Tasks and tags are named by uuids; any other id names nothing that could ever exist.
  if (ON_ID.test(event.event_type) && !UUID.test(event.aggregate_id))
    return rejected("invalid", `cannot be applied: ${event.event_type} names "${event.aggregate_id.slice(0, 64)}", which is not a uuid`);
  // The map pairs each type with its rule, so the event always fits the rule it selects.
  const rule = rules[event.event_type] as (state: UserState, event: TaskEvent) => Outcome;
  return rule(state, event);
}
