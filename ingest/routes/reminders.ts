/** Reminder routes: several per task, `before` the due date or `at` an instant. Firing is the scheduler's. */
import type { Server } from "hyper-express";
import { newEvent } from "../../common/contracts/index.ts";
import { errors } from "../../common/errors.ts";
import { parseReminderSpec } from "../../common/reminder-time.ts";
import { listReminders } from "../../storage/queries/user-data.ts";
import { route } from "../http.ts";
import { ReminderInput } from "../schemas.ts";
import type { RouteDeps } from "./context.ts";
import { reminderOf } from "./tasks.ts";

export function registerReminderRoutes(server: Server, d: RouteDeps) {
  route(server, d.http, "post", "/api/:user_id/tasks/:task_id/reminders", async (ctx) => {
    const body = await ctx.body(ReminderInput);
    const task = await d.tasks.current(ctx.userId, ctx.params.task_id);
    if (!task) throw errors.notFound(`task ${ctx.params.task_id}`);
    const parsed = parseReminderSpec(body, { path: "(body)", dueDate: task.due_date ? new Date(task.due_date) : null });
    if (!parsed.ok) throw errors.validation([{ path: parsed.path.replace(/^\(body\)\./, ""), message: parsed.message }]);
    const reminder = reminderOf(parsed.spec, task.due_date, task.timezone);
    const e = newEvent("reminder.created", { user_id: ctx.userId, aggregate_id: task.id, correlation_id: ctx.correlationId }, { reminder });
    const { queued } = await d.writer.emit(e);
    await d.tasks.remember({ ...task, reminders: [...task.reminders, { ...reminder, notified: false }], version: task.version + 1 });
    return {
      status: 202,
      body: {
        reminder: { ...reminder, task_id: task.id, notified: false },
        event_id: e.event_id,
        correlation_id: ctx.correlationId,
        queued,
      },
    };
  });

  route(server, d.http, "delete", "/api/:user_id/tasks/:task_id/reminders/:reminder_id", async (ctx) => {
    const task = await d.tasks.current(ctx.userId, ctx.params.task_id);
    const reminder = task?.reminders.find((r) => r.id === ctx.params.reminder_id);
    if (!task || !reminder) throw errors.notFound(`reminder ${ctx.params.reminder_id}`);
    const e = newEvent(
      "reminder.deleted",
      { user_id: ctx.userId, aggregate_id: task.id, correlation_id: ctx.correlationId },
      { reminder_id: reminder.id },
    );
    const { queued } = await d.writer.emit(e);
    await d.tasks.remember({ ...task, reminders: task.reminders.filter((r) => r.id !== reminder.id), version: task.version + 1 });
    return {
      status: 202,
      body: { reminder: { ...reminder, task_id: task.id }, event_id: e.event_id, correlation_id: ctx.correlationId, queued },
    };
  });

  route(server, d.http, "get", "/api/:user_id/reminders", async (ctx) => ({
    status: 200,
    body: { reminders: await listReminders(d.db, ctx.userId), next_cursor: null },
  }));
}
