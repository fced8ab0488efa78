/** Reminder routes: several per task, `before` the due date or `at` an instant. Firing is the scheduler's. */
import type { Server } from "hyper-express";
import * as decide from "../../common/domain/decide.ts";
import { errors } from "../../common/errors.ts";
import { listReminders } from "../../storage/queries/user-data.ts";
import { route } from "../http.ts";
import { ListQuery, ReminderInput } from "../schemas.ts";
import { command, listPage, loadTask, type RouteDeps, refusalError } from "./context.ts";

export function registerReminderRoutes(server: Server, d: RouteDeps) {
  route(server, d.http, "post", "/api/:user_id/tasks/:task_id/reminders", async (ctx) => {
    const body = await ctx.body(ReminderInput);
    const decision = decide.addReminder(command(ctx), await loadTask(d, ctx), body);
    if (!decision.ok || !decision.event || !decision.reminder)
      throw decision.ok ? errors.conflict("nothing to add") : refusalError(decision.refusal);
    const { queued } = await d.writer.emit(decision.event, ctx);
    return {
      status: 202,
      body: {
        reminder: { ...decision.reminder, task_id: decision.task.id, notified: false },
        event_id: decision.event.event_id,
        correlation_id: ctx.correlationId,
        queued,
      },
    };
  });

  route(server, d.http, "delete", "/api/:user_id/tasks/:task_id/reminders/:reminder_id", async (ctx) => {
    const task = await loadTask(d, ctx).catch(() => null);
    const reminder = task?.reminders.find((r) => r.id === ctx.params.reminder_id && !r.notified);
    if (!task || !reminder) throw errors.notFound(`reminder ${ctx.params.reminder_id}`);
    const decision = decide.deleteReminder(command(ctx), task, reminder.id);
    if (!decision.ok || !decision.event) throw decision.ok ? errors.notFound(`reminder ${reminder.id}`) : refusalError(decision.refusal);
    const { queued } = await d.writer.emit(decision.event, ctx);
    const { notified_at: _n, created_at: _c, ...shown } = reminder;
    return {
      status: 202,
      body: { reminder: { ...shown, task_id: task.id }, event_id: decision.event.event_id, correlation_id: ctx.correlationId, queued },
    };
  });

  route(server, d.http, "get", "/api/:user_id/reminders", async (ctx) => {
    const page = listPage(d, "reminders", ctx.query(ListQuery));
    // Shows the user's writes accepted with 202 and not applied yet (a reminder added or deleted, a task completed).
    await d.settled(ctx);
    const { reminders, next } = await listReminders(d.db, ctx.userId, page);
    return { status: 200, body: { reminders, next_cursor: next ? d.cursors.encode("reminders", "asc", next) : null } };
  });
}
