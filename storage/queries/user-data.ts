/** The other per-user reads of the API: tags, reminders, activity feed, settings. */
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import type { ReminderView } from "../../common/contracts/task-view.ts";

const TagRow = z.object({ id: z.string(), name: z.string(), color: z.string().nullable(), created_at: z.string() });
export type TagView = z.infer<typeof TagRow>;

const ReminderRow = z.object({
  id: z.string(),
  task_id: z.string(),
  before: z.string().nullable(),
  at: z.string().nullable(),
  remind_at: z.string(),
  notified: z.boolean(),
});

const ActivityRow = z.object({
  seq: z.number(),
  event_id: z.string(),
  task_id: z.string().nullable(),
  action: z.string(),
  summary: z.string(),
  created_at: z.string(),
});
export type ActivityView = z.infer<typeof ActivityRow>;

const TimezoneRow = z.object({ timezone: z.string() });

export async function listTags(db: CommonQueryMethods, userId: string): Promise<readonly TagView[]> {
  return db.any(sql.type(TagRow)`select id, name, color, created_at from tags where user_id = ${userId} order by lower(name)`);
}

export async function getTag(db: CommonQueryMethods, userId: string, tagId: string): Promise<TagView | null> {
  return db.maybeOne(sql.type(TagRow)`select id, name, color, created_at from tags where user_id = ${userId} and id = ${tagId}`);
}

export async function findTagByName(db: CommonQueryMethods, userId: string, name: string): Promise<TagView | null> {
  return db.maybeOne(
    sql.type(TagRow)`select id, name, color, created_at from tags where user_id = ${userId} and lower(name) = lower(${name})`,
  );
}

/** Pending reminders of all the user's tasks, soonest first. */
export async function listReminders(db: CommonQueryMethods, userId: string): Promise<(ReminderView & { task_id: string })[]> {
  const rows = await db.any(sql.type(ReminderRow)`
    select r.id, r.task_id, r.before, r.at, r.remind_at, r.notified from reminders r join tasks t on t.id = r.task_id
    where r.user_id = ${userId} and not r.notified and t.status = 'pending' order by r.remind_at, r.id`);
  return rows.map(({ before, at, ...r }) => ({ ...r, ...(before ? { before } : {}), ...(at ? { at } : {}) }));
}

/**
 * The activity feed, newest first: `limit` entries from `offset` (old clients), or before the
 * seq `before` (the keyset cursor: entries that arrive meanwhile do not shift the pages), and the
 * seq of the last entry shown when more follow.
 */
export async function listActivity(
  db: CommonQueryMethods,
  userId: string,
  limit: number,
  from: { offset: number } | { before: number },
): Promise<{ activity: ActivityView[]; next: number | null }> {
  const rows = await db.any(sql.type(ActivityRow)`
    select seq, event_id, task_id, action, summary, created_at from activity_logs
    where user_id = ${userId} ${"before" in from ? sql.fragment`and seq < ${from.before}` : sql.fragment``}
    order by seq desc limit ${limit + 1} ${"offset" in from ? sql.fragment`offset ${from.offset}` : sql.fragment``}`);
  const activity = rows.slice(0, limit);
  const last = activity[activity.length - 1];
  return { activity, next: rows.length > limit && last ? last.seq : null };
}

export async function userTimezone(db: CommonQueryMethods, userId: string): Promise<string> {
  return (await db.maybeOneFirst(sql.type(TimezoneRow)`select timezone from users where id = ${userId}`)) ?? "UTC";
}
