/**
 * Event contracts: the envelope and every event type, as TypeBox schemas. The broker's log, the
 * event store, the history API, the WebSocket and the polling fallback all carry this envelope.
 * JSON Schema files generated from here live in redpanda/schemas/ (test: redpanda/schemas.test.ts).
 */
import { type Static, type TLiteral, type TObject, type TSchema, Type } from "@sinclair/typebox";
import { Text } from "./text.ts";

/**
 * Fields added since keep older events' meaning: where a rule changed, it reads a field only new
 * events carry (`follows_user`, `strict`), so a log written before replays as it was applied.
 */
export const SCHEMA_VERSION = "1.0.0";

const Uuid = Type.String({ format: "uuid" });
const Instant = Type.String({ format: "date-time" });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/**
 * The limits of a task's and a tag's fields, one place for the API's requests (ingest/schemas.ts)
 * and the events. Text counts characters (code points), as PostgreSQL does.
 */
export const LIMITS = {
  title: 500,
  description: 10_000,
  tagName: 64,
  tagColor: 32,
  tagsPerTask: 50,
  timezone: 64,
  recurrenceRule: 500,
  reminderOffset: 64,
  /** Reminders one task holds at most (notified ones included: they stay on the task). */
  remindersPerTask: 20,
} as const;
export const Priority = Type.Union([Type.Literal("low"), Type.Literal("medium"), Type.Literal("high"), Type.Literal("urgent")]);
export type Priority = Static<typeof Priority>;

/** A reminder as events carry it: `before` (ISO-8601 duration before due_date) or `at`, plus the resolved instant. */
export const ReminderSpec = Type.Object(
  {
    id: Uuid,
    before: Type.Optional(Type.String({ minLength: 2, maxLength: LIMITS.reminderOffset })),
    at: Type.Optional(Instant),
    remind_at: Instant,
  },
  { additionalProperties: false },
);
export type ReminderSpec = Static<typeof ReminderSpec>;

/**
 * How a series makes its instances: `schedule` by the clock, independent of completion;
 * `after_completion` the next one when the current one is completed (CONTRACT.md "Recurring series").
 */
export const RecurrenceMode = Type.Union([Type.Literal("schedule"), Type.Literal("after_completion")]);
export type RecurrenceMode = Static<typeof RecurrenceMode>;

/** The fields a task is created with; task.created and recurring.spawned carry them whole. */
export const TaskFields = Type.Object(
  {
    title: Text({ minLength: 1, maxLength: LIMITS.title }),
    description: Nullable(Text({ maxLength: LIMITS.description })),
    priority: Priority,
    due_date: Nullable(Instant),
    timezone: Type.String({ minLength: 1, maxLength: LIMITS.timezone }),
    recurrence_rule: Nullable(Type.String({ maxLength: LIMITS.recurrenceRule })),
    /** Absent (events written before the field existed): `schedule`. */
    recurrence_mode: Type.Optional(Type.Union([Type.Literal("schedule"), Type.Literal("after_completion")], { default: "schedule" })),
    next_occurrence: Nullable(Instant),
    parent_task_id: Nullable(Uuid),
    tags: Type.Array(Text({ minLength: 1, maxLength: LIMITS.tagName }), { maxItems: LIMITS.tagsPerTask }),
    reminders: Type.Array(ReminderSpec, { maxItems: LIMITS.remindersPerTask }),
  },
  { additionalProperties: false },
);
export type TaskFields = Static<typeof TaskFields>;

/** Why a write accepted with 202 was not applied (CONTRACT.md, write.rejected). */
export const RejectReason = Type.Union([
  Type.Literal("not_found"),
  Type.Literal("conflict"),
  Type.Literal("superseded"),
  Type.Literal("invalid"),
]);
export type RejectReason = Static<typeof RejectReason>;

