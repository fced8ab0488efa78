/** Admission in the real Redis: Idempotency-Key answers kept, returned to retries, bounded per user; pending writes. */
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { newEvent } from "../common/contracts/index.ts";
import { createRedis, redisKeys } from "../common/redis.ts";
import { testConfig, uniqueId } from "../test/harness.ts";
import { admission, type Reply, TAG_NAMES } from "./admission.ts";

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

  it("are a 409 saying when to retry while the key's first request has not answered", async () => {
    const store = admission(redis, keys, limits, limits);
    const user = uniqueId("idem-busy");
    const first = await store.admit(user, { write: true, idempotencyKey: "k", fingerprint: "same request", aggregates: [user] });
    const busy = await store
      .admit(user, { write: true, idempotencyKey: "k", fingerprint: "same request", aggregates: [user] })
      .catch((err: unknown) => err);
    expect(busy).toMatchObject({ status: 409, code: "conflict", headers: { "retry-after": "1" } });
    await first.settle({ status: 202, body: { done: true } });
    const retry = await store.admit(user, { write: true, idempotencyKey: "k", fingerprint: "same request", aggregates: [user] });
    expect(retry.replay).toEqual({ status: 202, body: { done: true } });
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

describe("a write decided first (admitWrite)", () => {
  const settings = (user: string, tz: string, aggregate = user) =>
    newEvent(
      "settings.updated",
      { user_id: user, aggregate_id: aggregate, correlation_id: randomUUID() },
      { changes: { timezone: { old: "UTC", new: tz } } },
    );
  /** Any event of another aggregate than the user's settings (its type does not matter to admission). */
  const created = (user: string) => settings(user, "UTC", randomUUID());

  it("is admitted and remembered as pending in one step when the timezone and the quiet aggregates are as assumed", async () => {
    const store = admission(redis, keys, limits, limits);
    const user = uniqueId("first");
    await redis.set(keys.userTimezone(user), "Europe/Paris");
    expect(store.lastKnownTimezone(user)).toBeUndefined();
    await store.admit(user, { write: false, fingerprint: "", aggregates: [user] });
    expect(store.lastKnownTimezone(user)).toBe("Europe/Paris");
    const event = created(user);
    const outcome = await store.admitWrite(user, { fingerprint: "", timezone: "Europe/Paris", quiet: [user], event });
    expect(outcome.kind).toBe("accepted");
    const admitted = await store.admit(user, { write: false, fingerprint: "", aggregates: [event.aggregate_id], index: true });
    expect(admitted.pending.map((e) => e.event_id)).toEqual([event.event_id]);
    expect([...admitted.pendingIndex.keys()]).toEqual([event.event_id]);
  });

  it("does nothing when the timezone changed or the user's settings have a pending write, and says so", async () => {
    const store = admission(redis, keys, limits, limits);
    const user = uniqueId("stale");
    await redis.set(keys.userTimezone(user), "Asia/Tokyo");
    const first = created(user);
    expect((await store.admitWrite(user, { fingerprint: "", timezone: "UTC", quiet: [user], event: first })).kind).toBe("stale");
    // What Redis said is the next guess.
    expect(store.lastKnownTimezone(user)).toBe("Asia/Tokyo");
    await store.rememberPending(settings(user, "America/Chicago"));
    const second = created(user);
    expect((await store.admitWrite(user, { fingerprint: "", timezone: "Asia/Tokyo", quiet: [user], event: second })).kind).toBe("stale");
    const index = await store.admit(user, { write: false, fingerprint: "", aggregates: [], index: true });
    expect([...index.pendingIndex.keys()]).not.toContain(first.event_id);
    expect([...index.pendingIndex.keys()]).not.toContain(second.event_id);
    // Neither took a token of the rate limit.
    expect(await redis.exists(keys.rateLimit(user))).toBe(0);
  });

  it("honours the rate limit and Idempotency-Key like admit", async () => {
    const store = admission(redis, keys, { perSecond: 1, burst: 3 }, limits);
    const user = uniqueId("first-limits");
    await redis.set(keys.userTimezone(user), "UTC");
    const write = (key: string, fingerprint = "create x") =>
      store.admitWrite(user, { idempotencyKey: key, fingerprint, timezone: "UTC", quiet: [user], event: created(user) });
    const first = await write("k1");
    expect(first.kind).toBe("accepted");
    if (first.kind === "accepted") await first.settle({ status: 202, body: { n: 1 } });
    expect(await write("k1")).toEqual({ kind: "replay", reply: { status: 202, body: { n: 1 } } });
    await expect(write("k1", "another request")).rejects.toThrow(/different request/);
    const limited = await write("k2");
    expect(limited.kind).toBe("limited");
  });
});

describe("a write decided again (rememberIfUnchanged)", () => {
  const on = (user: string, aggregate: string) => ({ user_id: user, aggregate_id: aggregate, correlation_id: randomUUID() });
  const edit = (user: string, task: string) => newEvent("task.updated", on(user, task), { changes: { title: { old: "a", new: "b" } } });
  const rename = (user: string, tag: string) => newEvent("tag.updated", on(user, tag), { changes: { name: { old: "a", new: "b" } } });

  it("takes no rate-limit token when admitted again (charged: false)", async () => {
    const store = admission(redis, keys, { perSecond: 1, burst: 2 }, limits);
    const user = uniqueId("charged");
    const admit = (charged?: boolean) =>
      store.admit(user, { write: true, fingerprint: "", aggregates: [user], ...(charged === undefined ? {} : { charged }) });
    expect((await admit()).retryAfter).toBe(0);
    expect((await admit(true)).retryAfter).toBe(0);
    expect((await admit()).retryAfter).toBeGreaterThan(0);
    expect((await admit(false)).retryAfter).toBe(0);
    expect(Number(await redis.hget(keys.rateLimit(user), "tokens"))).toBeLessThan(1);
  });

  it("on a task's tag list (TAG_NAMES) is stale after any tag write or a write on its task, not after writes on other tasks", async () => {
    const store = admission(redis, keys, limits, limits);
    const user = uniqueId("retag");
    const [task, other, tag] = [randomUUID(), randomUUID(), randomUUID()];
    const seen = async (aggregates: string[]) =>
      (await store.admit(user, { write: true, fingerprint: "", aggregates: [user, ...aggregates] })).seen;
    const retag = async (before: Awaited<ReturnType<typeof seen>>) => store.rememberIfUnchanged(edit(user, task), before, false);

    let before = await seen([task, TAG_NAMES]);
    expect(await store.rememberIfUnchanged(edit(user, other), await seen([other]), false)).toBe(true);
    expect(await retag(before)).toBe(true);

    before = await seen([task, TAG_NAMES]);
    expect(await store.rememberIfUnchanged(rename(user, tag), await seen([tag]), true)).toBe(true);
    expect(await retag(before)).toBe(false);
    expect(await retag(await seen([task, TAG_NAMES]))).toBe(true);

    before = await seen([task, TAG_NAMES]);
    expect(await store.rememberIfUnchanged(edit(user, task), await seen([task]), false)).toBe(true);
    expect(await retag(before)).toBe(false);
    // A tag write itself is still compared on all the user's writes.
    const tagWrite = await seen([tag]);
    expect(await store.rememberIfUnchanged(edit(user, other), await seen([other]), false)).toBe(true);
    expect(await store.rememberIfUnchanged(rename(user, tag), tagWrite, true)).toBe(false);
  });
});
