/**
 * The pipeline end to end on the real stack: HTTP → Kafka → processors → PostgreSQL/Redis →
 * WebSocket. Isolation, envelope, history, activity, replay with `since`, redelivery.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signLocalToken } from "../../common/auth.ts";
import { newEvent, serializeEvent, topicName } from "../../common/contracts/index.ts";
import { createKafka, createProducer } from "../../common/kafka.ts";
import { apiClient, eventually, startSystem, taskFields, testConfig, uniqueId, wsConnect } from "../harness.ts";

// A short Redis stream and replay window, so replays cross from PostgreSQL to Redis and past retention.
const config = testConfig({ EVENT_STREAM_MAXLEN: "40", REPLAY_MAX_EVENTS: "150" });
let system: Awaited<ReturnType<typeof startSystem>>;

beforeAll(async () => {
  system = await startSystem(config, { EVENT_STREAM_MAXLEN: "40", REPLAY_MAX_EVENTS: "150" });
  // Warm up: the first write after start also waits for the consumer group's first assignment.
  const w = await user("warmup");
  const ws = await wsConnect(config, w.id, w.token);
  await w.api("POST", "/tasks", { title: "warm-up" });
  await ws.waitFor((m) => m.type === "task.created", 1, 30_000);
  ws.close();
});
afterAll(async () => {
  expect(await system.stop()).toBe(0);
});

const user = async (label: string) => {
  const id = uniqueId(label);
  const token = await signLocalToken(config, id);
  return { id, token, api: apiClient(config, id, token) };
};

describe("real-time delivery", () => {
  it("reaches every socket of the owner, with the contract's envelope, and nobody else", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const [a1, a2, b1] = await Promise.all([
      wsConnect(config, alice.id, alice.token),
      wsConnect(config, alice.id, alice.token),
      wsConnect(config, bob.id, bob.token),
    ]);
    await Promise.all([a1, a2, b1].map((c) => c.waitFor((m) => m.type === "ready")));

    const sent = Date.now();
    const res = await alice.api("POST", "/tasks", { title: "Pay rent", priority: "high", tags: ["home"] });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ task: { title: "Pay rent", status: "pending", priority: "high", tags: ["home"] }, queued: false });
    const [m1] = await a1.waitFor((m) => m.type === "task.created");
    const [m2] = await a2.waitFor((m) => m.type === "task.created");
    for (const m of [m1, m2]) {
      expect(m).toMatchObject({
        type: "task.created",
        event_type: "task.created",
        event_id: res.body.event_id,
        correlation_id: res.body.correlation_id,
        user_id: alice.id,
        aggregate_id: res.body.task.id,
        schema_version: "1.0.0",
        version: 1,
        seq: 1,
      });
      expect(m.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(m._at - sent).toBeLessThan(500);
    }
    // Bob's socket stays silent while Alice's events flow.
    await alice.api("POST", "/tasks", { title: "second" });
    await a1.waitFor((m) => m.type === "task.created", 2);
    expect(b1.messages.filter((m) => m.type !== "ready")).toEqual([]);
    for (const c of [a1, a2, b1]) c.close();
  });

  it("refuses another user's path: 403 over HTTP and at the WebSocket upgrade", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const asBob = apiClient(config, alice.id, bob.token);
    expect((await asBob("GET", "/tasks")).status).toBe(403);
    expect((await asBob("POST", "/tasks", { title: "intrusion" })).status).toBe(403);
    await expect(wsConnect(config, alice.id, bob.token)).rejects.toMatchObject({ status: 403 });
    await expect(wsConnect(config, alice.id, "not-a-jwt")).rejects.toMatchObject({ status: 401 });
  });
});

describe("history and activity", () => {
  it("returns create, update, complete, delete in order with old and new values", async () => {
    const u = await user("hist");
    const ws = await wsConnect(config, u.id, u.token);
    const created = await u.api("POST", "/tasks", { title: "Draft report" });
    const id = created.body.task.id;
    expect((await u.api("PATCH", `/tasks/${id}`, { title: "Final report" })).status).toBe(202);
    expect((await u.api("POST", `/tasks/${id}/complete`)).status).toBe(202);
    expect((await u.api("DELETE", `/tasks/${id}`)).status).toBe(202);
    await ws.waitFor((m) => m.type === "task.deleted");
    ws.close();

    const history = await u.api("GET", `/tasks/${id}/history`);
    expect(history.status).toBe(200);
    const events = history.body.events;
    expect(events.map((e: any) => e.event_type)).toEqual(["task.created", "task.updated", "task.completed", "task.deleted"]);
    expect(events.map((e: any) => e.version)).toEqual([1, 2, 3, 4]);
    for (const e of events) {
      expect(e.user_id).toBe(u.id);
      expect(e.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Date.parse(e.timestamp)).not.toBeNaN();
    }
    expect(events[1].data.changes.title).toEqual({ old: "Draft report", new: "Final report" });
    const activity = await u.api("GET", "/activity-logs?limit=10");
    expect(activity.body.activity.map((a: any) => a.action)).toEqual(["task.deleted", "task.completed", "task.updated", "task.created"]);
    expect(activity.body.next_cursor).toBeNull();
    // Paged by cursor like every list (CONTRACT.md), and by offset as before.
    const first = await u.api("GET", "/activity-logs?limit=3");
    expect(first.body.activity.map((a: any) => a.action)).toEqual(["task.deleted", "task.completed", "task.updated"]);
    expect(first.body.next_offset).toBe(3);
    const rest = await u.api("GET", `/activity-logs?limit=3&cursor=${first.body.next_cursor}`);
    expect(rest.body.activity.map((a: any) => a.action)).toEqual(["task.created"]);
    expect(rest.body.next_cursor).toBeNull();
    expect((await u.api("GET", "/activity-logs?cursor=x")).status).toBe(400);
    expect((await u.api("GET", `/tasks/${id}`)).status).toBe(404);
  });
});

describe("reconnect with since", () => {
  it("replays exactly the missed events in order, across the PostgreSQL/Redis boundary, then live ones", async () => {
    const u = await user("resume");
    const first = await wsConnect(config, u.id, u.token);
    await u.api("POST", "/tasks", { title: "before disconnect" });
    const [seen] = await first.waitFor((m) => m.type === "task.created");
    first.close();
    // 100 events while away; the Redis stream keeps only ~40 of them.
    for (let i = 0; i < 100; i++) expect((await u.api("POST", "/tasks", { title: `missed ${i}` })).status).toBe(202);
    await eventually(
      async () => (await u.api("GET", `/events?since=${seen.seq}&limit=1`)).body.seq === seen.seq + 100,
      20_000,
      "all applied",
    );

    const again = await wsConnect(config, u.id, u.token, seen.seq);
    const [ready] = await again.waitFor((m) => m.type === "ready");
    const replayed = again.messages.filter((m) => m.type === "task.created");
    expect(replayed.map((m) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => seen.seq + 1 + i));
    expect(replayed.map((m) => m.data.task.title)).toEqual(Array.from({ length: 100 }, (_, i) => `missed ${i}`));
    expect(ready.seq).toBe(seen.seq + 100);
    await u.api("POST", "/tasks", { title: "live after replay" });
    const live = await again.waitFor((m) => m.type === "task.created", 101);
    expect(live[100].seq).toBe(seen.seq + 101);
    again.close();

    const polled = await u.api("GET", `/events?since=${seen.seq}&limit=1000`);
    expect(polled.body.events.map((e: any) => e.seq)).toEqual(Array.from({ length: 101 }, (_, i) => seen.seq + 1 + i));
  });

  it("asks a client from before the replay window to resync; polls every page contiguous, from PostgreSQL and the stream", async () => {
    const u = await user("stale");
    for (let i = 0; i < 160; i++) await u.api("POST", "/tasks", { title: `t${i}` });
    await eventually(async () => (await u.api("GET", "/events?since=159&limit=1")).body.seq === 160, 20_000, "all applied");
    // The stream keeps the last 40 (seq 121-160): pages before, across and within it, of limits around a batch (100).
    for (const [since, limit] of [
      [15, 1],
      [15, 99],
      [15, 100],
      [15, 101],
      [100, 30],
      [100, 150],
      [120, 40],
      [130, 100],
      [159, 1000],
    ] as const) {
      const page = await u.api("GET", `/events?since=${since}&limit=${limit}`);
      const want = Array.from({ length: Math.min(limit, 160 - since) }, (_, i) => since + 1 + i);
      expect(
        page.body.events.map((e: { seq: number }) => e.seq),
        `since ${since}, limit ${limit}`,
      ).toEqual(want);
    }
    const ws = await wsConnect(config, u.id, u.token, 0);
    const [ready] = await ws.waitFor((m) => m.type === "ready");
    expect(ws.messages[0]).toMatchObject({ type: "resync_required", seq: 160 });
    expect(ws.messages.filter((m) => m.type === "task.created")).toEqual([]);
    expect(ready.seq).toBe(160);
    ws.close();
  });
});

describe("redelivery", () => {
  it("applies an event delivered twice once and notifies once", async () => {
    const u = await user("redeliver");
    const ws = await wsConnect(config, u.id, u.token);
    const producer = createProducer(createKafka(config, "redelivery-test"));
    await producer.connect();
    const e = newEvent(
      "task.created",
      { user_id: u.id, aggregate_id: randomUUID(), correlation_id: randomUUID() },
      {
        task: taskFields({ title: "twice", priority: "low" }),
      },
    );
    const topic = topicName(config.topicPrefix, "taskEvents");
    await producer.send({ topic, messages: [{ key: u.id, value: serializeEvent(e) }] });
    await ws.waitFor((m) => m.event_id === e.event_id);
    await producer.send({ topic, messages: [{ key: u.id, value: serializeEvent(e) }] });
    // A marker written after the duplicate proves the duplicate was consumed before we count.
    await u.api("POST", "/tasks", { title: "marker" });
    await ws.waitFor((m) => m.data?.task?.title === "marker");
    await producer.disconnect();
    expect(ws.messages.filter((m) => m.event_id === e.event_id)).toHaveLength(1);
    const list = await u.api("GET", "/tasks");
    expect(list.body.tasks.filter((t: any) => t.title === "twice")).toHaveLength(1);
    expect((await u.api("GET", "/events?since=0")).body.events.map((x: any) => x.seq)).toEqual([1, 2]);
    ws.close();
  });
});
