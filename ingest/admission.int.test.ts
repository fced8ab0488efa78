/** Admission in the real Redis: Idempotency-Key answers kept, returned to retries, bounded per user; pending writes. */
import { afterAll, describe, expect, it } from "vitest";
import { newEvent } from "../common/contracts/index.ts";
import { createRedis, redisKeys } from "../common/redis.ts";
import { testConfig, uniqueId } from "../test/harness.ts";
import { admission, type Reply } from "./admission.ts";

const config = testConfig();
const redis = createRedis(config, "admission-test");
const keys = redisKeys(config.redisPrefix);
afterAll(() => redis.disconnect());
const limits = { perSecond: 1000, burst: 1000 };

describe("Idempotency-Key answers", () => {
  it("keep only the user's most recent keys, so Redis memory per user is bounded", async () => {
    const store = admission(redis, keys, limits, limits, 3);
    const user = uniqueId("idem");
    let writes = 0;
    const run = async (key: string): Promise<Reply> => {
      const admitted = await store.admit(user, { write: true, idempotencyKey: key, fingerprint: "same request", aggregates: [user] });
      if (admitted.replay) return admitted.replay;
      const reply = { status: 202, body: { n: ++writes } };
      await admitted.settle(reply);
      return reply;
    };
    for (const k of ["k1", "k2", "k3", "k4", "k5"]) await run(k);
    expect(writes).toBe(5);
    expect(await redis.zcard(keys.idempotencyIndex(user))).toBe(3);
    // A retry of a kept key returns its first answer and writes nothing.
    expect(await run("k5")).toEqual({ status: 202, body: { n: 5 } });
    expect(writes).toBe(5);
    // The oldest answers were let go.
    expect(await run("k1")).toEqual({ status: 202, body: { n: 6 } });
    // The same key for another request is a conflict.
    await expect(
      store.admit(user, { write: true, idempotencyKey: "k5", fingerprint: "other request", aggregates: [user] }),
    ).rejects.toThrow(/different request/);
  });
});

describe("pending writes", () => {
  it("come back with the next admission in the order they were accepted, until forgotten", async () => {
    const store = admission(redis, keys, limits, limits);
    const user = uniqueId("pending");
    const ctx = { user_id: user, aggregate_id: user, correlation_id: "00000000-0000-4000-8000-000000000000" };
    const events = ["UTC", "Europe/Paris", "Asia/Tokyo"].map((tz) =>
      newEvent("settings.updated", ctx, { changes: { timezone: { old: "UTC", new: tz } } }),
    );
    for (const e of events) await store.rememberPending(e);
    const admitted = await store.admit(user, { write: false, fingerprint: "", aggregates: [user], index: true });
    expect(admitted.pending.map((e) => e.event_id)).toEqual(events.map((e) => e.event_id));
    await store.forgetPending(events[1]!);
    const again = await store.admit(user, { write: false, fingerprint: "", aggregates: [user], index: true });
    expect(again.pending.map((e) => e.event_id)).toEqual([events[0]!.event_id, events[2]!.event_id]);
    expect([...again.pendingIndex.keys()].sort()).toEqual([events[0]!.event_id, events[2]!.event_id].sort());
    // Another aggregate's pending writes are not read.
    const elsewhere = await store.admit(user, { write: false, fingerprint: "", aggregates: ["some-task"] });
    expect(elsewhere.pending).toEqual([]);
  });
});
