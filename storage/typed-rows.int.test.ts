/**
 * The row schemas of storage/ (slonik `sql.type`) against real rows, and what they cost.
 *
 * slonik 47 hands a query's schema to interceptors only (`resultParser` of the query context); the
 * production pool (common/postgres.ts) installs none, so rows are never validated at run time and a
 * schema costs nothing on the hot paths. This file checks both sides: the production pool returns
 * rows as PostgreSQL sent them, and a pool of its own that validates every row against its schema
 * reads every query of storage/ without a mismatch, so the types the schemas give are the truth.
 */
import { randomUUID } from "node:crypto";
import { createPool, type DatabasePool, type Interceptor, sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { newEvent } from "../common/contracts/index.ts";
import { openDb } from "../common/deps.ts";
import { type Db, typeParsers } from "../common/postgres.ts";
import { testConfig, uniqueId } from "../test/harness.ts";
import { aggregateHistory, eventsSince, latestSeq, storedEvents } from "./queries/events.ts";
import { enqueue, hasQueued, oldest, queuedCount, releaseRelayLock, remove, tryRelayLock } from "./queries/outbox.ts";
import { getTask, listTasks } from "./queries/tasks.ts";
import { findTagByName, getTag, listActivity, listReminders, listTags, userTimezone } from "./queries/user-data.ts";

const config = testConfig();
const validated: string[] = [];
const validating: Interceptor = {
  name: "validate-rows",
  transformRow: (ctx, query, row) => {
    const result = ctx.resultParser?.safeParse(row);
    if (result && !result.success)
      throw new Error(`row of "${query.sql.trim().slice(0, 80)}" does not fit its schema: ${result.error.message}`);
    validated.push(query.sql);
    return row;
  },
};

let db: Db;
let strict: DatabasePool;
const user = uniqueId("rows");
const taskId = randomUUID();
const tagId = randomUUID();
const eventId = randomUUID();
const T = "2026-03-04T05:06:07.089Z";

beforeAll(async () => {
  db = await openDb(config, 2);
  strict = await createPool(config.databaseUrl, { maximumPoolSize: 2, typeParsers, interceptors: [validating] });
  // Fixture rows, as the processors would have written them.
  await db.query(
    sql.unsafe`insert into users (id, timezone, seq, created_at, updated_at) values (${user}, 'Europe/Berlin', 1, ${T}, ${T})`,
  );
  await db.query(sql.unsafe`
    insert into tasks (id, user_id, title, description, status, priority, due_date, timezone, version, created_at, updated_at)
    values (${taskId}, ${user}, 'Pay rent', null, 'pending', 'high', ${T}, 'Europe/Berlin', 2, ${T}, ${T})`);
  await db.query(
    sql.unsafe`insert into tags (id, user_id, name, color, created_at, updated_at) values (${tagId}, ${user}, 'Home', null, ${T}, ${T})`,
  );
  await db.query(sql.unsafe`insert into task_tags (task_id, tag_id) values (${taskId}, ${tagId})`);
  await db.query(sql.unsafe`
    insert into reminders (id, task_id, user_id, before, at, remind_at, created_at) values
      (${randomUUID()}, ${taskId}, ${user}, 'PT1H', null, ${T}, ${T}),
      (${randomUUID()}, ${taskId}, ${user}, null, ${T}, ${T}, ${T})`);
  await db.query(sql.unsafe`
    insert into events (event_id, user_id, seq, aggregate_id, version, event_type, schema_version, "timestamp", correlation_id, data,
                        task_id, summary)
    values (${eventId}, ${user}, 1, ${taskId}, 1, 'task.deleted', '1.0.0', ${T}, ${randomUUID()}, '{}', ${taskId}, 'deleted "Pay rent"')`);
});
afterAll(async () => {
  await strict?.end();
  await db?.end();
});

describe("slonik without a result-parser interceptor", () => {
  it("returns rows as PostgreSQL sent them, whatever the schema says (no validation on the hot paths)", async () => {
    const row = await db.one(sql.type(z.object({ n: z.string() }))`select 1::int4 as n`);
    expect(row).toEqual({ n: 1 });
  });
});

describe("every query of storage/ fits its row schema", () => {
  it("tasks", async () => {
    const task = await getTask(strict, user, taskId);
    expect(task).toMatchObject({ id: taskId, description: null, priority: "high", due_date: T, tags: ["Home"], version: 2 });
    expect(task?.reminders).toEqual([
      expect.objectContaining({ before: "PT1H", remind_at: T, notified: false }),
      expect.objectContaining({ at: T, remind_at: T, notified: false }),
    ]);
    for (const sortBy of ["created_at", "due_date", "priority", "title"] as const) {
      const page = await listTasks(strict, user, {
        sortBy,
        sortOrder: "asc",
        limit: 10,
        search: "rent",
        tags: ["home"],
        status: "pending",
      });
      expect(page.tasks.map((t) => t.id)).toEqual([taskId]);
    }
  });

  it("tags, reminders, activity, settings", async () => {
    const tag = { id: tagId, name: "Home", color: null, created_at: T };
    expect(await listTags(strict, user, { limit: null })).toEqual({ tags: [tag], next: null });
    expect(await listTags(strict, user, { limit: 1, after: ["a", randomUUID()] })).toEqual({ tags: [tag], next: null });
    expect(await getTag(strict, user, tagId)).toMatchObject({ name: "Home" });
    expect(await findTagByName(strict, user, "HOME")).toMatchObject({ id: tagId });
    const { reminders, next } = await listReminders(strict, user, { limit: null });
    expect(reminders).toHaveLength(2);
    expect(next).toBeNull();
    expect(reminders.every((r) => r.task_id === taskId && !("before" in r && "at" in r))).toBe(true);
    const [first, second] = reminders;
    const page = await listReminders(strict, user, { limit: 1 });
    expect(page).toEqual({ reminders: [first], next: [T, first?.id] });
    expect(await listReminders(strict, user, { limit: 1, after: [T, first?.id ?? ""] })).toEqual({ reminders: [second], next: null });
    const entry = { seq: 1, event_id: eventId, task_id: taskId, action: "task.deleted", summary: 'deleted "Pay rent"', created_at: T };
    expect(await listActivity(strict, user, 10, { offset: 0 })).toEqual({ activity: [entry], next: null });
    expect(await listActivity(strict, user, 10, { before: 2 })).toEqual({ activity: [entry], next: null });
    expect(await listActivity(strict, user, 10, { before: 1 })).toEqual({ activity: [], next: null });
    expect(await userTimezone(strict, user)).toBe("Europe/Berlin");
    expect(await userTimezone(strict, uniqueId("nobody"))).toBe("UTC");
  });

  it("the event store", async () => {
    const [stored] = await storedEvents(strict, [eventId]);
    expect(stored).toMatchObject({ event_id: eventId, seq: 1, version: 1, timestamp: T, data: {} });
    expect(await eventsSince(strict, user, 0, 10)).toEqual([stored]);
    expect(await aggregateHistory(strict, user, taskId)).toEqual({ events: [stored], more: false });
    expect(await latestSeq(strict, user)).toBe(1);
    expect(await latestSeq(strict, uniqueId("nobody"))).toBe(0);
  });

  it("the outbox and its relay lock", async () => {
    const queuedUser = uniqueId("rows-queued");
    await enqueue(strict, newEvent("task.deleted", { user_id: queuedUser, aggregate_id: randomUUID(), correlation_id: randomUUID() }, {}));
    expect(await hasQueued(strict, queuedUser)).toBe(true);
    expect(await queuedCount(strict)).toBeGreaterThanOrEqual(1);
    const mine = (await oldest(strict, 100_000)).filter((r) => r.user_id === queuedUser);
    expect(mine).toHaveLength(1);
    expect(Buffer.isBuffer(mine[0]?.payload)).toBe(true);
    await remove(
      strict,
      mine.map((r) => r.id),
    );
    expect(await hasQueued(strict, queuedUser)).toBe(false);
    await strict.connect(async (c) => {
      expect(await tryRelayLock(c)).toBe(true);
      await releaseRelayLock(c);
    });
  });

  it("validated the rows it read", () => {
    expect(validated.length).toBeGreaterThan(10);
  });
});
