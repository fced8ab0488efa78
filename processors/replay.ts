/**
 * `npm start -- replay [--keep]`: rebuilds the projection from the immutable event store into a
 * fresh schema, with the same handlers the processors use, and diffs it against the live one.
 * Exit 0 when identical (seed SC-007). Events are replayed per user in seq order, as applied.
 */
import { type DatabasePoolConnection, sql } from "slonik";
import type { Config } from "../common/config.ts";
import type { TaskEvent } from "../common/contracts/index.ts";
import { openDb } from "../common/deps.ts";
import { logger } from "../common/log.ts";
import type { Db } from "../common/postgres.ts";
import { migrate } from "../storage/migrate.ts";
import { applyBatch } from "./apply-batch.ts";

const log = logger("replay");
const CHUNK = 1000;

/** What must match between the live projection and the rebuilt one (timestamps of row creation excluded for users). */
const compared: Record<string, string> = {
  users: "id, timezone, seq",
  tasks:
    "id, user_id, title, description, status, priority, due_date, timezone, recurrence_rule, next_occurrence, parent_task_id, version, created_at, updated_at, completed_at",
  tags: "id, user_id, name, color, created_at, updated_at",
  task_tags: "task_id, tag_id",
  reminders: "id, task_id, user_id, before, at, remind_at, notified, notified_at, created_at",
  activity_logs: "user_id, event_id, seq, task_id, action, summary, created_at",
};

export interface ReplayReport {
  schema: string;
  events: number;
  differences: Record<string, number>;
}

async function inSchema<T>(db: Db, schema: string, fn: (c: DatabasePoolConnection) => Promise<T>): Promise<T> {
  return db.connect(async (c) => {
    await c.query(sql.unsafe`select set_config('search_path', ${`${schema}, public`}, false)`);
    try {
      return await fn(c);
    } finally {
      await c.query(sql.unsafe`reset search_path`);
    }
  });
}

export async function replayIntoSchema(config: Config, db: Db, schema: string, users?: string[]): Promise<ReplayReport> {
  await db.query(sql.unsafe`drop schema if exists ${sql.identifier([schema])} cascade`);
  await migrate(config, { schema });
  let events = 0;
  let position: [string, number] = ["", 0];
  const userFilter = users ? sql.fragment`and user_id = any(${sql.array(users, "text")})` : sql.fragment``;
  for (;;) {
    const rows = (await db.any(sql.unsafe`
      select user_id, seq, json_build_object(
        'event_id', event_id, 'event_type', event_type, 'schema_version', schema_version, 'user_id', user_id,
        'aggregate_id', aggregate_id, 'timestamp', to_char("timestamp" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'correlation_id', correlation_id, 'data', data) as event
      from public.events where (user_id, seq) > (${position[0]}, ${position[1]}) ${userFilter}
      order by user_id, seq limit ${CHUNK}`)) as { user_id: string; seq: number; event: TaskEvent }[];
    if (rows.length === 0) break;
    await inSchema(db, schema, (c) =>
      applyBatch(
        c,
        rows.map((r) => r.event),
      ),
    );
    events += rows.length;
    const last = rows[rows.length - 1]!;
    position = [last.user_id, last.seq];
  }
  const differences: Record<string, number> = {};
  for (const [table, cols] of Object.entries(compared)) {
    const s = sql.identifier([schema, table]);
    const p = sql.identifier(["public", table]);
    const c = sql.join(
      cols.split(", ").map((col) => sql.identifier([col])),
      sql.fragment`, `,
    );
    // With `users`, compare only their rows (other users may share the database, e.g. in tests).
    const only = users ? sql.array(users, "text") : null;
    const scope = (tasks: ReturnType<typeof sql.identifier>) =>
      !only
        ? sql.fragment``
        : table === "users"
          ? sql.fragment`where id = any(${only})`
          : table === "task_tags"
            ? sql.fragment`where task_id in (select id from ${tasks} where user_id = any(${only}))`
            : sql.fragment`where user_id = any(${only})`;
    differences[table] = (await db.oneFirst(sql.unsafe`
      select count(*) from (
        (select ${c} from ${p} ${scope(sql.identifier(["public", "tasks"]))} except all select ${c} from ${s})
        union all
        (select ${c} from ${s} except all select ${c} from ${p} ${scope(sql.identifier(["public", "tasks"]))})) d`)) as number;
  }
  return { schema, events, differences };
}

export async function replayCommand(config: Config, args: string[]): Promise<number> {
  const db = await openDb(config, 2);
  try {
    const schema = `replay_${Date.now()}`;
    const report = await replayIntoSchema(config, db, schema);
    const identical = Object.values(report.differences).every((n) => n === 0);
    log.info(report, identical ? "replayed projection is identical to the live one" : "replayed projection differs");
    process.stdout.write(`${JSON.stringify({ ...report, identical })}\n`);
    if (!args.includes("--keep")) await db.query(sql.unsafe`drop schema ${sql.identifier([schema])} cascade`);
    return identical ? 0 : 2;
  } finally {
    await db.end();
  }
}
