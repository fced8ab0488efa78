/** Task lifecycle events applied to the projection (tasks, task_tags, reminders). */
import { sql } from "slonik";
import type { EventOf, ReminderSpec, TaskFields, UpdatableField } from "../../common/contracts/index.ts";
import { nameBasedUuid } from "../../common/ids.ts";
import { reminderFireTime } from "../../common/reminder-time.ts";
import type { ApplyContext, Handler, Outcome } from "./types.ts";

interface TaskRow {
  id: string;
  title: string;
  description: string | null;
  status: "pending" | "completed";
  priority: string;
  due_date: string | null;
  timezone: string;
  recurrence_rule: string | null;
  next_occurrence: string | null;
  updated_at: string;
  tags: string[];
}

export async function lockTask(ctx: ApplyContext, userId: string, taskId: string): Promise<TaskRow | null> {
  return (await ctx.tx.maybeOne(sql.unsafe`
    select t.id, t.title, t.description, t.status, t.priority, t.due_date, t.timezone, t.recurrence_rule,
           t.next_occurrence, t.updated_at,
           coalesce((select array_agg(g.name order by g.name) from task_tags tt join tags g on g.id = tt.tag_id
                     where tt.task_id = t.id), '{}') as tags
    from tasks t where t.id = ${taskId} and t.user_id = ${userId} for update of t`)) as TaskRow | null;
}

export const missing = (id: string): Outcome => ({
  kind: "rejected",
  code: "not_found",
  reason: `task ${id} does not exist (deleted or never created)`,
});

/**
 * Tag ids created implicitly by a task's tag names derive from the event, so replaying the log
 * rebuilds the same ids.
 */
const derivedTagId = (eventId: string, name: string): string => nameBasedUuid(eventId, name.toLowerCase());

/** Points the task at exactly these tag names, creating missing tags for the user. */
async function setTaskTags(
  ctx: ApplyContext,
  userId: string,
  taskId: string,
  names: string[],
  eventId: string,
  at: string,
  isNewTask = false,
) {
  if (!isNewTask) await ctx.tx.query(sql.unsafe`delete from task_tags where task_id = ${taskId}`);
  if (names.length === 0) return;
  const rows = names.map((name) => ({ id: derivedTagId(eventId, name), name }));
  await ctx.tx.query(sql.unsafe`
    insert into tags (id, user_id, name, created_at, updated_at)
    select x.id, ${userId}, x.name, ${at}, ${at} from jsonb_to_recordset(${sql.jsonb(rows)}) as x(id uuid, name text)
    on conflict (user_id, lower(name)) do nothing`);
  await ctx.tx.query(sql.unsafe`
    insert into task_tags (task_id, tag_id)
    select ${taskId}, g.id from tags g where g.user_id = ${userId} and lower(g.name) = any(${sql.array(
      names.map((n) => n.toLowerCase()),
      "text",
    )})
    on conflict do nothing`);
}

export async function insertReminders(ctx: ApplyContext, userId: string, taskId: string, reminders: ReminderSpec[], at: string) {
  if (reminders.length === 0) return;
  await ctx.tx.query(sql.unsafe`
    insert into reminders (id, task_id, user_id, before, at, remind_at, created_at)
    select x.id, ${taskId}, ${userId}, x.before, x.at, x.remind_at, ${at}
    from jsonb_to_recordset(${sql.jsonb(reminders.map((r) => ({ id: r.id, before: r.before ?? null, at: r.at ?? null, remind_at: r.remind_at })))})
      as x(id uuid, before text, at timestamptz, remind_at timestamptz)
    on conflict (id) do nothing`);
}

