/**
 * The processors' reads and writes of the projection, set-based: a batch's state is loaded in a
 * constant number of statements and its changes are written in a constant number, whatever the
 * batch's size (each statement skipped when it has nothing to do).
 */
import { type CommonQueryMethods, type FragmentSqlToken, sql } from "slonik";
import { z } from "zod";
import type { AppliedEvent } from "../../common/contracts/index.ts";
import type { ActivityEntry } from "../../common/domain/batch.ts";
import type { Reminder, Tag, Task } from "../../common/domain/model.ts";
import { NoColumns, prepared } from "./rows.ts";

/** Rows as one jsonb parameter, unpacked with jsonb_to_recordset. */
const rows = (values: readonly object[]) => sql.fragment`${JSON.stringify(values)}::jsonb`;

const ts = (column: string) =>
  sql.fragment`to_char(${sql.identifier(column.split("."))} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const envelope = sql.fragment`
  json_build_object(
    'event_id', e.event_id, 'event_type', e.event_type, 'schema_version', e.schema_version, 'user_id', e.user_id,
    'aggregate_id', e.aggregate_id, 'version', e.version, 'seq', e.seq, 'timestamp', ${ts("e.timestamp")},
    'correlation_id', e.correlation_id, 'data', e.data)`;

const taskJson = sql.fragment`
  json_build_object(
    'id', t.id, 'user_id', t.user_id, 'title', t.title, 'description', t.description, 'status', t.status,
    'priority', t.priority, 'due_date', ${ts("t.due_date")}, 'timezone', t.timezone, 'recurrence_rule', t.recurrence_rule,
    'recurrence_mode', t.recurrence_mode, 'next_occurrence', ${ts("t.next_occurrence")}, 'parent_task_id', t.parent_task_id, 'version', t.version,
    'created_at', ${ts("t.created_at")}, 'updated_at', ${ts("t.updated_at")}, 'completed_at', ${ts("t.completed_at")},
    'follows_user_timezone', t.follows_user_timezone,
    'tags', coalesce((select json_agg(g.name order by g.name) from task_tags tt join tags g on g.id = tt.tag_id where tt.task_id = t.id), '[]'),
    'reminders', coalesce((select json_agg(json_strip_nulls(json_build_object(
        'id', r.id, 'before', r.before, 'at', ${ts("r.at")}, 'remind_at', ${ts("r.remind_at")}, 'notified', r.notified,
        'notified_at', ${ts("r.notified_at")}, 'created_at', ${ts("r.created_at")})) order by r.remind_at, r.id)
      from reminders r where r.task_id = t.id), '[]'))`;

export type StoredReminder = Reminder & { created_at?: string };
export type UserTag = Tag & { user_id: string };

export interface BatchState {
  /** The batch's users that exist, as committed when the batch was read. */
  users: StoredUser[];
  /** Events of the batch (or their write.rejected answers) applied by an earlier delivery. */
  seen: AppliedEvent[];
  tasks: Task[];
  tags: UserTag[];
  /** Each aggregate's last version; aggregates without events are absent. */
  versions: Record<string, number>;
}

export interface StoredUser {
  id: string;
  seq: number;
  timezone: string;
}

/**
 * Creates the batch's users if new and locks them, in id order (no deadlock between concurrent
 * partitions), in one statement: while a batch holds a user, no other batch changes that user's
 * projection. (The no-op update takes the row lock and returns the row as last committed.)
 */
const LockedUser = z.object({ id: z.string(), seq: z.number(), timezone: z.string() });

export async function lockUsers(tx: CommonQueryMethods, userIds: string[]): Promise<StoredUser[]> {
  const sorted = [...userIds].sort();
  const rows = await tx.any(sql.type(LockedUser)`${prepared}
    insert into users (id, created_at, updated_at) select u, now(), now() from unnest(${sql.array(sorted, "text")}) with ordinality as x(u, n)
    order by n
    on conflict (id) do update set seq = users.seq
    returning id, seq, timezone`);
  return [...rows];
}

export interface BatchKeys {
  users: string[];
  eventIds: string[];
  /** Tasks the batch reads (uuids only). */
  taskIds: string[];
  /** Users whose tags the batch needs, and users whose recurring tasks it needs. */
  tagUsers: string[];
  seriesUsers: string[];
  aggregateIds: string[];
  /** Tasks the batch deletes: their pending instances are loaded too (a deleted series takes their reminders). */
  deletedTasks?: string[];
}

/** json columns built by the statement itself from stored rows (the contract's shapes). */
const BatchStateRow = z.object({
  users: z.custom<StoredUser[]>(),
  seen: z.custom<AppliedEvent[]>(),
  tasks: z.custom<Task[]>(),
  tags: z.custom<UserTag[]>(),
  versions: z.record(z.string(), z.number()),
}) satisfies z.ZodType<BatchState>;

/**
 * Everything a batch's events are evolved against, in one statement: one snapshot, so the users'
 * seqs it returns vouch for the rest (storeChanges checks them; see batch_guard).
 */
export async function loadBatchState(tx: CommonQueryMethods, k: BatchKeys): Promise<BatchState> {
  return tx.one(sql.type(BatchStateRow)`${prepared}
    select
      (select coalesce(json_agg(json_build_object('id', u.id, 'seq', u.seq, 'timezone', u.timezone)), '[]') from users u
        where u.id = any(${sql.array(k.users, "text")})) as users,
      (select coalesce(json_agg(${envelope} order by e.user_id, e.seq), '[]') from events e
        where e.event_id = any(${sql.array(k.eventIds, "uuid")})) as seen,
      -- One index lookup per kind of row, never an OR across them: an OR of these conditions made
      -- PostgreSQL scan every task of every user for each batch (and JIT-compile that plan). And
      -- "= any(array(…))", not "in (…)": the generic plan of the prepared statement cannot see the
      -- arrays' sizes; for "in" it scanned every task, for "= any" it looks the ids up by key.
      (select coalesce(json_agg(${taskJson}), '[]') from tasks t
        where t.id = any(array(
          select unnest(${sql.array(k.taskIds, "uuid")})
          -- the series of the batch's instances (completing one may spawn the next: after_completion)
          union select c.parent_task_id from tasks c where c.id = any(${sql.array(k.taskIds, "uuid")}) and c.parent_task_id is not null
          -- the pending instances of the series the batch deletes
          union select i.id from tasks i where i.parent_task_id = any(${sql.array(k.deletedTasks ?? [], "uuid")}) and i.status = 'pending'
          -- the recurring tasks of users whose timezone changes
          union select s.id from tasks s where s.user_id = any(${sql.array(k.seriesUsers, "text")}) and s.recurrence_rule is not null))) as tasks,
      (select coalesce(json_agg(json_build_object('user_id', g.user_id, 'id', g.id, 'name', g.name, 'color', g.color,
              'created_at', ${ts("g.created_at")}, 'updated_at', ${ts("g.updated_at")})), '[]') from tags g
        where g.user_id = any(${sql.array(k.tagUsers, "text")})) as tags,
      (select coalesce(json_object_agg(a.id, a.version), '{}') from (
         select x as id, (select max(version) from events where aggregate_id = x) as version
         from unnest(${sql.array(k.aggregateIds, "text")}) x) a where a.version is not null) as versions`);
}

/** What a batch changes, as rows. */
export interface ProjectionChanges {
  /** `expected`: the user's seq the batch was evolved from (0: the user may not exist yet). */
  users: (StoredUser & { expected: number })[];
  deletedTasks: string[];
  deletedTags: string[];
  tags: UserTag[];
  tasks: Task[];
  /** Tasks whose tag links are replaced by `links`. */
  relinkedTasks: string[];
  links: { task_id: string; tag_id: string }[];
  deletedReminders: string[];
  reminders: (StoredReminder & { task_id: string; user_id: string })[];
  events: AppliedEvent[];
  activity: ActivityEntry[];
}

/** A batch that changes nothing: every list empty. */
export const noChanges = (): ProjectionChanges => ({
  users: [],
  deletedTasks: [],
  deletedTags: [],
  tags: [],
  tasks: [],
  relinkedTasks: [],
  links: [],
  deletedReminders: [],
  reminders: [],
  events: [],
  activity: [],
});

/** A batch's schedule changes, written by the same statement as its projection (schedule-changes.ts). */
export type ScheduleWrite = { cte: FragmentSqlToken; notify: FragmentSqlToken } | null;

/**
 * Writes what a batch changed. Deletions go first, each in its own statement and only when there
 * are some (a row deleted and written again by one statement would race its own conflict check);
 * everything else is ONE statement of data-modifying CTEs, one per table that has rows (foreign
 * keys are checked at its end, so a new task's tags, links and reminders go in with it).
 *
 * That statement moves each changed user's seq on from the `expected` one, and ends with
 * batch_guard: when another batch changed one of these users since this one read them, it fails
 * with a serialization failure and writes nothing. So a batch read without locks (loadBatchState
 * alone) needs no transaction when it deletes nothing: one statement to read, one to write.
 */
export async function storeChanges(tx: CommonQueryMethods, c: ProjectionChanges, schedule: ScheduleWrite = null): Promise<void> {
  if (c.deletedTasks.length > 0)
    // Reminders and tag links go with a task (on delete cascade); its history stays in events.
    await tx.query(sql.type(NoColumns)`delete from tasks where id = any(${sql.array(c.deletedTasks, "uuid")})`);
  if (c.deletedTags.length > 0) await tx.query(sql.type(NoColumns)`delete from tags where id = any(${sql.array(c.deletedTags, "uuid")})`);
  if (c.relinkedTasks.length > 0)
    await tx.query(sql.type(NoColumns)`delete from task_tags where task_id = any(${sql.array(c.relinkedTasks, "uuid")})`);
  if (c.deletedReminders.length > 0)
    await tx.query(sql.type(NoColumns)`delete from reminders where id = any(${sql.array(c.deletedReminders, "uuid")})`);

  const writes: FragmentSqlToken[] = [];
  if (c.tags.length > 0)
    writes.push(sql.fragment`tags_up as (
      insert into tags (id, user_id, name, color, created_at, updated_at)
      select x.id, x.user_id, x.name, x.color, x.created_at, x.updated_at
      from jsonb_to_recordset(${rows(c.tags)}) as x(id uuid, user_id text, name text, color text, created_at timestamptz, updated_at timestamptz)
      on conflict (id) do update set name = excluded.name, color = excluded.color, updated_at = excluded.updated_at
      where tags.user_id = excluded.user_id)`);
  if (c.tasks.length > 0)
    writes.push(sql.fragment`tasks_up as (
      insert into tasks (id, user_id, title, description, status, priority, due_date, timezone, recurrence_rule, recurrence_mode,
                         next_occurrence, parent_task_id, version, created_at, updated_at, completed_at, follows_user_timezone)
      select x.id, x.user_id, x.title, x.description, x.status, x.priority, x.due_date, x.timezone, x.recurrence_rule,
             coalesce(x.recurrence_mode, 'schedule'), x.next_occurrence, x.parent_task_id, x.version, x.created_at, x.updated_at,
             x.completed_at, x.follows_user_timezone
      from jsonb_to_recordset(${rows(c.tasks.map(({ tags: _t, reminders: _r, ...row }) => row))}) as x(
        id uuid, user_id text, title text, description text, status text, priority text, due_date timestamptz, timezone text,
        recurrence_rule text, recurrence_mode text, next_occurrence timestamptz, parent_task_id uuid, version int, created_at timestamptz,
        updated_at timestamptz, completed_at timestamptz, follows_user_timezone boolean)
      on conflict (id) do update set
        title = excluded.title, description = excluded.description, status = excluded.status, priority = excluded.priority,
        due_date = excluded.due_date, timezone = excluded.timezone, recurrence_rule = excluded.recurrence_rule,
        recurrence_mode = excluded.recurrence_mode, next_occurrence = excluded.next_occurrence, version = excluded.version, updated_at = excluded.updated_at,
        completed_at = excluded.completed_at, follows_user_timezone = excluded.follows_user_timezone
      where tasks.user_id = excluded.user_id)`);
  if (c.links.length > 0)
    writes.push(sql.fragment`links_up as (
      insert into task_tags (task_id, tag_id) select x.task_id, x.tag_id from jsonb_to_recordset(${rows(c.links)}) as x(task_id uuid, tag_id uuid)
      on conflict do nothing)`);
  if (c.reminders.length > 0)
    writes.push(sql.fragment`reminders_up as (
      insert into reminders (id, task_id, user_id, before, at, remind_at, notified, notified_at, created_at)
      select x.id, x.task_id, x.user_id, x.before, x.at, x.remind_at, x.notified, x.notified_at, x.created_at
      from jsonb_to_recordset(${rows(c.reminders)}) as x(id uuid, task_id uuid, user_id text, before text, at timestamptz,
        remind_at timestamptz, notified boolean, notified_at timestamptz, created_at timestamptz)
      on conflict (id) do update set remind_at = excluded.remind_at, notified = excluded.notified, notified_at = excluded.notified_at
      where reminders.task_id = excluded.task_id)`);
  if (c.events.length > 0) {
    // Each event's activity entry (the task it touched, its summary) is stored in the event's own row.
    const activity = new Map(c.activity.map((a) => [a.event_id, a]));
    const eventRows = c.events.map((e) => {
      const a = activity.get(e.event_id);
      return { ...e, task_id: a?.task_id ?? null, summary: a?.summary ?? null };
    });
    writes.push(
      sql.fragment`events_in as (
        insert into events (event_id, user_id, seq, aggregate_id, version, event_type, schema_version, "timestamp", correlation_id, data,
                            task_id, summary)
        select x.event_id, x.user_id, x.seq, x.aggregate_id, x.version, x.event_type, x.schema_version, x.timestamp, x.correlation_id, x.data,
               x.task_id, x.summary
        from jsonb_to_recordset(${rows(eventRows)}) as x(
          event_id uuid, user_id text, seq bigint, aggregate_id text, version int, event_type text, schema_version text,
          "timestamp" timestamptz, correlation_id uuid, data jsonb, task_id text, summary text))`,
    );
  }
  const results: FragmentSqlToken[] = [];
  if (c.users.length > 0) {
    const user = sql.fragment`jsonb_to_recordset(${rows(c.users)}) as x(id text, seq bigint, timezone text, expected bigint)`;
    writes.push(
      sql.fragment`users_new as (
        insert into users (id, seq, timezone, created_at, updated_at) select x.id, x.seq, x.timezone, now(), now() from ${user}
        where x.expected = 0
        on conflict (id) do update set seq = excluded.seq, timezone = excluded.timezone, updated_at = now() where users.seq = 0
        returning 1)`,
      sql.fragment`users_up as (
        update users u set seq = x.seq, timezone = x.timezone, updated_at = now() from ${user}
        where x.expected > 0 and u.id = x.id and u.seq = x.expected
        returning 1)`,
    );
    results.push(sql.fragment`batch_guard((select count(*) from users_new) + (select count(*) from users_up) = ${c.users.length})`);
  }
  if (schedule) {
    writes.push(schedule.cte);
    results.push(schedule.notify);
  }
  if (writes.length === 0) return;
  await tx.query(
    sql.type(
      NoColumns,
    )`${prepared} with ${sql.join(writes, sql.fragment`, `)} select ${sql.join(results.length > 0 ? results : [sql.fragment`1`], sql.fragment`, `)}`,
  );
}
