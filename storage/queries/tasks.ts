/** Task reads for the API: one task, and the searchable, filterable, keyset-paginated list. */
import { type CommonQueryMethods, type FragmentSqlToken, sql } from "slonik";
import { z } from "zod";
import type { TaskView } from "../../common/contracts/task-view.ts";
import { tagKey } from "../../common/domain/tags.ts";

export type { ReminderView, TaskView } from "../../common/contracts/task-view.ts";

/** A row of `taskColumns`: the API's task (CONTRACT.md "A task"). */
const TaskRow = z.object({
  id: z.string(),
  user_id: z.string(),
  title: z.string(),
  description: z.string().nullable(),
  status: z.enum(["pending", "completed"]),
  priority: z.enum(["low", "medium", "high", "urgent"]),
  due_date: z.string().nullable(),
  timezone: z.string(),
  recurrence_rule: z.string().nullable(),
  recurrence_mode: z.enum(["schedule", "after_completion"]),
  next_occurrence: z.string().nullable(),
  parent_task_id: z.string().nullable(),
  tags: z.array(z.string()),
  reminders: z.array(
    z.object({ id: z.string(), before: z.string().optional(), at: z.string().optional(), remind_at: z.string(), notified: z.boolean() }),
  ),
  version: z.number(),
  created_at: z.string(),
  updated_at: z.string(),
  completed_at: z.string().nullable(),
}) satisfies z.ZodType<TaskView>;

const taskColumns = sql.fragment`
  t.id, t.user_id, t.title, t.description, t.status, t.priority, t.due_date, t.timezone, t.recurrence_rule,
  t.recurrence_mode, t.next_occurrence, t.parent_task_id, t.version, t.created_at, t.updated_at, t.completed_at,
  coalesce((select array_agg(g.name order by g.name) from task_tags tt join tags g on g.id = tt.tag_id where tt.task_id = t.id), '{}') as tags,
  coalesce((select json_agg(json_strip_nulls(json_build_object(
      'id', r.id, 'before', r.before,
      'at', to_char(r.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'remind_at', to_char(r.remind_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'notified', r.notified)) order by r.remind_at)
    from reminders r where r.task_id = t.id and not r.notified), '[]') as reminders`;

/** A listed row: the task, and its title's sort key as PostgreSQL computes it (for the cursor). */
const ListedRow = TaskRow.extend({ title_key: z.string() });

export async function getTask(db: CommonQueryMethods, userId: string, taskId: string): Promise<TaskView | null> {
  return db.maybeOne(sql.type(TaskRow)`select ${taskColumns} from tasks t where t.user_id = ${userId} and t.id = ${taskId}`);
}

const FollowsRow = z.object({ id: z.string(), follows_user_timezone: z.boolean().nullable() });

/** Whether these tasks follow the user's timezone (false: given a zone of their own; null: from before that was recorded). */
export async function followsUserTimezone(db: CommonQueryMethods, userId: string, taskIds: string[]): Promise<Map<string, boolean | null>> {
  if (taskIds.length === 0) return new Map();
  const rows = await db.any(
    sql.type(FollowsRow)`select id, follows_user_timezone from tasks where user_id = ${userId} and id = any(${sql.array(taskIds, "uuid")})`,
  );
  return new Map(rows.map((r) => [r.id, r.follows_user_timezone]));
}

export type SortBy = "created_at" | "due_date" | "priority" | "title";
export interface TaskFilter {
  search?: string;
  status?: "pending" | "completed" | "all";
  priority?: string[];
  dueDateStart?: string;
  dueDateEnd?: string;
  /** Tasks carrying any of these tag names (case-insensitive). */
  tags?: string[];
  sortBy: SortBy;
  sortOrder: "asc" | "desc";
  limit: number;
  cursor?: Cursor;
}
/** Keyset position: the sort value and id of the last row of the previous page. */
export type Cursor = [string | number, string];

// Sort keys never null so keyset comparisons stay simple: tasks without a due date sort last.
const sortExpr: Record<SortBy, FragmentSqlToken> = {
  created_at: sql.fragment`t.created_at`,
  due_date: sql.fragment`coalesce(t.due_date, 'infinity'::timestamptz)`,
  priority: sql.fragment`t.priority_rank`,
  title: sql.fragment`(lower(t.title) collate "C")`,
};
const sortValue: Record<SortBy, (t: TaskView) => string | number> = {
  created_at: (t) => t.created_at,
  due_date: (t) => t.due_date ?? "infinity",
  priority: (t) => ({ low: 0, medium: 1, high: 2, urgent: 3 })[t.priority],
  // PostgreSQL's lower() (the index's) may differ from JavaScript's for a few characters: a
  // cursor takes the key PostgreSQL returned with the row (ListedRow), this one only orders.
  title: (t) => t.title.toLowerCase(),
};

/**
 * Whether `listTasks` with this filter would list `t` (ignoring the cursor), for a task not
 * stored yet (read your writes); undefined for a search, which only PostgreSQL can answer.
 */
export function wouldList(f: TaskFilter, t: TaskView): boolean | undefined {
  if (f.search) return undefined;
  if (f.status && f.status !== "all" && t.status !== f.status) return false;
  if (f.priority?.length && !f.priority.includes(t.priority)) return false;
  if (f.dueDateStart || f.dueDateEnd) {
    if (t.due_date === null) return false;
    const due = Date.parse(t.due_date);
    if (f.dueDateStart && due < Date.parse(f.dueDateStart)) return false;
    if (f.dueDateEnd && due > Date.parse(f.dueDateEnd)) return false;
  }
  if (f.tags?.length) {
    const wanted = new Set(f.tags.map(tagKey));
    if (!t.tags.some((x) => wanted.has(tagKey(x)))) return false;
  }
  return true;
}

