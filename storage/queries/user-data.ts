/** The other per-user reads of the API: tags, reminders, activity feed, settings. */
import { type CommonQueryMethods, sql } from "slonik";
import type { ReminderView } from "./tasks.ts";

export interface TagView {
  id: string;
  name: string;
  color: string | null;
  created_at: string;
}

export async function listTags(db: CommonQueryMethods, userId: string): Promise<TagView[]> {
  return (await db.any(
    sql.unsafe`select id, name, color, created_at from tags where user_id = ${userId} order by lower(name)`,
  )) as TagView[];
}

export async function getTag(db: CommonQueryMethods, userId: string, tagId: string): Promise<TagView | null> {
  return (await db.maybeOne(
    sql.unsafe`select id, name, color, created_at from tags where user_id = ${userId} and id = ${tagId}`,
  )) as TagView | null;
}

export async function findTagByName(db: CommonQueryMethods, userId: string, name: string): Promise<TagView | null> {
  return (await db.maybeOne(
    sql.unsafe`select id, name, color, created_at from tags where user_id = ${userId} and lower(name) = lower(${name})`,
  )) as TagView | null;
}

/** Pending reminders of all the user's tasks, soonest first. */
export async function listReminders(db: CommonQueryMethods, userId: string): Promise<(ReminderView & { task_id: string })[]> {
  const rows = (await db.any(sql.unsafe`
    select id, task_id, before, at, remind_at, notified from reminders
    where user_id = ${userId} and not notified order by remind_at, id`)) as (ReminderView & {
    task_id: string;
    before: string | null;
    at: string | null;
  })[];
  return rows.map(({ before, at, ...r }) => ({ ...r, ...(before ? { before } : {}), ...(at ? { at } : {}) }));
}

export interface ActivityView {
  seq: number;
  event_id: string;
  task_id: string | null;
  action: string;
  summary: string;
  created_at: string;
}

export async function listActivity(db: CommonQueryMethods, userId: string, limit: number, offset: number): Promise<ActivityView[]> {
  return (await db.any(sql.unsafe`
    select seq, event_id, task_id, action, summary, created_at from activity_logs
    where user_id = ${userId} order by seq desc limit ${limit} offset ${offset}`)) as ActivityView[];
}

export async function userTimezone(db: CommonQueryMethods, userId: string): Promise<string> {
  return ((await db.maybeOneFirst(sql.unsafe`select timezone from users where id = ${userId}`)) as string | null) ?? "UTC";
}
