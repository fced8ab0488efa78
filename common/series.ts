/**
 * Rules of recurring series shared by the processors and the scheduler (pure, no I/O): where a
 * series starts, and how a user's timezone change moves the series that followed the old zone.
 */
import { DateTime, Duration } from "luxon";
import {
  type EventOf,
  isInstantInRange,
  LIMITS,
  newEvent,
  type RecurrenceMode,
  type ReminderSpec,
  type TaskChanges,
  type TaskEvent,
  type TaskFields,
} from "./contracts/index.ts";
import { nameBasedUuid } from "./ids.ts";
import { nextOccurrence, occurrencesAfter } from "./recurrence.ts";
import { MAX_REMINDER_LEAD_DAYS, reminderFireTime } from "./reminder-time.ts";

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
  // Its wall-clock time, unless that is an instant out of range (a due date near 1970 or 9999):
  // then its instant, which still is one.
  const moved = task.due_date ? keepLocal(task.due_date) : null;
  const due = moved && isInstantInRange(moved.getTime()) ? moved.toISOString() : task.due_date;
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
  /** after_completion: next_occurrence is the current instance's due date, which a move leaves alone. */
  recurrence_mode?: RecurrenceMode;
}

/**
 * One task.updated per series that followed the user's old timezone (`tasks` are the user's
 * recurring tasks in `oldZone`), moving it to `newZone`. Its timestamp is the settings change's,
 * or the task's last change when that is later, so the move never loses last-write-wins to an
 * earlier edit while a user's later edit still wins over it. Made one at a time, as they are taken
 * (a user's thousand series are a thousand moves).
 */
export function* timezoneMoveEvents(
  settings: Pick<EventOf<"settings.updated">, "event_id" | "user_id" | "correlation_id" | "timestamp">,
  newZone: string,
  tasks: readonly FollowingSeries[],
  now: Date,
): Generator<EventOf<"task.updated">> {
  for (const task of tasks) {
    const changes = moveSeries(task, newZone, now);
    if (task.recurrence_mode === "after_completion") {
      delete changes.next_occurrence;
      // Still its own current instance: its next_occurrence is its own start, which moved.
      if (changes.due_date && isOwnCurrentInstance(task))
        changes.next_occurrence = { old: task.next_occurrence, new: changes.due_date.new };
    }
    if (Object.keys(changes).length === 0) continue;
    const timestamp = new Date(Math.max(Date.parse(settings.timestamp), Date.parse(task.updated_at))).toISOString();
    yield newEvent(
      "task.updated",
      {
        user_id: settings.user_id,
        aggregate_id: task.id,
        correlation_id: settings.correlation_id,
        event_id: timezoneMoveEventId(settings.event_id, task.id),
        timestamp,
      },
      { changes, follows_user: true },
    );
  }
}

/**
 * The moves a timezone change makes (see timezoneMoveEvents): of `tasks` (any of the user's), the
 * recurring ones that followed the old zone, i.e. are in it and were not given a zone of their own.
 */
export function movesWithUserZone(
  settings: Pick<EventOf<"settings.updated">, "event_id" | "user_id" | "correlation_id" | "timestamp" | "data">,
  tasks: Iterable<FollowingSeries & { follows_user_timezone?: boolean | null }>,
  now: Date,
): Iterable<EventOf<"task.updated">> {
  const { old, new: zone } = settings.data.changes.timezone;
  if (old === zone) return [];
  const following = [...tasks].filter((t) => t.recurrence_rule !== null && t.timezone === old && t.follows_user_timezone !== false);
  return timezoneMoveEvents(settings, zone, following, now);
}

/** A reminder of a series as its instances copy it (the series' own reminders: `before` or `at`). */
export interface SeriesReminder {
  id: string;
  before?: string | null;
  at?: string | null;
}

/** Milliseconds of an ISO-8601 duration (days as 24 h; RECURRENCE_LEAD). Throws on an invalid one. */
export function durationMs(iso: string): number {
  const d = Duration.fromISO(iso);
  if (!d.isValid) throw new RangeError(`"${iso}" is not an ISO-8601 duration`);
  return d.as("milliseconds");
}