/** `listTasks`' order: negative when `a` comes before `b`. */
export function listOrder(f: Pick<TaskFilter, "sortBy" | "sortOrder">, a: TaskView, b: TaskView): number {
  const key = (t: TaskView) => {
    const v = sortValue[f.sortBy](t);
    return f.sortBy === "created_at" || f.sortBy === "due_date" ? (v === "infinity" ? Number.POSITIVE_INFINITY : Date.parse(String(v))) : v;
  };
  const [x, y] = [key(a), key(b)];
  const byKey = x < y ? -1 : x > y ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  return f.sortOrder === "desc" ? -byKey : byKey;
}

/**
 * The search as websearch_to_tsquery should read it. A "-" negates the word (or quoted phrase) it
 * stands before; one before anything else means nothing, yet each is stacked as a NOT operator,
 * and 33 of them fail the query ("tsquery stack too small", SQLSTATE XX000). Those are dropped,
 * and a run of them before a word is one.
 */
export const webSearchText = (search: string): string =>
  search.replace(/-+(?=[\p{L}\p{N}_"])/gu, "-").replace(/-(?![\p{L}\p{N}_"])/gu, " ");

export async function listTasks(
  db: CommonQueryMethods,
  userId: string,
  f: TaskFilter,
): Promise<{ tasks: TaskView[]; next: Cursor | null }> {
  const where: FragmentSqlToken[] = [sql.fragment`t.user_id = ${userId}`];
  if (f.status && f.status !== "all") where.push(sql.fragment`t.status = ${f.status}`);
  if (f.priority?.length) where.push(sql.fragment`t.priority = any(${sql.array(f.priority, "text")})`);
  // Bounds on the indexed expression (tasks_user_due), so a range is an index range, not a filter.
  if (f.dueDateStart || f.dueDateEnd) where.push(sql.fragment`t.due_date is not null`);
  if (f.dueDateStart) where.push(sql.fragment`coalesce(t.due_date, 'infinity'::timestamptz) >= ${f.dueDateStart}::timestamptz`);
  if (f.dueDateEnd) where.push(sql.fragment`coalesce(t.due_date, 'infinity'::timestamptz) <= ${f.dueDateEnd}::timestamptz`);
  if (f.search) {
    // Words through the full-text index, or a substring of the title through the trigram index.
    where.push(
      sql.fragment`(t.search @@ websearch_to_tsquery('simple', ${webSearchText(f.search)}) or t.title ilike ${`%${f.search.replace(/[\\%_]/g, "\\$&")}%`})`,
    );
  }
  if (f.tags?.length) {
    // Resolve the user's tag ids first, then let task_tags(tag_id) drive. PostgreSQL folds both
    // sides (as its unique index on lower(name) does), whatever its locale.
    where.push(sql.fragment`t.id in (select tt.task_id from task_tags tt where tt.tag_id = any(array(
      select g.id from tags g where g.user_id = ${userId} and lower(g.name) in (select lower(x) from unnest(${sql.array(f.tags, "text")}) x))))`);
  }
  const key = sortExpr[f.sortBy];
  const desc = f.sortOrder === "desc";
  if (f.cursor) {
    const [value, id] = f.cursor;
    const typed =
      f.sortBy === "priority"
        ? sql.fragment`${Number(value)}::smallint`
        : f.sortBy === "title"
          ? sql.fragment`${String(value)}::text`
          : sql.fragment`${String(value)}::timestamptz`;
    where.push(desc ? sql.fragment`(${key}, t.id) < (${typed}, ${id}::uuid)` : sql.fragment`(${key}, t.id) > (${typed}, ${id}::uuid)`);
  }
  const order = desc ? sql.fragment`${key} desc, t.id desc` : sql.fragment`${key} asc, t.id asc`;
  const filter = sql.join(where, sql.fragment` and `);
  // A search of 3 characters or more first collects all of the user's matches (id and sort key)
  // through the (user_id, …) GIN indexes, then takes the page from them by a top-N sort. Left to
  // itself, the planner cannot estimate how many rows a word or fragment matches and walks the
  // sort index, filtering row by row until it has a page: fine for a frequent word, a scan of all
  // 100,000 tasks for a rare one (0.8 s measured). One user's matches are cheap to collect even for
  // a frequent word or fragment (10,000 matches: ~20 ms). Shorter fragments have no trigram for
  // the index and match most titles, so the walk finds a page at once: they keep the plain query.
  const collectMatches = f.search !== undefined && f.search.trim().length >= 3;
  const rows = collectMatches
    ? await db.any(sql.type(ListedRow)`
    with matches as materialized (select t.id, ${key} as k from tasks t where ${filter}),
    page as (select m.id from matches m order by ${desc ? sql.fragment`m.k desc, m.id desc` : sql.fragment`m.k asc, m.id asc`} limit ${f.limit + 1})
    select ${taskColumns}, lower(t.title) as title_key from page p join tasks t on t.id = p.id
    order by ${order}`)
    : await db.any(sql.type(ListedRow)`
    select ${taskColumns}, lower(t.title) as title_key from tasks t where ${filter}
    order by ${order} limit ${f.limit + 1}`);
  const page = rows.slice(0, f.limit);
  const last = page[page.length - 1];
  const tasks = page.map(({ title_key, ...task }) => task);
  if (rows.length <= f.limit || !last) return { tasks, next: null };
  return { tasks, next: [f.sortBy === "title" ? last.title_key : sortValue[f.sortBy](last), last.id] };
}
