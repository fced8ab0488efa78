/** Task routes: create, update, state transitions, delete, skip-occurrence; list, get, history. */
import { randomUUID } from "node:crypto";
import type { Server } from "hyper-express";
import { newEvent, type ReminderSpec, type TaskEvent, type TaskFields, type UpdatableField } from "../../common/contracts/index.ts";
import { createdTaskView } from "../../common/contracts/task-view.ts";
import { type ErrorDetail, errors } from "../../common/errors.ts";
import { isValidTimezone, nextOccurrence, parseRecurrenceRule } from "../../common/recurrence.ts";
import { parseReminderSpecs, type ReminderSpec as ReminderInputSpec, reminderFireTime } from "../../common/reminder-time.ts";
import { aggregateHistory } from "../../storage/queries/events.ts";
import { getTask, listTasks, type SortBy, type TaskView } from "../../storage/queries/tasks.ts";
import { cursorCodec } from "../cursor.ts";
import { type Ctx, type Reply, route } from "../http.ts";
import { CreateTask, ListTasksQuery, UpdateTask } from "../schemas.ts";
import { isUuid } from "../task-state.ts";
import type { RouteDeps } from "./context.ts";

const iso = (s: string | null | undefined): string | null => (s ? new Date(s).toISOString() : null);

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
  let reminders: { ok: true; specs: ReminderInputSpec[] } | null = null;
  if (input.reminders) {
    const parsed = parseReminderSpecs(input.reminders, input.due_date ? new Date(input.due_date) : null);
    if (parsed.ok) reminders = parsed;
    else details.push({ path: parsed.path, message: parsed.message });
  }
  return { rule, reminders };
}

