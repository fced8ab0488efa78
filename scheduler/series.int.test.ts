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
import { serializeEvent, topicName } from "../common/contracts/index.ts";
import { openRedis } from "../common/deps.ts";
import { createKafka, createProducer, type Producer } from "../common/kafka.ts";
import { redisKeys } from "../common/redis.ts";
import { instanceId } from "../common/series.ts";
import { createTopics } from "../redpanda/create-topics.ts";
import { apiClient, envFor, eventually, type RunningProcess, startProcess, testConfig, uniqueId, wsConnect } from "../test/harness.ts";
import { occurrenceJobId, QUEUE_NAME, reminderJobId } from "./jobs.ts";
import { bullConnection } from "./schedule.ts";

const LEAD_MS = 4000;
const DAY = 86_400_000;
const config = testConfig();
const env = envFor(config, { RATE_LIMIT_BURST: "100000", RATE_LIMIT_PER_SECOND: "100000", RECURRENCE_LEAD: `PT${LEAD_MS / 1000}S` });
const procs: RunningProcess[] = [];
let redis: Redis;
let queue: Queue;
let producer: Producer;

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

/** The scheduler's histogram of occurrence jobs' lateness, as far as it is now. */
async function occurrenceLateness(): Promise<{ sum: number; count: number }> {
  const metrics = await (await fetch(`http://127.0.0.1:${config.schedulerPort}/metrics`)).text();
  const read = (what: string) =>
    Number(new RegExp(`^taskstream_scheduler_firing_lateness_seconds_${what}\\{kind="occurrence"\\} (\\S+)$`, "m").exec(metrics)?.[1] ?? 0);
  return { sum: read("sum"), count: read("count") };
}

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
  producer = createProducer(createKafka(config, "series-test"));
  await producer.connect();
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
  await producer?.disconnect();
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
    const before = await occurrenceLateness();
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
    // The scheduler's lateness of an occurrence job is measured from its spawn time (its lead before
    // the occurrence), not from the occurrence: on time here, not a lead's worth early.
    const after = await occurrenceLateness();
    const [sum, count] = [after.sum - before.sum, after.count - before.count];
    expect(count).toBeGreaterThan(0);
    expect(sum / count).toBeGreaterThanOrEqual(0);
    expect(sum / count).toBeLessThan(1);
    alice.ws.close();
  });
});