/**
 * The `before` offset an instance carries for one reminder of its series: a `before` one as it
 * is; an `at` one as its distance before the series' first due date (an `at` on or after that
 * date, or on a series without a due date, has no equivalent and is not copied).
 */
export function instanceBefore(r: SeriesReminder, seriesDue: string | null): string | null {
  if (r.before) return r.before;
  if (!r.at || !seriesDue) return null;
  const ms = Date.parse(seriesDue) - Date.parse(r.at);
  if (!(ms >= 1000)) return null;
  return Duration.fromMillis(Math.floor(ms / 1000) * 1000)
    .shiftTo("hours", "minutes", "seconds")
    .toISO() as string;
}

/** The instance of `seriesId` due at `occurrence`: one id per series and occurrence, whoever spawns it. */
export const instanceId = (seriesId: string, occurrence: Date | string): string =>
  nameBasedUuid("taskstream-scheduler", `instance:${seriesId}.${new Date(occurrence).getTime()}`);

/** The recurring.spawned event's id for that instance (a redelivered spawn is one event). */
export const spawnEventId = (seriesId: string, occurrence: Date | string): string =>
  nameBasedUuid("taskstream-scheduler", `event:occurrence:${seriesId}.${new Date(occurrence).getTime()}`);

/** The reminders an instance gets: its series' reminders as `before` offsets of its own due date, with ids derived from the instance. */
export function instanceReminders(
  instance: string,
  occurrence: Date,
  timezone: string,
  seriesDue: string | null,
  reminders: readonly SeriesReminder[],
): ReminderSpec[] {
  const out: ReminderSpec[] = [];
  for (const r of reminders) {
    const before = instanceBefore(r, seriesDue);
    if (!before) continue;
    const at = reminderFireTime({ kind: "before", before }, occurrence, timezone) as Date;
    out.push({ id: nameBasedUuid(instance, `reminder:${r.id}`), before, remind_at: at.toISOString() });
  }
  return out.slice(0, LIMITS.remindersPerTask);
}

/** Room left between spawning an instance and its earliest reminder, so that one is not late by the spawn's own delivery. */
export const REMINDER_MARGIN_MS = 60_000;

/**
 * How far ahead of `occurrence` its instance is spawned: RECURRENCE_LEAD (`minLeadMs`), or the
 * series' largest reminder offset plus a margin (min(RECURRENCE_LEAD, 1 min)) when that is
 * larger, measured at this occurrence in the series' zone ("P1D" before 09:00 is 09:00 the day
 * before, across DST too).
 */
export function spawnLeadMs(
  occurrence: Date,
  timezone: string,
  seriesDue: string | null,
  reminders: readonly SeriesReminder[],
  minLeadMs: number,
): number {
  let lead = minLeadMs;
  for (const r of reminders) {
    const before = instanceBefore(r, seriesDue);
    if (!before) continue;
    const at = reminderFireTime({ kind: "before", before }, occurrence, timezone) as Date;
    lead = Math.max(lead, occurrence.getTime() - at.getTime() + Math.min(minLeadMs, REMINDER_MARGIN_MS));
  }
  return lead;
}

/** A series as the spawn time needs it. */
export interface SpawningSeries {
  timezone: string;
  due_date: string | null;
  created_at: string;
  recurrence_rule: string;
  reminders: readonly SeriesReminder[];
}

/**
 * Most instances of one series ahead of their due time at once: a `before` reminder reaching
 * further than this many occurrences fires late (a daily series with a reminder a year ahead
 * would otherwise hold 365 instances).
 */
export const MAX_INSTANCES_AHEAD = 31;

/**
 * When the instance due at `occurrence` is spawned: its lead time before it (spawnLeadMs). By
 * RECURRENCE_LEAD alone never before the series' previous occurrence is due, so one instance of a
 * series is ahead of its due time (a daily series spawns tomorrow's when today's falls due, also
 * across a 23 h DST day). A reminder that reaches further spawns it as early as the reminder
 * needs (CONTRACT.md: an instance exists ahead of its largest `before` reminder), so several are
 * ahead, at most MAX_INSTANCES_AHEAD.
 */