/** Fields an update may change; each carries its old and new value. */
export const UpdatableField = Type.Union([
  Type.Literal("title"),
  Type.Literal("description"),
  Type.Literal("priority"),
  Type.Literal("due_date"),
  Type.Literal("timezone"),
  Type.Literal("recurrence_rule"),
  Type.Literal("recurrence_mode"),
  Type.Literal("next_occurrence"),
  Type.Literal("tags"),
  Type.Literal("reminders"),
]);
export type UpdatableField = Static<typeof UpdatableField>;
const changeOf = <T extends TSchema>(t: T) => Type.Object({ old: t, new: t }, { additionalProperties: false });
/** Each field's old and new value, typed as the field itself, so a value the projection cannot hold never parses. */
export const TaskChanges = Type.Object(
  {
    title: Type.Optional(changeOf(TaskFields.properties.title)),
    description: Type.Optional(changeOf(TaskFields.properties.description)),
    priority: Type.Optional(changeOf(Priority)),
    due_date: Type.Optional(changeOf(TaskFields.properties.due_date)),
    timezone: Type.Optional(changeOf(TaskFields.properties.timezone)),
    recurrence_rule: Type.Optional(changeOf(TaskFields.properties.recurrence_rule)),
    recurrence_mode: Type.Optional(changeOf(RecurrenceMode)),
    next_occurrence: Type.Optional(changeOf(TaskFields.properties.next_occurrence)),
    tags: Type.Optional(changeOf(TaskFields.properties.tags)),
    /** The task's reminders replaced (PATCH/PUT with `reminders`). */
    reminders: Type.Optional(changeOf(TaskFields.properties.reminders)),
  },
  { additionalProperties: false },
);
export type TaskChanges = Static<typeof TaskChanges>;
const TagName = Text({ minLength: 1, maxLength: LIMITS.tagName });
const TagColor = Nullable(Text({ maxLength: LIMITS.tagColor }));

