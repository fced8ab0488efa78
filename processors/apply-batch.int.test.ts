/**
 * Batches of one user applied at the same time (a rebalance hands a partition over while its old
 * owner still writes; a user's task and reminder topics are consumed concurrently), on the real
 * PostgreSQL through the processors' own kind of pool: a batch reads without locks, and its write
 * is refused when another batch changed the same user in between (batch_guard); it then applies
 * again under the user's lock. Nothing is lost, nothing applied twice, the seq has no gap.
 */
import { randomUUID } from "node:crypto";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newEvent } from "../common/contracts/index.ts";
import { openDb } from "../common/deps.ts";
import { pgErrorCode } from "../common/failures.ts";
import type { Db } from "../common/postgres.ts";
import { noChanges, storeChanges } from "../storage/queries/projection.ts";
import { taskFields, testConfig, uniqueId } from "../test/harness.ts";
import { applyBatch } from "./apply-batch.ts";

const config = testConfig();
let db: Db;

beforeAll(async () => {
  db = await openDb(config, 6, { keyLookups: true });
});
afterAll(async () => {
  await db?.end();
});

const created = (user: string, title: string) =>
  newEvent("task.created", { user_id: user, aggregate_id: randomUUID(), correlation_id: randomUUID() }, { task: taskFields({ title }) });

const seqsOf = async (user: string) =>
  db.anyFirst(sql.unsafe`select seq from events where user_id = ${user} order by seq`) as Promise<readonly number[]>;

describe("batches of one user applied at once", () => {
  it("all land, each event once, under one gapless seq", async () => {
    const user = uniqueId("racer");
    const batches = Array.from({ length: 24 }, (_, b) => Array.from({ length: 1 + (b % 3) }, (_, i) => created(user, `b${b} e${i}`)));
    const results = await Promise.all(batches.map((events) => applyBatch(db, events)));
    const total = batches.flat().length;
    expect(results.flatMap((r) => r.rejected)).toEqual([]);
    expect(results.reduce((n, r) => n + r.applied.length, 0)).toBe(total);
    expect(await seqsOf(user)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(await db.oneFirst(sql.unsafe`select seq from users where id = ${user}`)).toBe(total);
    const tasks = await db.oneFirst(sql.unsafe`select count(*)::int from tasks where user_id = ${user}`);
    expect(tasks).toBe(total);
  });

  it("a write made from a stale read is refused whole (serialization failure) and changes nothing", async () => {
    const user = uniqueId("stale");
    await applyBatch(db, [created(user, "first")]);
    await applyBatch(db, [created(user, "second")]); // the user is at seq 2 now
    // Written as if read at seq 1 (a seq no other event holds, so nothing but the check refuses it).
    const late = { ...created(user, "from a stale read"), seq: 3, version: 1 };
    const write = storeChanges(db, { ...noChanges(), users: [{ id: user, seq: 3, timezone: "UTC", expected: 1 }], events: [late] });
    await expect(write.catch((err: unknown) => pgErrorCode(err))).resolves.toBe("40001");
    expect(await seqsOf(user)).toEqual([1, 2]);
    expect(await db.maybeOne(sql.unsafe`select 1 from events where event_id = ${late.event_id}`)).toBeNull();
  });
});

describe("a batch delivered again", () => {
  it("a write rejected by an earlier delivery is rejected again, with its reason, so its dead letter is sent at least once", async () => {
    const user = uniqueId("redelivered");
    const missing = randomUUID();
    const update = newEvent(
      "task.updated",
      { user_id: user, aggregate_id: missing, correlation_id: randomUUID() },
      { changes: { title: { old: "a", new: "b" } } },
    );
    const first = await applyBatch(db, [created(user, "before"), update]);
    expect(first.rejected).toMatchObject([{ event: { event_id: update.event_id }, code: "not_found" }]);
    // Redelivered (the dead letter or the publish failed after the commit): nothing is applied twice.
    const again = await applyBatch(db, [update]);
    expect(again.applied).toEqual([]);
    expect(again.rejected).toEqual([{ event: update, code: "not_found", reason: first.rejected[0]?.reason }]);
    expect(await seqsOf(user)).toEqual([1, 2]);
  });
});