export function spawnTime(series: SpawningSeries, occurrence: Date, minLeadMs: number): Date {
  const needed = spawnLeadMs(occurrence, series.timezone, series.due_date, series.reminders, minLeadMs);
  if (needed <= 0) return occurrence;
  // Reminders are at most MAX_REMINDER_LEAD_DAYS ahead (an `at` reminder of the series, counted
  // as an offset, may be more): a day more keeps the search below its 400 daily occurrences.
  const lead = Math.min(needed, (MAX_REMINDER_LEAD_DAYS + 1) * 86_400_000);
  const from = occurrence.getTime() - lead;
  // The occurrences due within the lead before this one (the series' own start among them).
  const start = seriesStart(series);
  const earlier = occurrencesAfter(series.recurrence_rule, start, series.timezone, new Date(from - 1), 400, occurrence).map((d) =>
    d.getTime(),
  );
  if (start.getTime() > from && start.getTime() < occurrence.getTime() && earlier[0] !== start.getTime()) earlier.unshift(start.getTime());
  const ahead = needed > minLeadMs ? MAX_INSTANCES_AHEAD : 1;
  const floor = earlier.length >= ahead ? (earlier[earlier.length - ahead] as number) : from;
  return new Date(Math.max(from, floor));
}

/** What an instance is made from: its series as the projection holds it. */
export interface SpawnSource {
  id: string;
  user_id: string;
  title: string;
  description: string | null;
  priority: TaskFields["priority"];
  due_date: string | null;
  timezone: string;
  tags: readonly string[];
  reminders: readonly SeriesReminder[];
}

/**
 * The recurring.spawned event that makes `series`' instance due at `occurrence` (the scheduler's
 * for a `schedule` series, the processors' for an `after_completion` one): instance id and event
 * id derive from the series and the occurrence, so it is made once however often it is asked for.
 */
export function spawnedEvent(
  series: SpawnSource,
  occurrence: Date,
  parentNext: Date | null,
  late: boolean,
  meta: { timestamp: string; correlation_id: string },
): EventOf<"recurring.spawned"> {
  const instance = instanceId(series.id, occurrence);
  return newEvent(
    "recurring.spawned",
    {
      user_id: series.user_id,
      aggregate_id: instance,
      correlation_id: meta.correlation_id,
      event_id: spawnEventId(series.id, occurrence),
      timestamp: meta.timestamp,
    },
    {
      occurrence: occurrence.toISOString(),
      parent_next_occurrence: parentNext?.toISOString() ?? null,
      late,
      strict: true,
      task: {
        title: series.title,
        description: series.description,
        priority: series.priority,
        due_date: occurrence.toISOString(),
        timezone: series.timezone,
        recurrence_rule: null,
        next_occurrence: null,
        parent_task_id: series.id,
        tags: [...series.tags],
        reminders: instanceReminders(instance, occurrence, series.timezone, series.due_date, series.reminders),
      },
    },
  );
}

/** A task as the after_completion rule needs it (the domain's Task fits). */
export interface SeriesState extends SpawnSource {
  status: string;
  created_at: string;
  recurrence_rule: string | null;
  recurrence_mode?: RecurrenceMode;
  next_occurrence: string | null;
  parent_task_id: string | null;
  completed_at: string | null;
}

/**
 * Whether an after_completion series is still its own current instance: created, not completed
 * yet, no instance spawned. Its next_occurrence is then exactly its own start (every instance is
 * due after the start it was spawned from, so a spawn moves next_occurrence off it).
 */
export const isOwnCurrentInstance = (series: Pick<SeriesState, "next_occurrence" | "due_date" | "created_at">): boolean =>
  series.next_occurrence !== null && Date.parse(series.next_occurrence) === seriesStart(series).getTime();

/**
 * after_completion series make their instances here, in the processors' batch, right after the
 * event that calls for one (the same transaction). A new series is its own first instance (the
 * contract: the next instance appears when the current one is completed); completing it spawns
 * instance 1. Instance k+1 follows when the current instance k is completed or deleted (a deleted
 * one can never be completed), due at the rule's first occurrence after that (or after k's own
 * due date, when earlier). A series switched to after_completion from `schedule` spawns its first
 * instance at once. The series' next_occurrence is its current instance's due date, so a second
 * completion of k (after reopening it) spawns nothing, and a redelivered one is a duplicate
 * event. `was`: the event's task as it was before it (a deleted instance is gone after it).
 */