describe("after_completion", () => {
  it("a new series is its own first instance; completing instance k spawns k+1 once, also when the completion is redelivered", async () => {
    const alice = await user("alice");
    const res = await alice.api("POST", "/tasks", {
      title: "Water the plants",
      due_date: new Date(Date.now() - 2 * DAY).toISOString(),
      recurrence_rule: "FREQ=DAILY",
      recurrence_mode: "after_completion",
      reminders: [{ before: "PT1H" }],
      tags: ["garden"],
    });
    expect(res.status).toBe(202);
    const series = res.body.task;
    expect(series.recurrence_mode).toBe("after_completion");
    // The series is the current instance until it is completed (CONTRACT: the next instance appears when the current one is completed).
    expect(series.next_occurrence).toBe(series.due_date);
    expect((await alice.api("POST", `/tasks/${series.id}/complete`)).status).toBe(202);
    const [seriesDone] = await alice.ws.waitFor((m) => m.type === "task.completed" && m.aggregate_id === series.id, 1, 10_000);
    const [first] = await alice.ws.waitFor((m) => m.type === "recurring.spawned" && m.data.task.parent_task_id === series.id, 1, 15_000);
    expect(first.seq).toBe(seriesDone.seq + 1); // in the completion's batch, and nothing before it
    const k = first.aggregate_id;
    expect(k).toBe(instanceId(series.id, first.data.occurrence));
    expect(first.data.task).toMatchObject({ due_date: first.data.occurrence, parent_task_id: series.id, tags: ["garden"] });
    expect(Date.parse(first.data.occurrence)).toBeGreaterThan(Date.parse(seriesDone.data.completed_at));
    // No occurrence job: instances come with completions, not the clock.
    const jobs = await redis.smembers(`${config.redisPrefix}:sched:task:{${series.id}}:jobs`);
    expect(jobs.filter((j) => j.startsWith("occurrence."))).toEqual([]);

    expect((await alice.api("POST", `/tasks/${k}/complete`)).status).toBe(202);
    const [done] = await alice.ws.waitFor((m) => m.type === "task.completed" && m.aggregate_id === k, 1, 10_000);
    const [second] = await alice.ws.waitFor(
      (m) => m.type === "recurring.spawned" && m.data.task.parent_task_id === series.id && m.aggregate_id !== k,
      1,
      10_000,
    );
    // k was completed before its due time: k+1 is the rule's occurrence after k's own due date (daily, UTC).
    expect(Date.parse(first.data.occurrence)).toBeGreaterThan(Date.parse(done.data.completed_at));
    expect(second.data.occurrence).toBe(new Date(Date.parse(first.data.occurrence) + DAY).toISOString());
    expect(second.aggregate_id).toBe(instanceId(series.id, second.data.occurrence));
    expect(second.seq).toBe(done.seq + 1); // in the completion's batch

    // The completion redelivered (same event, as after a crash before the offset commit).
    const { seq: _s, version: _v, _at: _a, type: _t, ...original } = done;
    await producer.send({
      topic: topicName(config.topicPrefix, "taskEvents"),
      messages: [{ key: alice.id, value: serializeEvent(original), headers: { event_type: original.event_type } }],
    });
    // A later write of the same user proves the redelivery was processed (one partition per user, in order).
    expect((await alice.api("PATCH", `/tasks/${series.id}`, { title: "Water the plants!" })).status).toBe(202);
    await alice.ws.waitFor((m) => m.type === "task.updated" && m.aggregate_id === series.id, 1, 10_000);
    // Reopened and completed again: still the one k+1.
    expect((await alice.api("POST", `/tasks/${k}/uncomplete`)).status).toBe(202);
    expect((await alice.api("POST", `/tasks/${k}/complete`)).status).toBe(202);
    await alice.ws.waitFor((m) => m.type === "task.completed" && m.aggregate_id === k, 2, 10_000);
    expect((await alice.api("PATCH", `/tasks/${series.id}`, { title: "Water the plants" })).status).toBe(202);
    await alice.ws.waitFor((m) => m.type === "task.updated" && m.aggregate_id === series.id, 2, 10_000);
    const spawns = alice.ws.messages.filter((m) => m.type === "recurring.spawned");
    expect(spawns.map((m) => m.aggregate_id)).toEqual([k, second.aggregate_id]);
    const after = await alice.api("GET", `/tasks/${series.id}`);
    expect(after.body.task).toMatchObject({ recurrence_mode: "after_completion", next_occurrence: second.data.occurrence });
    alice.ws.close();
  });
});

describe("editing a series", () => {
  it("moves only future instances: the spawned one keeps its due date, the next follows the new rule", async () => {
    const alice = await user("alice");
    const res = await alice.api("POST", "/tasks", { title: "Sync", due_date: dailyDue(6000), recurrence_rule: "FREQ=DAILY" });
    const series = res.body.task;
    const occurrence = series.next_occurrence as string;
    const k = instanceId(series.id, occurrence);
    const [spawned] = await alice.ws.waitFor((m) => m.type === "recurring.spawned" && m.aggregate_id === k, 1, 20_000);
    const tomorrow = spawned.data.parent_next_occurrence as string;
    const oldJob = occurrenceJobId(series.id, Date.parse(tomorrow), Date.parse(tomorrow) - LEAD_MS);
    await eventually(() => queue.getJob(oldJob), 5000, "tomorrow's job");

    const edit = await alice.api("PATCH", `/tasks/${series.id}`, { recurrence_rule: "FREQ=WEEKLY" });
    expect(edit.status).toBe(202);
    const next = edit.body.task.next_occurrence as string;
    expect(Date.parse(next) - Date.parse(series.due_date)).toBe(7 * DAY);
    await eventually(
      async () =>
        !(await queue.getJob(oldJob)) && (await queue.getJob(occurrenceJobId(series.id, Date.parse(next), Date.parse(next) - LEAD_MS))),
      5000,
      "job moved to the new rule",
    );
    const instance = await alice.api("GET", `/tasks/${k}`);
    expect(instance.body.task).toMatchObject({ due_date: occurrence, parent_task_id: series.id, status: "pending" });
    alice.ws.close();
  });
});

