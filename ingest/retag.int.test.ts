/**
 * Tagging tasks on the real stack: attaches and detaches on different tasks of one user do not race
 * each other, the same one sent twice is decided once, and a request decided again costs one
 * rate-limit token, not one per decision.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signLocalToken } from "../common/auth.ts";
import { createRedis, redisKeys } from "../common/redis.ts";
import { apiClient, eventually, startSystem, testConfig, uniqueId } from "../test/harness.ts";
import { TAG_NAMES } from "./admission.ts";

const limits = { RATE_LIMIT_BURST: "200", RATE_LIMIT_PER_SECOND: "1" };
const config = testConfig(limits);
const redis = createRedis(config, "retag-test");
const keys = redisKeys(config.redisPrefix);
let system: Awaited<ReturnType<typeof startSystem>>;
beforeAll(async () => {
  system = await startSystem(config, limits);
});
afterAll(async () => {
  redis.disconnect();
  await system.stop();
});

const user = async () => {
  const id = uniqueId("tagger");
  return { id, api: apiClient(config, id, await signLocalToken(config, id)) };
};
type User = Awaited<ReturnType<typeof user>>;

const createTasks = async (u: User, n: number): Promise<string[]> => {
  const created = await Promise.all(Array.from({ length: n }, (_, i) => u.api("POST", "/tasks", { title: `t${i}` })));
  expect(created.map((c) => c.status)).toEqual(created.map(() => 202));
  return created.map((c) => c.body.task.id as string);
};

/** The user's events once the marker write (a task creation after everything else) is applied. */
const eventsUpToMarker = async (u: User): Promise<{ event_type: string; aggregate_id: string; data: any }[]> => {
  const marker = await u.api("POST", "/tasks", { title: "marker" });
  expect(marker.status).toBe(202);
  return eventually(async () => {
    const events = (await u.api("GET", "/events?since=0&limit=500")).body.events as { event_id: string }[];
    return events.some((e) => e.event_id === marker.body.event_id) ? (events as any[]) : undefined;
  }, 20_000);
};

