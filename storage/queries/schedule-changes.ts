/**
 * The outbox of schedule changes between the processors and the scheduler (table
 * schedule_changes, migration 1700000000002). The processors record, in the transaction that
 * applies the events, one row per task with its latest desired schedule; the scheduler takes rows,
 * makes BullMQ match them and settles them. Every statement here is one round trip whatever the
 * number of rows.
 *
 * `scope` is the deployment's TOPIC_PREFIX: deployments sharing one database (the test stack)
 * each see only their own rows, as each had its own task-updates topic before.
 */
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import { isTaskSchedule, type ScheduleChange, type TaskSchedule } from "../../common/contracts/schedule.ts";
import { NoColumns } from "./rows.ts";

/** The channel the processors notify (payload: the scope) when they recorded changes; the scheduler listens on it. */
export const SCHEDULE_CHANGES_CHANNEL = "taskstream_schedule_changes";

/** A change as the scheduler took it: `revision` tells settle whether a newer one arrived meanwhile. */
export interface TakenScheduleChange extends ScheduleChange {
  revision: number;
  /** False when the stored schedule is not a TaskSchedule (then `schedule` is null and the row is only settled). */
  readable: boolean;
}

/**
 * Records the latest desired schedule of each task: one multi-row upsert, and one notification of
 * SCHEDULE_CHANGES_CHANNEL for the whole statement (delivered at commit, so the scheduler never
 * wakes for a change it cannot see yet). A row is only replaced by a change of at least its
 * version; an equal version replaces it (a series' next occurrence moves on without a version).
 * Several changes of one task in `changes` count as the one with the highest version (the last of
 * equal ones).
 */
export async function recordScheduleChanges(tx: CommonQueryMethods, changes: readonly ScheduleChange[], scope: string): Promise<void> {
  const write = scheduleChangesWrite(changes, scope);
  if (write) await tx.query(sql.type(NoColumns)`with ${write.cte} select ${write.notify}`);
}

/**
 * recordScheduleChanges as parts of a larger statement (storage/queries/projection.ts writes a
 * batch's projection and its schedule changes in one): a data-modifying CTE named `schedule_up`
 * and the expression of the final SELECT that notifies when it changed a row. Null when there is
 * nothing to record.
 */
export function scheduleChangesWrite(changes: readonly ScheduleChange[], scope: string) {
  if (changes.length === 0) return null;
  const latest = new Map<string, ScheduleChange>();
  for (const c of changes) {
    const seen = latest.get(c.task_id);
    if (!seen || c.version >= seen.version) latest.set(c.task_id, c);
  }
  const rows = [...latest.values()].map((c) => ({ task_id: c.task_id, user_id: c.user_id, version: c.version, schedule: c.schedule }));
  return {
    cte: sql.fragment`schedule_up as (
      insert into schedule_changes (scope, task_id, user_id, version, schedule, changed_at)
      select ${scope}, x.task_id, x.user_id, x.version, nullif(x.schedule, 'null'::jsonb), now()
      from jsonb_to_recordset(${sql.jsonb(rows)}) as x(task_id uuid, user_id text, version int, schedule jsonb)
      on conflict (scope, task_id) do update
        set user_id = excluded.user_id, version = excluded.version, schedule = excluded.schedule,
            revision = excluded.revision, changed_at = excluded.changed_at
        where excluded.version >= schedule_changes.version
      returning 1)`,
    notify: sql.fragment`(select pg_notify(${SCHEDULE_CHANGES_CHANNEL}, ${scope}) where exists (select 1 from schedule_up))`,
  };
}

/** `schedule` is whatever jsonb the row holds: it is checked (isTaskSchedule) before use. */
const ChangeRow = z.object({ task_id: z.string(), user_id: z.string(), version: z.number(), schedule: z.unknown(), revision: z.number() });
const CountRow = z.object({ count: z.number() });