export async function insertTask(
  ctx: ApplyContext,
  e: { user_id: string; event_id: string; timestamp: string },
  id: string,
  version: number,
  f: TaskFields,
) {
  const inserted = await ctx.tx.query(sql.unsafe`
    insert into tasks (id, user_id, title, description, priority, due_date, timezone, recurrence_rule, next_occurrence,
                       parent_task_id, version, created_at, updated_at)
    values (${id}, ${e.user_id}, ${f.title}, ${f.description}, ${f.priority}, ${f.due_date}, ${f.timezone}, ${f.recurrence_rule},
            ${f.next_occurrence}, ${f.parent_task_id}, ${version}, ${e.timestamp}, ${e.timestamp})
    on conflict (id) do nothing`);
  if (inserted.rowCount === 0) return false;
  await setTaskTags(ctx, e.user_id, id, f.tags, e.event_id, e.timestamp, true);
  await insertReminders(ctx, e.user_id, id, f.reminders, e.timestamp);
  return true;
}

const created: Handler<"task.created"> = async (e, ctx) => {
  if (!(await insertTask(ctx, e, e.aggregate_id, await ctx.nextVersion(e.aggregate_id), e.data.task))) {
    return { kind: "rejected", code: "conflict", reason: `task ${e.aggregate_id} already exists` };
  }
  return { kind: "applied", summary: `created "${e.data.task.title}"`, taskId: e.aggregate_id };
};

const columns: Record<Exclude<UpdatableField, "tags">, string> = {
  title: "title",
  description: "description",
  priority: "priority",
  due_date: "due_date",
  timezone: "timezone",
  recurrence_rule: "recurrence_rule",
  next_occurrence: "next_occurrence",
};

/**
 * Last write wins by event timestamp: an update older than the task's last change does not
 * change the task; its writer gets write.rejected (`superseded`) instead.
 */
const updated: Handler<"task.updated"> = async (e, ctx) => {
  const task = await lockTask(ctx, e.user_id, e.aggregate_id);
  if (!task) return missing(e.aggregate_id);
  if (Date.parse(e.timestamp) < Date.parse(task.updated_at))
    return { kind: "rejected", code: "superseded", reason: `a later change of task ${e.aggregate_id} won (last write wins)` };
  const version = await ctx.nextVersion(e.aggregate_id);
  const changes: Record<string, { old: unknown; new: unknown }> = {};
  for (const [field, change] of Object.entries(e.data.changes) as [UpdatableField, { new: unknown }][]) {
    changes[field] = { old: task[field], new: change.new };
  }
  const sets = Object.keys(changes)
    .filter((f): f is Exclude<UpdatableField, "tags"> => f !== "tags")
    .map((f) => sql.fragment`${sql.identifier([columns[f]])} = ${changes[f]?.new as string | null}`);
  await ctx.tx.query(sql.unsafe`
    update tasks set ${sql.join([...sets, sql.fragment`version = ${version}`, sql.fragment`updated_at = ${e.timestamp}`], sql.fragment`, `)}
    where id = ${e.aggregate_id}`);
  if (changes.tags) await setTaskTags(ctx, e.user_id, e.aggregate_id, changes.tags.new as string[], e.event_id, e.timestamp);
  if (changes.due_date) await rescheduleRelativeReminders(ctx, e.aggregate_id);
  return {
    kind: "applied",
    data: { changes },
    summary: `updated ${Object.keys(changes).sort().join(", ")}`,
    taskId: e.aggregate_id,
  };
};

/** `before` reminders follow the due date (calendar days in the task's timezone); a moved reminder may notify again. */
async function rescheduleRelativeReminders(ctx: ApplyContext, taskId: string) {
  const task = (await ctx.tx.one(sql.unsafe`select due_date, timezone from tasks where id = ${taskId}`)) as {
    due_date: string | null;
    timezone: string;
  };
  const relative = (await ctx.tx.any(sql.unsafe`select id, before from reminders where task_id = ${taskId} and before is not null`)) as {
    id: string;
    before: string;
  }[];
  if (relative.length === 0) return;
  if (task.due_date === null) {
    await ctx.tx.query(sql.unsafe`delete from reminders where task_id = ${taskId} and before is not null`);
    return;
  }
  const due = new Date(task.due_date);
  const moved = relative.map((r) => ({
    id: r.id,
    remind_at: reminderFireTime({ kind: "before", before: r.before }, due, task.timezone)?.toISOString(),
  }));
  await ctx.tx.query(sql.unsafe`
    update reminders r set remind_at = x.remind_at, notified = false, notified_at = null
    from jsonb_to_recordset(${sql.jsonb(moved)}) as x(id uuid, remind_at timestamptz) where r.id = x.id`);
}

