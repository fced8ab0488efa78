/**
 * `npm start -- replay [--keep]`: rebuilds the projection from the immutable event store into a
 * fresh schema, with the same handlers the processors use, and diffs it against the live one.
 * Exit 0 when identical (seed SC-007). Events are replayed per user in seq order, as applied.
 */
import type { Config } from "../common/config.ts";
import { openDb } from "../common/deps.ts";
import { logger } from "../common/log.ts";
import type { Db } from "../common/postgres.ts";
import { migrate } from "../storage/migrate.ts";
import { dropSchema, eventsAfter, inSchema, tableDifferences } from "../storage/queries/replay.ts";
import { applyBatch } from "./apply-batch.ts";

const log = logger("replay");
const CHUNK = 1000;

/** What must match between the live projection and the rebuilt one (timestamps of row creation excluded for users). */
const compared: Record<string, string> = {
  users: "id, timezone, seq",
  tasks:
    "id, user_id, title, description, status, priority, due_date, timezone, recurrence_rule, recurrence_mode, next_occurrence, parent_task_id, version, created_at, updated_at, completed_at, follows_user_timezone",
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

export async function replayIntoSchema(config: Config, db: Db, schema: string, users?: string[]): Promise<ReplayReport> {
  await dropSchema(db, schema, { ifExists: true });
  await migrate(config, { schema });
  let events = 0;
  let position: [string, number] = ["", 0];
  for (;;) {
    const rows = await eventsAfter(db, position, CHUNK, users);
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
    differences[table] = await tableDifferences(db, schema, table, cols.split(", "), users);
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
    if (!args.includes("--keep")) await dropSchema(db, schema);
    return identical ? 0 : 2;
  } finally {
    await db.end();
  }
}