const decidedAgain = async (): Promise<number> => {
  const text = await (await fetch(`http://127.0.0.1:${config.ingestPort}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith("taskstream_ingest_writes_decided_again_total"))
    .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
};

describe("tagging different tasks of one user at once", () => {
  it("40 attaches of one tag to 40 tasks are all accepted (202) and all applied", async () => {
    const u = await user();
    const tag = (await u.api("POST", "/tags", { name: "shared" })).body.tag;
    const tasks = await createTasks(u, 40);
    const answers = await Promise.all(tasks.map((id) => u.api("POST", `/tasks/${id}/tags`, { tag_id: tag.id })));
    expect(answers.map((a) => `${a.status} ${a.status === 202 ? "" : JSON.stringify(a.body)}`)).toEqual(tasks.map(() => "202 "));
    const events = await eventsUpToMarker(u);
    expect(events.filter((e) => e.event_type === "write.rejected")).toEqual([]);
    const listed = (await u.api("GET", "/tasks?tags=shared&limit=100")).body.tasks as { id: string; tags: string[] }[];
    expect(listed.map((t) => t.id).sort()).toEqual([...tasks].sort());
    expect(listed.every((t) => t.tags.length === 1 && t.tags[0] === "shared")).toBe(true);
  });

  it("40 detaches of one tag from 40 tasks, by name or id, are all accepted and applied", async () => {
    const u = await user();
    const tasks = await createTasks(u, 40);
    const attached = await Promise.all(tasks.map((id) => u.api("POST", `/tasks/${id}/tags`, { name: "gone" })));
    expect(attached.map((a) => a.status)).toEqual(tasks.map(() => 202));
    const tag = (await u.api("GET", "/tags")).body.tags.find((t: { name: string }) => t.name === "gone");
    const detached = await Promise.all(tasks.map((id) => u.api("DELETE", `/tasks/${id}/tags/${tag.id}`)));
    expect(detached.map((a) => `${a.status} ${a.status === 202 ? "" : JSON.stringify(a.body)}`)).toEqual(tasks.map(() => "202 "));
    const events = await eventsUpToMarker(u);
    expect(events.filter((e) => e.event_type === "write.rejected")).toEqual([]);
    expect((await u.api("GET", "/tasks?tags=gone&limit=100")).body.tasks).toEqual([]);
  });
});

describe("the same tag write on one task sent twice at once", () => {
  it("is decided once: one write with an event and one without (nothing to change, event_id null), never one answered later with write.rejected", async () => {
    const u = await user();
    const tag = (await u.api("POST", "/tags", { name: "twice" })).body.tag;
    const tasks = await createTasks(u, 5);
    const attaches = await Promise.all(
      tasks.map((id, i) => {
        const body = i % 2 === 0 ? { tag_id: tag.id } : { name: "twice" };
        return Promise.all([u.api("POST", `/tasks/${id}/tags`, body), u.api("POST", `/tasks/${id}/tags`, body)]);
      }),
    );
    const decidedOnce = (pair: { status: number; body: { event_id: string | null } }[]) =>
      expect(pair.map((a) => [a.status, a.body.event_id === null]).sort()).toEqual([
        [202, false],
        [202, true],
      ]);
    for (const pair of attaches) decidedOnce(pair);
    const detaches = await Promise.all(tasks.map((id) => Promise.all([1, 2].map(() => u.api("DELETE", `/tasks/${id}/tags/${tag.id}`)))));
    for (const pair of detaches) decidedOnce(pair);
    const events = await eventsUpToMarker(u);
    expect(events.filter((e) => e.event_type === "write.rejected")).toEqual([]);
    // One attach and one detach per task.
    for (const id of tasks)
      expect(events.filter((e) => e.aggregate_id === id).map((e) => e.event_type)).toEqual([
        "task.created",
        "task.updated",
        "task.updated",
      ]);
  });

  it("a tag renamed while another is attached to a task carrying it: the task keeps the renamed tag, no old name comes back", async () => {
    const u = await user();
    for (let round = 0; round < 5; round++) {
      const [id] = await createTasks(u, 1);
      const old = (await u.api("POST", `/tasks/${id}/tags`, { name: `old ${round}` })).body.task;
      expect(old.tags).toEqual([`old ${round}`]);
      const tag = (await u.api("GET", "/tags")).body.tags.find((t: { name: string }) => t.name === `old ${round}`);
      const [renamed, attached] = await Promise.all([
        u.api("PATCH", `/tags/${tag.id}`, { name: `new ${round}` }),
        u.api("POST", `/tasks/${id}/tags`, { name: `added ${round}` }),
      ]);
      expect([renamed.status, attached.status]).toEqual([202, 202]);
      await eventsUpToMarker(u);
      expect((await u.api("GET", `/tasks/${id}`)).body.task.tags.sort()).toEqual([`added ${round}`, `new ${round}`]);
      const names = (await u.api("GET", "/tags")).body.tags.map((t: { name: string }) => t.name);
      expect(names).not.toContain(`old ${round}`);
    }
  });
});

describe("a write decided again", () => {
  it("takes one rate-limit token, not one per decision", async () => {
    const u = await user();
    const [id] = await createTasks(u, 1);
    // A pending write the processors will never apply: the attach waits its full second for it
    // (settled), each time it is decided, which leaves time to change what it decided on.
    await redis.hset(keys.pendingWrites(u.id), "never-applied", "nowhere");
    const before = await decidedAgain();
    const attach = u.api("POST", `/tasks/${id}/tags`, { name: "late" });
    await new Promise((r) => setTimeout(r, 300));
    // A tag write of the user accepted meanwhile (say by another ingest): the attach is decided again.
    const bumpedAt = Date.now();
    await redis.hincrby(keys.pendingEvents(u.id, TAG_NAMES), "~", 1);
    const answer = await attach;
    await redis.hdel(keys.pendingWrites(u.id), "never-applied");
    expect(answer.status).toBe(202);
    expect(await decidedAgain()).toBeGreaterThan(before);
    // The bucket was last drawn on before the bump: the second decision took no token.
    const bucket = await redis.hgetall(keys.rateLimit(u.id));
    expect(Number(bucket.ts)).toBeLessThan(bumpedAt);
  });
});