const setStatus =
  (status: "completed" | "pending") =>
  async (e: EventOf<"task.completed"> | EventOf<"task.uncompleted">, ctx: ApplyContext): Promise<Outcome> => {
    const task = await lockTask(ctx, e.user_id, e.aggregate_id);
    if (!task) return missing(e.aggregate_id);
    const completedAt = status === "completed" ? (e as EventOf<"task.completed">).data.completed_at : null;
    await ctx.tx.query(sql.unsafe`
    update tasks set status = ${status}, completed_at = ${completedAt}, version = ${await ctx.nextVersion(e.aggregate_id)},
                     updated_at = greatest(updated_at, ${e.timestamp}::timestamptz)
    where id = ${e.aggregate_id}`);
    return {
      kind: "applied",
      summary: status === "completed" ? `completed "${task.title}"` : `reopened "${task.title}"`,
      taskId: e.aggregate_id,
    };
  };

const deleted: Handler<"task.deleted"> = async (e, ctx) => {
  const task = await lockTask(ctx, e.user_id, e.aggregate_id);
  if (!task) return missing(e.aggregate_id);
  await ctx.nextVersion(e.aggregate_id);
  // Reminders and tag links go with it (on delete cascade); the history stays in events.
  await ctx.tx.query(sql.unsafe`delete from tasks where id = ${e.aggregate_id}`);
  return { kind: "applied", summary: `deleted "${task.title}"`, taskId: e.aggregate_id };
};

const spawned: Handler<"recurring.spawned"> = async (e, ctx) => {
  const parentId = e.data.task.parent_task_id;
  if (!parentId || !(await lockTask(ctx, e.user_id, parentId))) return missing(parentId ?? "(none)");
  if (!(await insertTask(ctx, e, e.aggregate_id, await ctx.nextVersion(e.aggregate_id), e.data.task))) {
    return { kind: "skipped", reason: `instance ${e.aggregate_id} already spawned` };
  }
  // Only forward: a late spawn must not undo a skip that already moved the series on.
  await ctx.tx.query(sql.unsafe`
    update tasks set next_occurrence = ${e.data.parent_next_occurrence}
    where id = ${parentId} and next_occurrence is not null and next_occurrence <= ${e.data.occurrence}`);
  return { kind: "applied", summary: `new occurrence of "${e.data.task.title}" at ${e.data.occurrence}`, taskId: e.aggregate_id };
};

const skipped: Handler<"recurring.skipped"> = async (e, ctx) => {
  const task = await lockTask(ctx, e.user_id, e.aggregate_id);
  if (!task) return missing(e.aggregate_id);
  if (task.next_occurrence !== e.data.occurrence) return { kind: "skipped", reason: `occurrence ${e.data.occurrence} is not the next one` };
  await ctx.tx.query(sql.unsafe`
    update tasks set next_occurrence = ${e.data.next_occurrence}, version = ${await ctx.nextVersion(e.aggregate_id)}
    where id = ${e.aggregate_id}`);
  return { kind: "applied", summary: `skipped the occurrence at ${e.data.occurrence} of "${task.title}"`, taskId: e.aggregate_id };
};

export const taskHandlers = {
  "task.created": created,
  "task.updated": updated,
  "task.completed": setStatus("completed") as Handler<"task.completed">,
  "task.uncompleted": setStatus("pending") as Handler<"task.uncompleted">,
  "task.deleted": deleted,
  "recurring.spawned": spawned,
  "recurring.skipped": skipped,
};
