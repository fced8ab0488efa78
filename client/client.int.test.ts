/**
 * The client against the real stack (Kafka, PostgreSQL, Redis, the four services as separate OS
 * processes): its view follows the writes live; SIGKILLing the fan-out mid-stream loses and
 * doubles nothing; with WebSockets blocked, polling carries the events; retried writes with one
 * Idempotency-Key create one task.
 */

import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { signLocalToken } from "../common/auth.ts";
import { newEvent, serializeEvent, topicName } from "../common/contracts/index.ts";
import { createKafka, createProducer } from "../common/kafka.ts";
import { createTopics } from "../redpanda/create-topics.ts";
import { Cluster } from "../test/faults/cluster.ts";
import { testConfig, uniqueId } from "../test/harness.ts";
import { type Client, createClient, type FeedState, type ServerEvent } from "./index.ts";

const config = testConfig();
const cluster = new Cluster(config);
const baseUrl = `http://127.0.0.1:${config.ingestPort}`;
const wsUrl = `ws://127.0.0.1:${config.fanoutPort}`;

beforeAll(async () => {
  await createTopics(config);
  await cluster.startAll();
}, 180_000);
afterAll(async () => {
  await cluster.stopAll();
});

async function newClient(userId: string, over: Partial<Parameters<typeof createClient>[0]> = {}) {
  const token = await signLocalToken(config, userId);
  const client = createClient({
    baseUrl,
    wsUrl,
    getToken: () => token,
    WebSocket: WebSocket as never,
    storage: null,
    feed: { backoff: { initialMs: 100, maxMs: 1000 }, pollIntervalMs: 200 },
    ...over,
  });
  const events: ServerEvent[] = [];
  const states: FeedState[] = [];
  const feed = await client.start();
  feed.on("event", (e) => events.push(e));
  feed.on("state", (s) => states.push(s.state));
  return { client, events, states, feed };
}

const titles = (c: Client) => c.view.tasks.map((t) => t.title);

