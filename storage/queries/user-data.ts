/** The other per-user reads of the API: tags, reminders, activity feed, settings. */
import { type CommonQueryMethods, type FragmentSqlToken, sql } from "slonik";
import { z } from "zod";
import type { ReminderView } from "../../common/contracts/task-view.ts";
import type { Cursor } from "./tasks.ts";

const TagRow = z.object({ id: z.string(), name: z.string(), color: z.string().nullable(), created_at: z.string() });
export type TagView = z.infer<typeof TagRow>;
/** With its sort key, lower(name) as PostgreSQL computes it, for the keyset cursor. */
const TagPageRow = TagRow.extend({ k: z.string() });

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

/** A page of a list in its one order: up to `limit` rows (null: all of them) after the keyset position `after`. */
export interface Page {
  limit: number | null;
  after?: Cursor;
}

const limitOf = (page: Page): FragmentSqlToken => (page.limit === null ? sql.fragment`` : sql.fragment`limit ${page.limit + 1}`);

/** The page's rows (one more was asked for, to know whether a next page exists) and the position after them. */
function paged<R, T>(
  rows: readonly R[],
  page: Page,
  position: (row: R) => Cursor,
  show: (row: R) => T,
): { rows: T[]; next: Cursor | null } {
  const shown = page.limit === null ? rows : rows.slice(0, page.limit);
  const last = shown[shown.length - 1];
  return { rows: shown.map(show), next: page.limit !== null && rows.length > page.limit && last ? position(last) : null };
}

/** The user's tags by lower(name), then id. */
export async function listTags(db: CommonQueryMethods, userId: string, page: Page): Promise<{ tags: TagView[]; next: Cursor | null }> {
  const after = page.after
    ? sql.fragment`and (lower(name), id) > (${String(page.after[0])}::text, ${page.after[1]}::uuid)`
    : sql.fragment``;
  const rows = await db.any(sql.type(TagPageRow)`
    select id, name, color, created_at, lower(name) as k from tags
    where user_id = ${userId} ${after} order by lower(name), id ${limitOf(page)}`);
  const { rows: tags, next } = paged(
    rows,
    page,
    (r) => [r.k, r.id],
    ({ k: _k, ...tag }) => tag,
  );
  return { tags, next };
}

export async function getTag(db: CommonQueryMethods, userId: string, tagId: string): Promise<TagView | null> {
  return db.maybeOne(sql.type(TagRow)`select id, name, color, created_at from tags where user_id = ${userId} and id = ${tagId}`);
}

export async function findTagByName(db: CommonQueryMethods, userId: string, name: string): Promise<TagView | null> {
  return db.maybeOne(
    sql.type(TagRow)`select id, name, color, created_at from tags where user_id = ${userId} and lower(name) = lower(${name})`,
  );
}

/** Pending reminders of all the user's tasks, soonest first (then by id). */
export async function listReminders(
  db: CommonQueryMethods,
  userId: string,
  page: Page,
): Promise<{ reminders: (ReminderView & { task_id: string })[]; next: Cursor | null }> {
  const after = page.after
    ? sql.fragment`and (r.remind_at, r.id) > (${String(page.after[0])}::timestamptz, ${page.after[1]}::uuid)`
    : sql.fragment``;
  const rows = await db.any(sql.type(ReminderRow)`
    select r.id, r.task_id, r.before, r.at, r.remind_at, r.notified from reminders r join tasks t on t.id = r.task_id
    where r.user_id = ${userId} and not r.notified and t.status = 'pending' ${after}
    order by r.remind_at, r.id ${limitOf(page)}`);
  const { rows: reminders, next } = paged(
    rows,
    page,
    (r) => [r.remind_at, r.id],
    ({ before, at, ...r }) => ({ ...r, ...(before ? { before } : {}), ...(at ? { at } : {}) }),
  );
  return { reminders, next };
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
