/** Reminder events: created, deleted, and triggered (the `notified` flag makes a trigger count once). */
import { sql } from "slonik";
import { insertReminders, lockTask, missing } from "./task.ts";
import type { Handler } from "./types.ts";

const created: Handler<"reminder.created"> = async (e, ctx) => {
  const task = await lockTask(ctx, e.user_id, e.aggregate_id);
  if (!task) return missing(e.aggregate_id);
  await insertReminders(ctx, e.user_id, e.aggregate_id, [e.data.reminder], e.timestamp);
  await ctx.tx.query(sql.unsafe`update tasks set version = ${await ctx.nextVersion(e.aggregate_id)} where id = ${e.aggregate_id}`);
  return { kind: "applied", summary: `reminder at ${e.data.reminder.remind_at} on "${task.title}"`, taskId: e.aggregate_id };
};

const deleted: Handler<"reminder.deleted"> = async (e, ctx) => {
  const task = await lockTask(ctx, e.user_id, e.aggregate_id);
  if (!task) return missing(e.aggregate_id);
  const gone = await ctx.tx.query(sql.unsafe`delete from reminders where id = ${e.data.reminder_id} and task_id = ${e.aggregate_id}`);
  if (gone.rowCount === 0) return { kind: "skipped", reason: `reminder ${e.data.reminder_id} is already gone` };
  await ctx.tx.query(sql.unsafe`update tasks set version = ${await ctx.nextVersion(e.aggregate_id)} where id = ${e.aggregate_id}`);
  return { kind: "applied", summary: `removed a reminder from "${task.title}"`, taskId: e.aggregate_id };
};

/**
 * A reminder notifies once: the first trigger flips `notified`; a duplicate (redelivered job,
 * race after restart) or one for a completed or deleted task is skipped and reaches nobody.
 */
const triggered: Handler<"reminder.triggered"> = async (e, ctx) => {
  const flipped = await ctx.tx.query(sql.unsafe`
    update reminders r set notified = true, notified_at = ${e.data.fired_at}
    from tasks t
    where r.id = ${e.data.reminder_id} and r.task_id = ${e.aggregate_id} and t.id = r.task_id and t.user_id = ${e.user_id}
      and not r.notified and t.status = 'pending' and r.remind_at = ${e.data.remind_at}::timestamptz`);
  if (flipped.rowCount === 0)
    return { kind: "skipped", reason: `reminder ${e.data.reminder_id} already notified, cancelled or its task is done` };
  await ctx.tx.query(sql.unsafe`update tasks set version = ${await ctx.nextVersion(e.aggregate_id)} where id = ${e.aggregate_id}`);
  return { kind: "applied", summary: `reminder for "${e.data.title}"${e.data.late ? " (late)" : ""}`, taskId: e.aggregate_id };
};

export const reminderHandlers = { "reminder.created": created, "reminder.deleted": deleted, "reminder.triggered": triggered };