describe("client on the real stack", () => {
  it("shows a write at once, then confirms it from the live feed", async () => {
    const { client, events, feed } = await newClient(uniqueId("live"));
    await vi.waitFor(() => expect(feed.state.state).toBe("live"), { timeout: 30_000 });
    const w = await client.tasks.create({ title: "Pay rent", tags: ["home"], priority: "high" });
    expect(w.status).toBe(202);
    // Optimistic: in the view before its event arrived.
    expect(client.view.get(w.value.id)).toMatchObject({ title: "Pay rent", priority: "high" });
    expect(client.view.isPending(w.value.id)).toBe(true);
    await vi.waitFor(() => expect(client.view.isPending(w.value.id)).toBe(false), { timeout: 30_000 });
    expect(events.map((e) => e.event_id)).toContain(w.event_id);
    await client.tasks.complete(w.value.id);
    await vi.waitFor(() => expect(client.view.confirmed.get(w.value.id)?.status).toBe("completed"), { timeout: 10_000 });
    client.stop();
  });

  it("loses and doubles nothing when the fan-out is SIGKILLed mid-stream and restarted", async () => {
    const user = uniqueId("kill");
    const reader = await newClient(user);
    const writer = createClient({ baseUrl, getToken: () => signLocalToken(config, user), storage: null });
    await vi.waitFor(() => expect(reader.feed.state.state).toBe("live"), { timeout: 30_000 });
    const N = 60;
    for (let i = 0; i < N; i++) {
      if (i === 20) await cluster.kill("fanout");
      if (i === 40) await cluster.start("fanout");
      await writer.tasks.create({ title: `t${i}` });
    }
    await vi.waitFor(() => expect(reader.client.view.tasks).toHaveLength(N), { timeout: 30_000 });
    const seqs = reader.events.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(new Set(titles(reader.client)).size).toBe(N);
    // It noticed, carried on (polling while the fan-out was down) and went back to the WebSocket.
    expect(reader.states).toContain("reconnecting");
    await vi.waitFor(() => expect(reader.feed.state).toMatchObject({ state: "live", transport: "websocket" }), { timeout: 30_000 });
    reader.client.stop();
  });

  it("polls when WebSockets are blocked, and the view still follows", async () => {
    const user = uniqueId("blocked");
    // Nothing listens on this port: every upgrade fails like behind a proxy that blocks WebSockets.
    const reader = await newClient(user, { wsUrl: "ws://127.0.0.1:9" });
    await vi.waitFor(() => expect(reader.feed.state.transport).toBe("polling"), { timeout: 10_000 });
    const writer = createClient({ baseUrl, getToken: () => signLocalToken(config, user), storage: null });
    for (let i = 0; i < 10; i++) await writer.tasks.create({ title: `p${i}` });
    await vi.waitFor(() => expect(reader.client.view.tasks).toHaveLength(10), { timeout: 30_000 });
    expect(reader.events.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(reader.feed.state.transport).toBe("polling");
    reader.client.stop();
  });

  it("rolls back a write the server rejects after its 202 (write.rejected) and says why", async () => {
    const { client, feed } = await newClient(uniqueId("reject"));
    await vi.waitFor(() => expect(feed.state.state).toBe("live"), { timeout: 30_000 });
    const rejections: { reason: string; eventType: string; kind?: string }[] = [];
    client.view.on("rejected", (r) => rejections.push({ reason: r.reason, eventType: r.eventType, kind: r.pending?.kind }));
    // Ingest never accepts an edit of a task it knows to be deleted (pending writes count, and two
    // writes of one user at once are decided one after the other), so the deletion comes from
    // elsewhere: another writer of the log, straight to the broker. The edit sent right after it
    // is decided against the task not deleted yet and accepted; the processors apply the deletion
    // first (one partition per user) and cannot apply the edit.
    const producer = createProducer(createKafka(config, "client-test"));
    await producer.connect();
    const topic = topicName(config.topicPrefix, "taskEvents");
    for (let i = 0; i < 12 && rejections.length === 0; i++) {
      const t = await client.tasks.create({ title: `doomed ${i}` });
      await vi.waitFor(() => expect(client.view.pending.size).toBe(0), { timeout: 30_000 });
      const deletion = newEvent("task.deleted", { user_id: t.value.user_id, aggregate_id: t.value.id, correlation_id: randomUUID() }, {});
      await producer.send({ topic, messages: [{ key: deletion.user_id, value: serializeEvent(deletion) }] });
      await client.tasks.update(t.value.id, { title: "too late" }).catch(() => undefined);
      await vi.waitFor(() => expect(client.view.pending.size).toBe(0), { timeout: 30_000 });
    }
    await producer.disconnect();
    await vi.waitFor(() => expect(rejections.length).toBeGreaterThan(0), { timeout: 30_000 });
    // Each race that went the deletion's way is one rejection (a later round's may arrive too).
    for (const r of rejections) {
      expect(r).toMatchObject({ reason: "not_found", eventType: "task.updated" });
      // `kind` is known unless the rejection reached the client before the 202 did.
      expect(["update", undefined]).toContain(r.kind);
    }
    expect(client.view.pending.size).toBe(0);
    expect(client.view.tasks.filter((t) => t.title === "too late")).toEqual([]);
    client.stop();
  });

  it("on 4001 (token expired) asks getToken for a fresh token and resumes with since", async () => {
    const user = uniqueId("expiry");
    const refreshes: boolean[] = [];
    // The first token lives 3 s (the fan-out closes its socket with 4001 then); refreshed ones a day.
    let first = true;
    const getToken = async ({ refresh }: { refresh: boolean }) => {
      refreshes.push(refresh);
      const ttl = first ? "3s" : "24h";
      first = false;
      return signLocalToken(config, user, ttl);
    };
    const reader = await newClient(user, { getToken });
    const closes: number[] = [];
    reader.feed.on("state", (s) => s.lastClose && closes.push(s.lastClose.code));
    await vi.waitFor(() => expect(reader.feed.state.state).toBe("live"), { timeout: 30_000 });
    const writer = createClient({ baseUrl, getToken: () => signLocalToken(config, user), storage: null });
    await writer.tasks.create({ title: "before expiry" });
    await vi.waitFor(() => expect(closes).toContain(4001), { timeout: 30_000 });
    await writer.tasks.create({ title: "after expiry" });
    await vi.waitFor(() => expect(titles(reader.client).sort()).toEqual(["after expiry", "before expiry"]), { timeout: 30_000 });
    expect(refreshes).toContain(true);
    expect(reader.events.map((e) => e.seq)).toEqual([1, 2]);
    await vi.waitFor(() => expect(reader.feed.state).toMatchObject({ state: "live", transport: "websocket" }), { timeout: 30_000 });
    reader.client.stop();
  });

  it("a write retried with the same Idempotency-Key creates one task", async () => {
    const { client } = await newClient(uniqueId("idem"));
    const key = uniqueId("key");
    // Concurrent, like a retry fired while the first attempt is still in flight.
    const [a, b] = await Promise.all([
      client.tasks.create({ title: "once" }, { idempotencyKey: key }),
      client.tasks.create({ title: "once" }, { idempotencyKey: key }),
    ]);
    expect(a!.value.id).toBe(b!.value.id);
    await vi.waitFor(async () => expect((await client.tasks.list()).tasks).toHaveLength(1), { timeout: 30_000 });
    client.stop();
  });
});
