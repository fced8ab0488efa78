/**
 * The scheduler's reads of the projection for the safety-net reconcile and for due jobs (it never
 * writes the projection; events do). Its intake reads only schedule_changes (schedule-changes.ts).
 */
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import type { SeriesReminder } from "../../common/series.ts";

const PendingReminderRow = z.object({ id: z.string(), task_id: z.string(), user_id: z.string(), remind_at: z.string() });
export type PendingReminder = z.infer<typeof PendingReminderRow>;

/** The series' reminders, built by `seriesReminders` (their offsets decide how far ahead its instances spawn). */
const SeriesReminders = z.custom<SeriesReminder[]>();

const SeriesHeadRow = z.object({
  id: z.string(),
  user_id: z.string(),
  next_occurrence: z.string(),
  recurrence_rule: z.string(),
  timezone: z.string(),
  due_date: z.string().nullable(),
  created_at: z.string(),
  reminders: SeriesReminders,
});
export type SeriesHead = z.infer<typeof SeriesHeadRow>;

const ReminderAtFireRow = z.object({
  id: z.string(),
  remind_at: z.string(),
  notified: z.boolean(),
  status: z.enum(["pending", "completed"]),
  title: z.string(),
  parent_task_id: z.string().nullable(),
});
export type ReminderAtFire = z.infer<typeof ReminderAtFireRow>;

const SeriesAtFireRow = z.object({
  id: z.string(),
  user_id: z.string(),
  title: z.string(),
  description: z.string().nullable(),
  priority: z.enum(["low", "medium", "high", "urgent"]),
  due_date: z.string().nullable(),
  timezone: z.string(),
  recurrence_rule: z.string().nullable(),
  recurrence_mode: z.enum(["schedule", "after_completion"]),
  next_occurrence: z.string().nullable(),
  created_at: z.string(),
  tags: z.array(z.string()),
  reminders: SeriesReminders,
});
export type SeriesAtFire = z.infer<typeof SeriesAtFireRow>;

/** Pending reminders of pending tasks, in pages by id (keyset), for the start-up reconcile. */
export async function pendingRemindersPage(
  db: CommonQueryMethods,
  afterId: string | null,
  limit: number,
): Promise<readonly PendingReminder[]> {
  return db.any(sql.type(PendingReminderRow)`
    select r.id, r.task_id, t.user_id, r.remind_at
    from reminders r join tasks t on t.id = r.task_id
    where not r.notified and t.status = 'pending' and r.id > ${afterId ?? "00000000-0000-0000-0000-000000000000"}
    order by r.id limit ${limit}`);
}

const seriesReminders = sql.fragment`
  coalesce((select json_agg(json_build_object('id', r.id, 'before', r.before, 'at', r.at) order by r.id)
            from reminders r where r.task_id = t.id), '[]') as reminders`;

/** Recurring tasks with an upcoming occurrence, in pages by id, for the start-up reconcile. */
export async function seriesPage(db: CommonQueryMethods, afterId: string | null, limit: number): Promise<readonly SeriesHead[]> {
  return db.any(sql.type(SeriesHeadRow)`
    select t.id, t.user_id, t.next_occurrence, t.recurrence_rule, t.timezone, t.due_date, t.created_at, ${seriesReminders}
    from tasks t
    where t.next_occurrence is not null and t.recurrence_rule is not null and t.recurrence_mode = 'schedule'
      and t.id > ${afterId ?? "00000000-0000-0000-0000-000000000000"}
    order by t.id limit ${limit}`);
}

/** Reminders as they are when their jobs run; a deleted reminder (or task) is missing. */
export async function remindersAtFire(db: CommonQueryMethods, reminderIds: readonly string[]): Promise<Map<string, ReminderAtFire>> {
  const rows = await db.any(sql.type(ReminderAtFireRow)`
    select r.id, r.remind_at, r.notified, t.status, t.title, t.parent_task_id
    from reminders r join tasks t on t.id = r.task_id where r.id = any(${sql.array([...reminderIds], "uuid")})`);
  return new Map(rows.map((r) => [r.id, r]));
}

const seriesColumns = sql.fragment`
  t.id, t.user_id, t.title, t.description, t.priority, t.due_date, t.timezone, t.recurrence_rule, t.next_occurrence,
  t.recurrence_mode, t.created_at,
  coalesce((select array_agg(g.name order by g.name) from task_tags tt join tags g on g.id = tt.tag_id
            where tt.task_id = t.id), '{}') as tags,
  ${seriesReminders}`;

/** A recurring task as it is when its occurrence job runs; null when deleted. */
export async function seriesAtFire(db: CommonQueryMethods, taskId: string): Promise<SeriesAtFire | null> {
  return db.maybeOne(sql.type(SeriesAtFireRow)`select ${seriesColumns} from tasks t where t.id = ${taskId}`);
}