describe("switching a series to after_completion", () => {
  it("the instance the clock spawned ahead becomes the current one: no second instance, and completing it spawns the next", async () => {
    const alice = await user("alice");
    const res = await alice.api("POST", "/tasks", {
      title: "Switch",
      due_date: dailyDue(6000),
      recurrence_rule: "FREQ=DAILY",
      tags: ["home"],
    });
    const series = res.body.task;
    const k = instanceId(series.id, series.next_occurrence);
    await alice.ws.waitFor((m) => m.type === "recurring.spawned" && m.aggregate_id === k, 1, 20_000);
    const edit = await alice.api("PATCH", `/tasks/${series.id}`, { recurrence_mode: "after_completion" });
    expect(edit.status).toBe(202);
    expect(edit.body.task.next_occurrence).toBe(series.next_occurrence);
    await alice.ws.waitFor((m) => m.type === "task.updated" && m.aggregate_id === series.id, 1, 10_000);
    expect((await alice.api("POST", `/tasks/${k}/complete`)).status).toBe(202);
    const [done] = await alice.ws.waitFor((m) => m.type === "task.completed" && m.aggregate_id === k, 1, 10_000);
    const [next] = await alice.ws.waitFor((m) => m.type === "recurring.spawned" && m.aggregate_id !== k, 1, 10_000);
    expect(next.seq).toBe(done.seq + 1);
    expect(next.data.task.tags).toEqual(["home"]);
    expect(alice.ws.messages.filter((m) => m.type === "write.rejected")).toEqual([]);
    expect(alice.ws.messages.filter((m) => m.type === "recurring.spawned").map((m) => m.aggregate_id)).toEqual([k, next.aggregate_id]);
    alice.ws.close();
  });
});

describe("deleting a series", () => {
  it("stops it and deletes its instance spawned ahead, by an event of its own (its reminder's job goes)", async () => {
    const alice = await user("alice");
    const res = await alice.api("POST", "/tasks", {
      title: "Retro",
      due_date: dailyDue(8000),
      recurrence_rule: "FREQ=DAILY",
      reminders: [{ before: "PT4S" }],
    });
    const series = res.body.task;
    const k = instanceId(series.id, series.next_occurrence);
    const [spawned] = await alice.ws.waitFor((m) => m.type === "recurring.spawned" && m.aggregate_id === k, 1, 20_000);
    const reminder = spawned.data.task.reminders[0];
    const reminderJob = reminderJobId(reminder.id, Date.parse(reminder.remind_at));
    await eventually(() => queue.getJob(reminderJob), 5000, "the instance's reminder job");
    expect((await alice.api("DELETE", `/tasks/${series.id}`)).status).toBe(202);
    await alice.ws.waitFor((m) => m.type === "task.deleted" && m.aggregate_id === series.id, 1, 10_000);
    await alice.ws.waitFor((m) => m.type === "task.deleted" && m.aggregate_id === k, 1, 10_000);
    await eventually(async () => !(await queue.getJob(reminderJob)), 5000, "reminder job removed");
    const next = occurrenceJobId(series.id, Date.parse(spawned.data.parent_next_occurrence));
    expect(await redis.smembers(`${config.redisPrefix}:sched:task:{${series.id}}:jobs`)).not.toContain(next);
    expect((await alice.api("GET", `/tasks/${k}`)).status).toBe(404);
    expect((await alice.api("GET", `/tasks/${k}/history`)).body.events.map((e: { event_type: string }) => e.event_type)).toEqual([
      "recurring.spawned",
      "task.deleted",
    ]);
    alice.ws.close();
  });
});
