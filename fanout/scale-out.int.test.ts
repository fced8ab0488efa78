/**
 * Two fan-out instances on one stack: each receives from Redis only the events of the users it
 * holds sockets of (per-user channels), a user with sockets on both gets everything on both, and a
 * dropped subscriber connection still closes sockets with 1012 and they resume losing nothing.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signLocalToken } from "../common/auth.ts";
import type { Config } from "../common/config.ts";
import {
  apiClient,
  envFor,
  eventually,
  type RunningProcess,
  startProcess,
  startSystem,
  testConfig,
  uniqueId,
  type WsClient,
  wsConnect,
} from "../test/harness.ts";

const config = testConfig();
/** The second fan-out: same stack and prefixes, its own port. */
const config2: Config = { ...config, fanoutPort: config.fanoutPort + 7 };
let system: Awaited<ReturnType<typeof startSystem>>;
let second: RunningProcess;

beforeAll(async () => {
  system = await startSystem(config);
  second = startProcess(["fanout"], envFor(config2));
  await eventually(
    async () => {
      if (second.child.exitCode !== null) throw new Error(`second fan-out exited: ${second.output()}`);
      return (await fetch(`http://127.0.0.1:${config2.fanoutPort}/readyz`).catch(() => undefined))?.ok;
    },
    60_000,
    "second fan-out ready",
  );
});
afterAll(async () => {
  second?.child.kill("SIGTERM");
  await second?.exited;
  await system?.stop();
});

const user = async () => {
  const id = uniqueId("scale");
  return { id, token: await signLocalToken(config, id), api: apiClient(config, id, await signLocalToken(config, id)) };
};

async function metricOf(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = text.match(new RegExp(`^taskstream_${name} (\\d+)`, "m"));
  return m ? Number(m[1]) : 0;
}
const inbound = (port: number) => metricOf(port, "fanout_pubsub_messages_total");
const channels = (port: number) => metricOf(port, "fanout_user_channels");

async function connected(cfg: Config, u: { id: string; token: string }, since?: number): Promise<WsClient> {
  const ws = await wsConnect(cfg, u.id, u.token, since);
  await ws.waitFor((m) => m.type === "ready");
  return ws;
}
const seqsOf = (ws: WsClient) => ws.messages.filter((m) => m.type === "task.created").map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function create(u: { api: ReturnType<typeof apiClient> }, n: number, title: string) {
  for (let i = 0; i < n; i++) expect((await u.api("POST", "/tasks", { title: `${title} ${i}` })).status).toBe(202);
}

describe("fan-out scale-out (per-user channels)", () => {
  it("each instance receives only its users' events; a user on both gets everything on both", { timeout: 120_000 }, async () => {
    const [a, b, c] = [await user(), await user(), await user()];
    const a1 = await connected(config, a);
    const b2 = await connected(config2, b);
    const c1 = await connected(config, c);
    const c2 = await connected(config2, c);
    const [in1, in2] = [await inbound(config.fanoutPort), await inbound(config2.fanoutPort)];
    expect(await channels(config.fanoutPort)).toBe(2); // a and c
    expect(await channels(config2.fanoutPort)).toBe(2); // b and c

    await Promise.all([create(a, 3, "a"), create(b, 4, "b"), create(c, 5, "c")]);
    await a1.waitFor((m) => m.type === "task.created", 3);
    await b2.waitFor((m) => m.type === "task.created", 4);
    await c1.waitFor((m) => m.type === "task.created", 5);
    await c2.waitFor((m) => m.type === "task.created", 5);
    // Every event above is published by now. A marker for c, published after them: had instance 1
    // been subscribed to b's channel, b's messages would have reached it before the marker (one
    // connection, publish order), and likewise a's on instance 2.
    await create(c, 1, "marker");
    await c1.waitFor((m) => m.type === "task.created", 6);
    await c2.waitFor((m) => m.type === "task.created", 6);
    expect((await inbound(config.fanoutPort)) - in1).toBe(3 + 6);
    expect((await inbound(config2.fanoutPort)) - in2).toBe(4 + 6);
    expect(seqsOf(a1)).toEqual(range(1, 3));
    expect(seqsOf(b2)).toEqual(range(1, 4));
    expect(seqsOf(c1)).toEqual(range(1, 6));
    expect(seqsOf(c2)).toEqual(range(1, 6));

    // a moves to instance 2: instance 1 unsubscribes a's channel once its last socket is gone.
    a1.close();
    await eventually(async () => (await channels(config.fanoutPort)) === 1, 20_000, "instance 1 unsubscribed from a");
    const a2 = await connected(config2, a, 3);
    const in1b = await inbound(config.fanoutPort);
    await create(a, 2, "a moved");
    await a2.waitFor((m) => m.type === "task.created", 2);
    await create(c, 1, "marker 2");
    await c1.waitFor((m) => m.type === "task.created", 7);
    expect((await inbound(config.fanoutPort)) - in1b).toBe(1); // the marker only
    expect(seqsOf(a2)).toEqual(range(4, 5));
    for (const ws of [a2, b2, c1, c2]) ws.close();
  });

  it("a dropped subscriber connection closes sockets with 1012; resumed with since they lose nothing", { timeout: 120_000 }, async () => {
    const d = await user();
    const d1 = await connected(config, d);
    const d2 = await connected(config2, d);
    await create(d, 2, "before");
    await d1.waitFor((m) => m.type === "task.created", 2);
    await d2.waitFor((m) => m.type === "task.created", 2);
    const admin = new Redis(config.redisUrl);
    try {
      // Every pub/sub connection of this stack's Redis (both instances'); integration files run one at a time.
      await admin.client("KILL", "TYPE", "pubsub");
    } finally {
      admin.disconnect();
    }
    expect(await d1.closed).toBe(1012);
    expect(await d2.closed).toBe(1012);
    await create(d, 2, "while away");
    const r1 = await connected(config, d, 2);
    const r2 = await connected(config2, d, 2);
    await create(d, 1, "after");
    await r1.waitFor((m) => m.type === "task.created", 3);
    await r2.waitFor((m) => m.type === "task.created", 3);
    expect(seqsOf(r1)).toEqual(range(3, 5));
    expect(seqsOf(r2)).toEqual(range(3, 5));
    r1.close();
    r2.close();
  });
});