/** Up to `limit` changes of the scope, oldest first. They stay until settled. */
export async function takeScheduleChanges(db: CommonQueryMethods, scope: string, limit: number): Promise<TakenScheduleChange[]> {
  const rows = await db.any(sql.type(ChangeRow)`
    select task_id, user_id, version, schedule, revision from schedule_changes
    where scope = ${scope} order by revision limit ${limit}`);
  return rows.map((r) => {
    const schedule = isTaskSchedule(r.schedule) ? r.schedule : null;
    return {
      task_id: r.task_id,
      user_id: r.user_id,
      version: r.version,
      revision: r.revision,
      schedule,
      readable: schedule !== null || r.schedule === null,
    };
  });
}

/**
 * Deletes the taken rows that still hold the revision taken; a change recorded meanwhile keeps
 * its row and is taken next time. Returns how many rows were deleted.
 */
export async function settleScheduleChanges(
  db: CommonQueryMethods,
  scope: string,
  taken: readonly Pick<TakenScheduleChange, "task_id" | "revision">[],
): Promise<number> {
  if (taken.length === 0) return 0;
  const keys = taken.map((t) => ({ task_id: t.task_id, revision: t.revision }));
  const result = await db.query(sql.type(NoColumns)`
    delete from schedule_changes s
    using jsonb_to_recordset(${sql.jsonb(keys)}) as x(task_id uuid, revision bigint)
    where s.scope = ${scope} and s.task_id = x.task_id and s.revision = x.revision`);
  return result.rowCount;
}

/** How many changes of the scope wait (a metric, and for tests). */
export async function pendingScheduleChanges(db: CommonQueryMethods, scope: string): Promise<number> {
  return db.oneFirst(sql.type(CountRow)`select count(*) from schedule_changes where scope = ${scope}`);
}

/** A task's scheduling state in the projection, with its version. */
export interface ProjectedSchedule {
  task_id: string;
  user_id: string;
  version: number;
  schedule: TaskSchedule;
}

const ProjectedScheduleRow = z.object({
  id: z.string(),
  user_id: z.string(),
  version: z.number(),
  status: z.enum(["pending", "completed"]),
  recurrence_rule: z.string().nullable(),
  next_occurrence: z.string().nullable(),
  reminders: z.array(z.object({ id: z.string(), remind_at: z.string() })),
});

/**
 * Scheduling state of these tasks as the projection holds it (read inside the applying
 * transaction, after its writes); a task missing from the result no longer exists.
 */
export async function projectedSchedules(db: CommonQueryMethods, taskIds: readonly string[]): Promise<ProjectedSchedule[]> {
  if (taskIds.length === 0) return [];
  const rows = await db.any(sql.type(ProjectedScheduleRow)`
    select t.id, t.user_id, t.version, t.status, t.recurrence_rule, t.next_occurrence,
           coalesce(json_agg(json_build_object('id', r.id, 'remind_at', r.remind_at) order by r.remind_at, r.id)
                    filter (where r.id is not null), '[]') as reminders
    from tasks t left join reminders r on r.task_id = t.id and not r.notified
    where t.id = any(${sql.array([...taskIds], "uuid")})
    group by t.id`);
  return rows.map((r) => ({
    task_id: r.id,
    user_id: r.user_id,
    version: r.version,
    schedule: {
      status: r.status,
      recurrence_rule: r.recurrence_rule,
      next_occurrence: r.next_occurrence,
      reminders: r.reminders.map((x) => ({ id: x.id, remind_at: new Date(x.remind_at).toISOString() })),
    },
  }));
}

/** A recurring task as the timezone move needs it (common/series.ts FollowingSeries). */
const SeriesInZoneRow = z.object({
  id: z.string(),
  timezone: z.string(),
  due_date: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  recurrence_rule: z.string().nullable(),
  next_occurrence: z.string().nullable(),
});
export type SeriesInZone = z.infer<typeof SeriesInZoneRow>;

/** The user's recurring tasks evaluated in `timezone` (those that follow the user's timezone). */
export async function seriesInTimezone(tx: CommonQueryMethods, userId: string, timezone: string): Promise<SeriesInZone[]> {
  return [
    ...(await tx.any(sql.type(SeriesInZoneRow)`
      select id, timezone, due_date, created_at, updated_at, recurrence_rule, next_occurrence from tasks
      where user_id = ${userId} and recurrence_rule is not null and timezone = ${timezone}
      order by id`)),
  ];
}