const eventDataSchemas = {
  "task.created": Type.Object(
    {
      task: TaskFields,
      /**
       * true: the task's timezone is the user's, taken when the write was decided (none was
       * given), so a recurring task follows the user's timezone from then on, even a change of it
       * that reached the log first; false: the write named the task's own timezone, which it
       * keeps. Absent (events written before it was recorded): a series in the user's timezone
       * follows it.
       */
      timezone_defaulted: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  "task.updated": Type.Object(
    {
      changes: TaskChanges,
      /** Set where the event was applied: true when a later write had already won (last write wins). */
      superseded: Type.Optional(Type.Boolean()),
      /**
       * true: a move of a series with the user's timezone (the processors make it after a change
       * of that timezone); a `before` reminder that has notified and whose moved time has passed
       * stays notified. false: a `timezone` the writer chose, which the series keeps from then on
       * when the user's changes. Absent (events written before it): neither.
       */
      follows_user: Type.Optional(Type.Boolean()),
      /**
       * true: a skip of the series' next occurrence (POST …/skip-occurrence), `changes.next_occurrence.old`:
       * applies only while that is still the series' next occurrence (not skipped or spawned meanwhile).
       */
      skip: Type.Optional(Type.Literal(true)),
      /**
       * true: `before` reminders in calendar units move with a `timezone` change alone (set by the
       * writer). Absent (events written before it): a timezone change alone left them where they were.
       */
      zone_moves_reminders: Type.Optional(Type.Literal(true)),
      /**
       * Set where the event was applied, when a due date or timezone change moved the task's `before`
       * reminders: its pending reminders before and after (what a client shows). Not read when applied.
       */
      moved_reminders: Type.Optional(changeOf(TaskFields.properties.reminders)),
    },
    { additionalProperties: false },
  ),
  "task.completed": Type.Object({ completed_at: Instant }, { additionalProperties: false }),
  "task.uncompleted": Type.Object({}, { additionalProperties: false }),
  "task.deleted": Type.Object({}, { additionalProperties: false }),
  /** aggregate_id is the new instance; task.parent_task_id the recurring task, whose next_occurrence moves on. */
  "recurring.spawned": Type.Object(
    {
      occurrence: Instant,
      parent_next_occurrence: Nullable(Instant),
      late: Type.Boolean(),
      task: TaskFields,
      /**
       * true: applies only while `occurrence` is the series' next one, or a later one of its rule
       * (else it is skipped: the series moved on since it was decided). Absent (spawns written
       * before it): applies, and moves the series only forward.
       */
      strict: Type.Optional(Type.Literal(true)),
    },
    { additionalProperties: false },
  ),
  "recurring.skipped": Type.Object({ occurrence: Instant, next_occurrence: Nullable(Instant) }, { additionalProperties: false }),
  "reminder.created": Type.Object({ reminder: ReminderSpec }, { additionalProperties: false }),
  "reminder.deleted": Type.Object({ reminder_id: Uuid }, { additionalProperties: false }),
  "reminder.triggered": Type.Object(
    { reminder_id: Uuid, remind_at: Instant, fired_at: Instant, late: Type.Boolean(), title: Type.String() },
    { additionalProperties: false },
  ),
  "tag.created": Type.Object({ name: TagName, color: TagColor }, { additionalProperties: false }),
  "tag.updated": Type.Object(
    {
      changes: Type.Object(
        { name: Type.Optional(changeOf(TagName)), color: Type.Optional(changeOf(TagColor)) },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
  /** `name`: set where the event was applied, the deleted tag's name (its tasks lose it); not read when applied. */
  "tag.deleted": Type.Object({ name: Type.Optional(Type.String()) }, { additionalProperties: false }),
  "settings.updated": Type.Object(
    {
      changes: Type.Object(
        { timezone: changeOf(Type.String({ minLength: 1, maxLength: LIMITS.timezone })) },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
  /**
   * A write accepted with 202 that could not be applied, or lost last-write-wins: the user learns
   * of it like of any event. aggregate_id is the aggregate the write targeted.
   */
  "write.rejected": Type.Object(
    {
      event_id: Uuid,
      event_type: Type.String({ minLength: 1, maxLength: 64 }),
      correlation_id: Uuid,
      reason: RejectReason,
      message: Type.String({ maxLength: 1000 }),
    },
    { additionalProperties: false },
  ),
} as const;

export type EventType = keyof typeof eventDataSchemas;

/**
 * Optional, additive metadata of an event (schema 1.x stays compatible: absent unless tracing is
 * on). `trace_id` / `span_id` name the span that wrote the event (W3C trace context, lowercase
 * hex), so a client can report the trace of a write it received.
 */
export const EventMetadata = Type.Object(
  {
    trace_id: Type.Optional(Type.String({ pattern: "^[0-9a-f]{32}$" })),
    span_id: Type.Optional(Type.String({ pattern: "^[0-9a-f]{16}$" })),
  },
  { additionalProperties: false },
);
export type EventMetadata = Static<typeof EventMetadata>;
export const EVENT_TYPES = Object.keys(eventDataSchemas) as EventType[];

function envelope<K extends EventType>(type: K): TObject {
  return Type.Object(
    {
      event_id: Uuid,
      event_type: Type.Literal(type) as TLiteral<K>,
      schema_version: Type.String({ pattern: "^1\\.\\d+\\.\\d+$" }),
      user_id: Type.String({ minLength: 1, maxLength: 128 }),
      /** task id for task and reminder events, tag id for tag events, user id for settings. */
      aggregate_id: Type.String({ minLength: 1, maxLength: 128 }),
      /** Events per aggregate; assigned where the event is applied. */
      version: Type.Optional(Type.Integer({ minimum: 1 })),
      /** Events per user, strictly by one; assigned where the event is applied. */
      seq: Type.Optional(Type.Integer({ minimum: 1 })),
      timestamp: Instant,
      correlation_id: Uuid,
      data: eventDataSchemas[type],
      /** Observability metadata (trace of the write); optional, clients ignore what they do not know. */
      metadata: Type.Optional(EventMetadata),
    },
    { $id: `taskstream/${type}`, title: type, additionalProperties: false },
  );
}

export const eventSchemas = Object.fromEntries(EVENT_TYPES.map((t) => [t, envelope(t)])) as Record<EventType, TObject>;
export const TaskEvent = Type.Union(
  EVENT_TYPES.map((t) => eventSchemas[t]),
  { $id: "taskstream/event", title: "TaskEvent" },
);

/**
 * What clients receive (wire.ts: the WebSocket, the polling API): an applied event, so with
 * `version` and `seq`, plus `type` (= event_type).
 */
export const WireEvent = Type.Union(
  EVENT_TYPES.map((t) =>
    Type.Object(
      {
        type: Type.Literal(t),
        ...eventSchemas[t].properties,
        version: Type.Integer({ minimum: 1 }),
        seq: Type.Integer({ minimum: 1 }),
      },
      { title: `${t} (as received)`, additionalProperties: false },
    ),
  ),
  { $id: "taskstream/wire-event", title: "WireEvent" },
);

type DataOf<K extends EventType> = Static<(typeof eventDataSchemas)[K]>;
/** One event of type K. `TaskEvent` (below) is the union on `event_type`. */
export interface EventOf<K extends EventType> {
  event_id: string;
  event_type: K;
  schema_version: string;
  user_id: string;
  aggregate_id: string;
  version?: number;
  seq?: number;
  timestamp: string;
  correlation_id: string;
  data: DataOf<K>;
  metadata?: EventMetadata;
}
export type TaskEvent = { [K in EventType]: EventOf<K> }[EventType];
/** An event after the processors applied it: seq and version are always there. */
export type AppliedEvent = TaskEvent & { seq: number; version: number };