export function afterCompletionSpawns(
  applied: Pick<TaskEvent, "event_type" | "aggregate_id" | "timestamp" | "correlation_id"> & { data: unknown },
  tasks: ReadonlyMap<string, SeriesState | null>,
  was?: SeriesState | null,
): EventOf<"recurring.spawned">[] {
  const meta = { timestamp: applied.timestamp, correlation_id: applied.correlation_id };
  const isAfterCompletion = (t: SeriesState) => t.recurrence_rule !== null && t.recurrence_mode === "after_completion";
  const task = tasks.get(applied.aggregate_id);
  if (task && (applied.event_type === "task.created" || applied.event_type === "task.updated")) {
    if (!isAfterCompletion(task) || task.next_occurrence === null || isOwnCurrentInstance(task)) return [];
    // A task.created decided before series were their own first instance (a log or fallback queue
    // from an earlier version) carries its first instance's due date: that instance comes with it.
    if (applied.event_type === "task.updated" && !(applied.data as { changes: TaskChanges }).changes.recurrence_mode) return [];
    const first = new Date(task.next_occurrence);
    return [spawnedEvent(task, first, first, false, meta)];
  }
  const spawnAfter = (series: SeriesState, ended: { due: number; completed_at: string | null }) => {
    const endedAt = Date.parse(ended.completed_at ?? applied.timestamp);
    const after = new Date(Math.max(endedAt, ended.due));
    const next = nextOccurrence(series.recurrence_rule as string, seriesStart(series), series.timezone, after);
    return next ? [spawnedEvent(series, next, next, false, meta)] : [];
  };
  if (applied.event_type === "task.completed" && task && !task.parent_task_id && isAfterCompletion(task) && isOwnCurrentInstance(task))
    return spawnAfter(task, { due: seriesStart(task).getTime(), completed_at: task.completed_at });
  const ended = applied.event_type === "task.completed" ? task : applied.event_type === "task.deleted" ? was : undefined;
  if (!ended?.parent_task_id || !ended.due_date) return [];
  const series = tasks.get(ended.parent_task_id);
  if (!series || !isAfterCompletion(series) || series.next_occurrence === null) return [];
  if (Date.parse(series.next_occurrence) !== Date.parse(ended.due_date)) return [];
  return spawnAfter(series, { due: Date.parse(ended.due_date), completed_at: ended.completed_at });
}

/**
 * A deleted series takes its instances still to come with it: those pending and due after the
 * deletion. They exist ahead of their due time only so that their reminders fire on time, so to
 * the user they are the "future recurrences" the deletion cancels, as much as the ones not spawned
 * yet. Each goes by a task.deleted of its own (its version, its seq, on every client), named by
 * the deletion, so a redelivered batch makes the same ones. Instances already due stay: they are
 * occurrences that came, kept until the user completes or deletes them.
 */
export function instancesEndedWithSeries(
  applied: Pick<TaskEvent, "event_id" | "event_type" | "user_id" | "timestamp" | "correlation_id">,
  tasks: ReadonlyMap<string, SeriesState | null>,
  was: SeriesState | null,
): EventOf<"task.deleted">[] {
  if (applied.event_type !== "task.deleted" || was === null || was.recurrence_rule === null || was.parent_task_id !== null) return [];
  const deletedAt = Date.parse(applied.timestamp);
  const ended: EventOf<"task.deleted">[] = [];
  for (const t of tasks.values()) {
    if (t?.parent_task_id !== was.id || t.status !== "pending" || t.due_date === null || Date.parse(t.due_date) <= deletedAt) continue;
    const ctx = {
      user_id: applied.user_id,
      aggregate_id: t.id,
      correlation_id: applied.correlation_id,
      event_id: nameBasedUuid("taskstream-series", `deleted:${applied.event_id}:${t.id}`),
      timestamp: applied.timestamp,
    };
    ended.push(newEvent("task.deleted", ctx, {}));
  }
  return ended;
}