/** The first occurrence after the task's start (its due date, else its creation). */
function firstOccurrence(
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

const dedupeTags = (tags: string[] = []) => [...new Map(tags.map((t) => [t.trim().toLowerCase(), t.trim()])).values()].filter(Boolean);

export function registerTaskRoutes(server: Server, d: RouteDeps) {
  const cursors = cursorCodec(d.config.jwtSecret ?? d.config.jwtJwksUrl ?? "");
  const at = (path: string) => `/api/:user_id/tasks${path}`;
  const emit = async (ctx: Ctx, event: TaskEvent, task: TaskView, status = 202): Promise<Reply> => {
    const { queued } = await d.writer.emit(event);
    await d.tasks.remember(task);
    return { status, body: { task, event_id: event.event_id, correlation_id: ctx.correlationId, queued } };
  };
  const load = async (ctx: Ctx) => {
    const task = await d.tasks.current(ctx.userId, ctx.params.task_id);
    if (!task) throw errors.notFound(`task ${ctx.params.task_id}`);
    return task;
  };
  const event = <K extends TaskEvent["event_type"]>(
    ctx: Ctx,
    type: K,
    aggregateId: string,
    data: Extract<TaskEvent, { event_type: K }>["data"],
  ) => newEvent(type, { user_id: ctx.userId, aggregate_id: aggregateId, correlation_id: ctx.correlationId }, data as never);

  route(server, d.http, "post", at(""), async (ctx) => {
    const body = await ctx.body(CreateTask);
    const details: ErrorDetail[] = [];
    const timezone = body.timezone ?? (await d.timezoneOf(ctx.userId));
    const { rule, reminders } = checkSchedule({ ...body, timezone }, details);
    if (details.length) throw errors.validation(details);
    const id = randomUUID();
    const now = new Date().toISOString();
    const dueDate = iso(body.due_date);
    const fields: TaskFields = {
      title: body.title,
      description: body.description ?? null,
      priority: body.priority ?? "medium",
      due_date: dueDate,
      timezone,
      recurrence_rule: rule,
      next_occurrence: firstOccurrence(rule, dueDate, now, timezone),
      parent_task_id: null,
      tags: dedupeTags(body.tags),
      reminders: (reminders?.specs ?? []).map((spec) => reminderOf(spec, dueDate, timezone)),
    };
    const e = newEvent(
      "task.created",
      { user_id: ctx.userId, aggregate_id: id, correlation_id: ctx.correlationId, timestamp: now },
      { task: fields },
    );
    return emit(ctx, e, createdTaskView(ctx.userId, id, fields, now));
  });

  const update = async (ctx: Ctx): Promise<Reply> => {
    const body = await ctx.body(UpdateTask);
    const task = await load(ctx);
    const details: ErrorDetail[] = [];
    const merged = {
      timezone: body.timezone ?? task.timezone,
      recurrence_rule: body.recurrence_rule,
      due_date: body.due_date ?? task.due_date,
    };
    const { rule } = checkSchedule(merged, details);
    if (details.length) throw errors.validation(details);
    const next: Partial<Record<UpdatableField, unknown>> = {
      ...(body.title !== undefined ? { title: body.title } : {}),
      ...(body.description !== undefined ? { description: body.description } : {}),
      ...(body.priority !== undefined ? { priority: body.priority } : {}),
      ...(body.due_date !== undefined ? { due_date: iso(body.due_date) } : {}),
      ...(body.timezone !== undefined ? { timezone: body.timezone } : {}),
      ...(body.recurrence_rule !== undefined ? { recurrence_rule: rule } : {}),
      ...(body.tags !== undefined ? { tags: dedupeTags(body.tags).sort() } : {}),
    };
    const after = { ...task, ...next } as TaskView;
    if ("recurrence_rule" in next || "due_date" in next || "timezone" in next) {
      next.next_occurrence = after.recurrence_rule
        ? firstOccurrence(after.recurrence_rule, after.due_date, after.created_at, after.timezone, new Date().toISOString())
        : null;
      after.next_occurrence = next.next_occurrence as string | null;
    }
    const changes = Object.fromEntries(
      Object.entries(next)
        .filter(([field, value]) => JSON.stringify(task[field as UpdatableField]) !== JSON.stringify(value))
        .map(([field, value]) => [field, { old: task[field as UpdatableField], new: value }]),
    );
    if (Object.keys(changes).length === 0)
      return { status: 200, body: { task, event_id: null, correlation_id: ctx.correlationId, queued: false } };
    const e = event(ctx, "task.updated", task.id, { changes } as never);
    return emit(ctx, e, { ...after, version: task.version + 1, updated_at: e.timestamp });
  };
  route(server, d.http, "patch", at("/:task_id"), update);
  route(server, d.http, "put", at("/:task_id"), update);

  route(server, d.http, "delete", at("/:task_id"), async (ctx) => {
    const task = await load(ctx);
    return emit(ctx, event(ctx, "task.deleted", task.id, {}), task);
  });

  route(server, d.http, "post", at("/:task_id/complete"), async (ctx) => {
    const task = await load(ctx);
    if (task.status === "completed") throw errors.conflict(`task ${task.id} is already completed`);
    const e = event(ctx, "task.completed", task.id, { completed_at: new Date().toISOString() });
    return emit(ctx, e, { ...task, status: "completed", completed_at: e.data.completed_at, version: task.version + 1 });
  });

  route(server, d.http, "post", at("/:task_id/uncomplete"), async (ctx) => {
    const task = await load(ctx);
    if (task.status === "pending") throw errors.conflict(`task ${task.id} is not completed`);
    return emit(ctx, event(ctx, "task.uncompleted", task.id, {}), {
      ...task,
      status: "pending",
      completed_at: null,
      version: task.version + 1,
    });
  });

  route(server, d.http, "post", at("/:task_id/skip-occurrence"), async (ctx) => {
    const task = await load(ctx);
    if (!task.recurrence_rule || !task.next_occurrence) throw errors.conflict(`task ${task.id} has no upcoming occurrence to skip`);
    const start = new Date(task.due_date ?? task.created_at);
    const following = nextOccurrence(task.recurrence_rule, start, task.timezone, new Date(task.next_occurrence))?.toISOString() ?? null;
    const e = event(ctx, "recurring.skipped", task.id, { occurrence: task.next_occurrence, next_occurrence: following });
    return emit(ctx, e, { ...task, next_occurrence: following, version: task.version + 1 });
  });

  route(server, d.http, "get", at(""), async (ctx) => {
    const q = ctx.query(ListTasksQuery);
    const sortBy: SortBy = q.sort_by ?? "created_at";
    const sortOrder = q.sort_order ?? (sortBy === "created_at" ? "desc" : "asc");
    const cursor = q.cursor ? cursors.decode(q.cursor, sortBy, sortOrder) : undefined;
    if (cursor === null)
      throw errors.validation([{ path: "cursor", message: "is not a cursor this API returned for this sort_by and sort_order" }]);
    const { tasks, next } = await listTasks(d.db, ctx.userId, {
      ...(q.search ? { search: q.search } : {}),
      status: q.status ?? "all",
      ...(q.priority ? { priority: q.priority.split(",") } : {}),
      ...(q.due_date_start ? { dueDateStart: q.due_date_start } : {}),
      ...(q.due_date_end ? { dueDateEnd: q.due_date_end } : {}),
      ...(q.tags
        ? {
            tags: q.tags
              .split(",")
              .map((t) => t.trim())
              .filter(Boolean),
          }
        : {}),
      sortBy,
      sortOrder,
      limit: q.limit ?? 50,
      ...(cursor ? { cursor } : {}),
    });
    return { status: 200, body: { tasks, next_cursor: next ? cursors.encode(sortBy, sortOrder, next) : null } };
  });

  route(server, d.http, "get", at("/:task_id"), async (ctx) => {
    const task = isUuid(ctx.params.task_id) ? await getTask(d.db, ctx.userId, ctx.params.task_id) : null;
    if (!task) throw errors.notFound(`task ${ctx.params.task_id}`);
    return { status: 200, body: { task } };
  });

  route(server, d.http, "get", at("/:task_id/history"), async (ctx) => {
    const events = isUuid(ctx.params.task_id) ? await aggregateHistory(d.db, ctx.userId, ctx.params.task_id) : [];
    if (events.length === 0) throw errors.notFound(`history of task ${ctx.params.task_id}`);
    return { status: 200, body: { events } };
  });
}

export function reminderOf(spec: ReminderInputSpec, dueDate: string | null, timezone: string): ReminderSpec {
  const remindAt = reminderFireTime(spec, dueDate ? new Date(dueDate) : null, timezone);
  return {
    id: randomUUID(),
    ...(spec.kind === "before" ? { before: spec.before } : { at: spec.at.toISOString() }),
    remind_at: (remindAt ?? new Date()).toISOString(),
  };
}
