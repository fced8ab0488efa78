/**
 * The scheduler's reads of the projection for the safety-net reconcile and for due jobs (it never
 * writes PostgreSQL; events do). Its intake reads only schedule_changes (storage/queries/schedule-changes.ts).
 */
import { sql } from "slonik";
import type { Db } from "../common/postgres.ts";
import type { SeriesReminder } from "../common/series.ts";

export interface PendingReminder {
  id: string;
  task_id: string;
  user_id: string;
  remind_at: string;
}

/** Pending reminders of pending tasks, in pages by id (keyset), for the start-up reconcile. */
export async function pendingRemindersPage(db: Db, afterId: string | null, limit: number): Promise<PendingReminder[]> {
  return (await db.any(sql.unsafe`
    select r.id, r.task_id, t.user_id, r.remind_at
    from reminders r join tasks t on t.id = r.task_id
    where not r.notified and t.status = 'pending' and r.id > ${afterId ?? "00000000-0000-0000-0000-000000000000"}
    order by r.id limit ${limit}`)) as PendingReminder[];
}

export interface SeriesHead {
  id: string;
  user_id: string;
  next_occurrence: string;
  recurrence_rule: string;
  timezone: string;
  due_date: string | null;
  created_at: string;
  /** The series' reminders (their offsets decide how far ahead its instances spawn). */
  reminders: SeriesReminder[];
}

const seriesReminders = sql.fragment`
  coalesce((select json_agg(json_build_object('id', r.id, 'before', r.before, 'at', r.at) order by r.id)
            from reminders r where r.task_id = t.id), '[]') as reminders`;

/** Recurring tasks with an upcoming occurrence, in pages by id, for the start-up reconcile. */
export async function seriesPage(db: Db, afterId: string | null, limit: number): Promise<SeriesHead[]> {
  return (await db.any(sql.unsafe`
    select t.id, t.user_id, t.next_occurrence, t.recurrence_rule, t.timezone, t.due_date, t.created_at, ${seriesReminders}
    from tasks t
    where t.next_occurrence is not null and t.recurrence_rule is not null and t.recurrence_mode = 'schedule'
      and t.id > ${afterId ?? "00000000-0000-0000-0000-000000000000"}
    order by t.id limit ${limit}`)) as SeriesHead[];
}

export interface ReminderAtFire {
  id: string;
  remind_at: string;
  notified: boolean;
  status: "pending" | "completed";
  title: string;
}

/** Reminders as they are when their jobs run; a deleted reminder (or task) is missing. */
export async function remindersAtFire(db: Db, reminderIds: readonly string[]): Promise<Map<string, ReminderAtFire>> {
  const rows = (await db.any(sql.unsafe`
    select r.id, r.remind_at, r.notified, t.status, t.title
    from reminders r join tasks t on t.id = r.task_id where r.id = any(${sql.array([...reminderIds], "uuid")})`)) as ReminderAtFire[];
  return new Map(rows.map((r) => [r.id, r]));
}

export interface SeriesAtFire {
  id: string;
  user_id: string;
  title: string;
  description: string | null;
  priority: "low" | "medium" | "high" | "urgent";
  due_date: string | null;
  timezone: string;
  recurrence_rule: string | null;
  recurrence_mode: "schedule" | "after_completion";
  next_occurrence: string | null;
  created_at: string;
  tags: string[];
  reminders: SeriesReminder[];
}

const seriesColumns = sql.fragment`
  t.id, t.user_id, t.title, t.description, t.priority, t.due_date, t.timezone, t.recurrence_rule, t.next_occurrence,
  t.recurrence_mode, t.created_at,
  coalesce((select array_agg(g.name order by g.name) from task_tags tt join tags g on g.id = tt.tag_id
            where tt.task_id = t.id), '{}') as tags,
  ${seriesReminders}`;

/** A recurring task as it is when its occurrence job runs; null when deleted. */
export async function seriesAtFire(db: Db, taskId: string): Promise<SeriesAtFire | null> {
  return (await db.maybeOne(sql.unsafe`select ${seriesColumns} from tasks t where t.id = ${taskId}`)) as SeriesAtFire | null;
}
