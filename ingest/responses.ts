/**
 * The bodies ingest answers with, as JSON Schema for /openapi.json (clients generate types from
 * it). They describe; nothing validates answers at run time: writes.int.test.ts checks live
 * answers of every route against them (objects are closed), so a field added to an answer fails
 * there until it is written here.
 */
import { type TSchema, Type } from "@sinclair/typebox";
import { Priority, RecurrenceMode } from "../common/contracts/index.ts";

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Instant = Type.String({ format: "date-time" });
const Id = Type.String({ format: "uuid" });
const object = (title: string, properties: Record<string, TSchema>) => Type.Object(properties, { title, additionalProperties: false });
const NextCursor = Nullable(Type.String({ description: "Pass as `cursor` for the next page; null on the last page" }));
const Written = {
  event_id: Id,
  correlation_id: Id,
  queued: Type.Boolean({ description: "true when the broker was down and the write waits in the fallback queue" }),
};

const Reminder = object("Reminder", {
  id: Id,
  before: Type.Optional(Type.String({ description: "ISO 8601 duration before the due date" })),
  at: Type.Optional(Instant),
  remind_at: Instant,
  notified: Type.Boolean(),
});

const Task = object("Task", {
  id: Id,
  user_id: Type.String(),
  title: Type.String(),
  description: Nullable(Type.String()),
  status: Type.Union([Type.Literal("pending"), Type.Literal("completed")]),
  priority: Priority,
  due_date: Nullable(Instant),
  timezone: Type.String({ description: "IANA timezone the task's recurrence and wall-clock times follow" }),
  recurrence_rule: Nullable(Type.String()),
  recurrence_mode: RecurrenceMode,
  next_occurrence: Nullable(Instant),
  parent_task_id: Nullable(Id),
  tags: Type.Array(Type.String(), { description: "Tag names, sorted" }),
  reminders: Type.Array(Reminder, { description: "Reminders not fired yet, soonest first" }),
  version: Type.Integer({ minimum: 1 }),
  created_at: Instant,
  updated_at: Instant,
  completed_at: Nullable(Instant),
});

const Tag = object("Tag", {
  id: Id,
  name: Type.String(),
  color: Nullable(Type.String()),
  created_at: Instant,
});

const Settings = object("Settings", { timezone: Type.String() });

const TaskReminder = Type.Composite([Reminder, Type.Object({ task_id: Id })], { additionalProperties: false });

/** An array of the event schema `name` of /openapi.json's components (TaskEvent, WireEvent: common/contracts). */
const eventsOf = (name: "TaskEvent" | "WireEvent") => ({ type: "array", items: { $ref: `#/components/schemas/${name}` } });

/** Response bodies by route. Events are referred to, not inlined; the rest are TypeBox schemas. */
export const responses = {
  taskWrite: object("TaskWrite", {
    task: Task,
    ...Written,
    event_id: Nullable(Id),
  }),
  task: object("TaskBody", { task: Task }),
  taskList: object("TaskList", { tasks: Type.Array(Task), next_cursor: NextCursor }),
  reminderWrite: object("ReminderWrite", { reminder: TaskReminder, ...Written }),
  reminderList: object("ReminderList", { reminders: Type.Array(TaskReminder), next_cursor: NextCursor }),
  tagWrite: object("TagWrite", { tag: Tag, ...Written, event_id: Nullable(Id) }),
  tagList: object("TagList", { tags: Type.Array(Tag), next_cursor: NextCursor }),
  settings: object("SettingsBody", { settings: Settings }),
  settingsWrite: object("SettingsWrite", { settings: Settings, ...Written, event_id: Nullable(Id) }),
  activity: object("ActivityList", {
    activity: Type.Array(
      object("Activity", {
        seq: Type.Integer({ minimum: 1 }),
        event_id: Id,
        task_id: Nullable(Type.String()),
        action: Type.String(),
        summary: Type.String(),
        created_at: Instant,
      }),
    ),
    next_cursor: NextCursor,
    next_offset: Type.Optional(Nullable(Type.Integer({ minimum: 0, description: "Only when paging by `offset`" }))),
  }),
  history: {
    type: "object",
    properties: {
      events: eventsOf("TaskEvent"),
      next_after: {
        type: ["integer", "null"],
        description: "More events follow (a page holds up to 1,000 events and 1 MiB of them): ask again with `after` set to this",
      },
    },
    required: ["events", "next_after"],
    title: "TaskHistory",
  },
  events: {
    type: "object",
    title: "EventsBody",
    properties: {
      events: eventsOf("WireEvent"),
      seq: { type: "integer", description: "The user's latest seq" },
      type: { const: "resync_required", description: "Only when `since` is older than what is kept: events is empty" },
    },
    required: ["events", "seq"],
  },
};
