/**
 * A user's timezone change moves their recurring tasks that followed the old timezone (see
 * plan.ts moveSeries). The scheduler does not write PostgreSQL: it produces one task.updated per
 * task to the reminders topic, keyed by user_id, with an event_id derived from the settings event,
 * so a redelivered settings.updated produces the same events and the processors apply them once.
 * Once applied they come back on task-updates and the task's occurrence job is rescheduled.
 */
import { type EventOf, newEvent, serializeEvent } from "../common/contracts/index.ts";
import type { Producer } from "../common/kafka.ts";
import type { Db } from "../common/postgres.ts";
import { deterministicUuid } from "./jobs.ts";
import { moveSeries } from "./plan.ts";
import { seriesInTimezone } from "./store.ts";

export async function followTimezoneChange(
  db: Db,
  producer: Pick<Producer, "send">,
  topic: string,
  event: EventOf<"settings.updated">,
  now = new Date(),
): Promise<number> {
  const { old, new: next } = event.data.changes.timezone as { old: unknown; new: unknown };
  if (typeof old !== "string" || typeof next !== "string" || old === next) return 0;
  const tasks = await seriesInTimezone(db, event.user_id, old);
  const messages = [];
  for (const task of tasks) {
    const changes = moveSeries(task, next, now);
    if (Object.keys(changes).length === 0) continue;
    const update = newEvent(
      "task.updated",
      {
        user_id: event.user_id,
        aggregate_id: task.id,
        correlation_id: event.correlation_id,
        event_id: deterministicUuid(`timezone:${event.event_id}:${task.id}`),
        timestamp: now.toISOString(),
      },
      { changes },
    );
    messages.push({ key: event.user_id, value: serializeEvent(update), headers: { event_type: update.event_type } });
  }
  if (messages.length > 0) await producer.send({ topic, messages });
  return messages.length;
}
