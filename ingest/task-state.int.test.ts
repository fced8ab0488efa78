/**
 * The task a request sees is the projection's with the user's pending writes evolved over it. A
 * pending write stays in Redis until just after the processors' commit, so it may be in both: it
 * must count once (a version that never existed would make a client drop the real event).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newEvent } from "../common/contracts/index.ts";
import { openDb } from "../common/deps.ts";
import type { Db } from "../common/postgres.ts";
import { applyBatch } from "../processors/apply-batch.ts";
import { taskFields, testConfig, uniqueId } from "../test/harness.ts";
import { currentTask } from "./task-state.ts";

const config = testConfig();
let db: Db;

beforeAll(async () => {
  db = await openDb(config, 2);
});
afterAll(async () => {
  await db?.end();
});

describe("currentTask", () => {
  it("counts a pending write once when the projection holds it already, and evolves one it does not", async () => {
    const user = uniqueId("pending-twice");
    const on = (id: string) => ({ user_id: user, aggregate_id: id, correlation_id: randomUUID() });
    const id = randomUUID();
    const create = newEvent("task.created", on(id), { task: taskFields({ title: "a" }) });
    const rename = newEvent("task.updated", on(id), { changes: { title: { old: "a", new: "b" } } });
    const later = newEvent("task.updated", on(id), { changes: { title: { old: "b", new: "c" } } });
    await applyBatch(db, [create, rename]);

    // Both applied, still listed as pending: the stored task as it is.
    const stored = await currentTask(db, user, id, [create, rename]);
    expect(stored).toMatchObject({ title: "b", version: 2 });
    // One applied, one not: only the one not applied is evolved over it.
    expect(await currentTask(db, user, id, [create, rename, later])).toMatchObject({ title: "c", version: 3 });
    // Nothing applied yet (another task): the pending creation and edit alone.
    const fresh = randomUUID();
    const pending = [
      newEvent("task.created", on(fresh), { task: taskFields({ title: "x" }) }),
      newEvent("task.updated", on(fresh), { changes: { title: { old: "x", new: "y" } } }),
    ];
    expect(await currentTask(db, user, fresh, pending)).toMatchObject({ title: "y", version: 2 });
  });
});
