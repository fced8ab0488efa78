/**
 * Recurring series on the real stack (issue 16): instances spawned ahead of their due time with
 * the series' reminders, after_completion series, and edits that move only future instances.
 * Short periods: a daily rule anchored a day ago, so its next occurrence is seconds away, and
 * RECURRENCE_LEAD of a few seconds.
 */
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signLocalToken } from "../common/auth.ts";
import { openRedis } from "../common/deps.ts";
import { redisKeys } from "../common/redis.ts";
import { instanceId } from "../common/series.ts";
import { createTopics } from "../redpanda/create-topics.ts";
import { apiClient, envFor, eventually, type RunningProcess, startProcess, testConfig, uniqueId, wsConnect } from "../test/harness.ts";
import { occurrenceJobId, QUEUE_NAME } from "./jobs.ts";
import { bullConnection } from "./schedule.ts";

const LEAD_MS = 4000;
const DAY = 86_400_000;
const config = testConfig();
const env = envFor(config, { RATE_LIMIT_BURST: "100000", RATE_LIMIT_PER_SECOND: "100000", RECURRENCE_LEAD: `PT${LEAD_MS / 1000}S` });
const procs: RunningProcess[] = [];
let redis: Redis;
let queue: Queue;

async function start(role: string, port: number): Promise<RunningProcess> {
  const proc = startProcess([role], env);
  await eventually(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`${role} exited: ${proc.output()}`);
      return fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    60_000,
    `${role} ready`,
  );
  return proc;
}

const user = async (label: string) => {
  const id = uniqueId(label);
  const token = await signLocalToken(config, id);
  const ws = await wsConnect(config, id, token);
  await ws.waitFor((m) => m.type === "ready");
  return { id, token, api: apiClient(config, id, token), ws };
};

/** A daily series whose next occurrence is `inMs` from now (anchored a day earlier). */
const dailyDue = (inMs: number) => new Date(Date.now() - DAY + inMs).toISOString();

beforeAll(async () => {
  await createTopics(config);
  procs.push(
    ...(await Promise.all([
      start("processors", config.processorsPort),
      start("fanout", config.fanoutPort),
      start("ingest", config.ingestPort),
      start("scheduler", config.schedulerPort),
    ])),
  );
  redis = await openRedis(config, "series-test");
  queue = new Queue(QUEUE_NAME, { connection: bullConnection(redis), prefix: redisKeys(config.redisPrefix).bullPrefix });
  // Warm-up: the consumer groups have joined once a first reminder makes the whole round trip.
  const u = await user("warmup");
  expect((await u.api("POST", "/tasks", { title: "warm-up", reminders: [{ at: new Date(Date.now() + 500).toISOString() }] })).status).toBe(
    202,
  );
  await u.ws.waitFor((m) => m.type === "reminder.triggered", 1, 30_000);
  u.ws.close();
});

afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  const codes = await Promise.all(
    procs.map((p) => {
      if (p.child.exitCode !== null) return p.child.exitCode;
      p.child.kill("SIGTERM");
      return p.exited;
    }),
  );
  expect(codes).toEqual(codes.map(() => 0));
});

describe("spawn ahead, with the series' reminders", () => {
  it("each instance exists before its due time and its reminder arrives on the WebSocket within 1 s of its time", async () => {
    const alice = await user("alice");
    // Lead: the larger of RECURRENCE_LEAD (4 s) and the largest reminder + margin (min(lead, 1 min)): A 2 + 4 s, B 6 + 4 s.
    const [a, b] = await Promise.all([
      alice.api("POST", "/tasks", { title: "A", due_date: dailyDue(9000), recurrence_rule: "FREQ=DAILY", reminders: [{ before: "PT2S" }] }),
      alice.api("POST", "/tasks", {
        title: "B",
        due_date: dailyDue(20_000),
        recurrence_rule: "FREQ=DAILY",
        reminders: [{ before: "PT6S" }],
      }),
    ]);
    expect([a.status, b.status]).toEqual([202, 202]);
    for (const [series, before, leadMs] of [
      [a.body.task, 2000, 2000 + LEAD_MS],
      [b.body.task, 6000, 6000 + LEAD_MS],
    ] as const) {
      const occurrence = series.next_occurrence as string;
      const id = instanceId(series.id, occurrence);
      const [spawned] = await alice.ws.waitFor((m) => m.type === "recurring.spawned" && m.aggregate_id === id, 1, 30_000);
      // Spawned its lead time ahead, not at its due time.
      expect(spawned._at).toBeLessThan(Date.parse(occurrence));
      expect(spawned._at).toBeGreaterThanOrEqual(Date.parse(occurrence) - leadMs);
      expect(spawned.data).toMatchObject({ occurrence, late: false, task: { due_date: occurrence, parent_task_id: series.id } });
      const remindAt = new Date(Date.parse(occurrence) - before).toISOString();
      expect(spawned.data.task.reminders).toEqual([{ id: expect.any(String), before: `PT${before / 1000}S`, remind_at: remindAt }]);
      const instance = await alice.api("GET", `/tasks/${id}`);
      expect(instance.body.task).toMatchObject({ due_date: occurrence, parent_task_id: series.id, status: "pending" });
      expect(instance.body.task.reminders.map((r: { remind_at: string }) => r.remind_at)).toEqual([remindAt]);
      const [fired] = await alice.ws.waitFor((m) => m.type === "reminder.triggered" && m.aggregate_id === id, 1, 20_000);
      expect(fired.data).toMatchObject({ reminder_id: spawned.data.task.reminders[0].id, remind_at: remindAt, late: false });
      expect(fired._at - Date.parse(remindAt)).toBeGreaterThanOrEqual(0);
      expect(fired._at - Date.parse(remindAt)).toBeLessThan(1000);
      // The series moved on; the next occurrence's job fires its lead time before it.
      const next = spawned.data.parent_next_occurrence as string;
      expect(Date.parse(next) - Date.parse(occurrence)).toBe(DAY);
      await eventually(() => queue.getJob(occurrenceJobId(series.id, Date.parse(next), Date.parse(next) - leadMs)), 5000, "next job");
    }
    alice.ws.close();
  });
});
