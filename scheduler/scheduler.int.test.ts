/**
 * The scheduler on the real stack, as clients see it: tasks created over HTTP, reminders and new
 * occurrences arriving on a WebSocket. Ingest, processors and fan-out run as their own processes,
 * and so does the scheduler, so it can be SIGKILLed and restarted.
 */
import { randomUUID } from "node:crypto";
import { Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signLocalToken } from "../common/auth.ts";
import { newEvent, serializeEvent, topicName } from "../common/contracts/index.ts";
import { openDb, openRedis } from "../common/deps.ts";
import { createKafka, createProducer, type Producer } from "../common/kafka.ts";
import type { Db } from "../common/postgres.ts";
import { redisKeys } from "../common/redis.ts";
import { createTopics } from "../redpanda/create-topics.ts";
import { takeScheduleChanges } from "../storage/queries/schedule-changes.ts";
import {
  apiClient,
  envFor,
  eventually,
  type RunningProcess,
  startProcess,
  testConfig,
  uniqueId,
  type WsClient,
  wsConnect,
} from "../test/harness.ts";
import { deterministicUuid, occurrenceJobId, QUEUE_NAME, reminderJobId } from "./jobs.ts";
import { LATE_AFTER_MS } from "./plan.ts";
import { bullConnection, Schedule } from "./schedule.ts";

const config = testConfig();
// Occurrences spawn at their time here (no lead), as these tests time them; series.int.test.ts covers spawning ahead.
const env = envFor(config, { RATE_LIMIT_BURST: "100000", RATE_LIMIT_PER_SECOND: "100000", RECURRENCE_LEAD: "PT0S" });
const procs: RunningProcess[] = [];
let scheduler: RunningProcess;
let db: Db;
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

const stop = async (proc: RunningProcess, signal: NodeJS.Signals = "SIGTERM") => {
  if (proc.child.exitCode !== null) return proc.child.exitCode;
  proc.child.kill(signal);
  return proc.exited;
};

const user = async (label: string) => {
  const id = uniqueId(label);
  const token = await signLocalToken(config, id);
  const ws = await wsConnect(config, id, token);
  await ws.waitFor((m) => m.type === "ready");
  return { id, token, api: apiClient(config, id, token), ws };
};

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The schedule change waiting for this task, if any (read without taking it). */
const pendingChangeOf = async (taskId: string) =>
  (await takeScheduleChanges(db, config.topicPrefix, 10_000)).find((c) => c.task_id === taskId);
const MARKER = "marker";
const triggers = (ws: WsClient, reminderId?: string) =>
  ws.messages.filter(
    (m) => m.type === "reminder.triggered" && m.data.title !== MARKER && (!reminderId || m.data.reminder_id === reminderId),
  );
/**
 * Returns once a marker reminder, created now and due shortly, has reached the user's socket.
 * Whatever the scheduler was going to send the user for a time already past has arrived by then:
 * it fires due jobs in order of their time and sends every trigger and occurrence of a user through
 * one producer to the user's partition of the reminders topic. So "nothing more came" is checked
 * after a marker, not after a guessed wait.
 */
async function afterMarker(alice: Awaited<ReturnType<typeof user>>): Promise<void> {
  const res = await alice.api("POST", "/tasks", { title: MARKER, reminders: [{ at: inMs(300) }] });
  const id = res.body.task.reminders[0].id;
  await alice.ws.waitFor((m) => m.type === "reminder.triggered" && m.data.reminder_id === id, 1, 10_000);
}

beforeAll(async () => {
  await createTopics(config);
  procs.push(
    ...(await Promise.all([
      start("processors", config.processorsPort),
      start("fanout", config.fanoutPort),
      start("ingest", config.ingestPort),
    ])),
  );
  scheduler = await start("scheduler", config.schedulerPort);
  db = await openDb(config, 2);
  redis = await openRedis(config, "scheduler-test");
  queue = new Queue(QUEUE_NAME, { connection: bullConnection(redis), prefix: redisKeys(config.redisPrefix).bullPrefix });
  producer = createProducer(createKafka(config, "scheduler-test"));
  await producer.connect();
  // Warm-up: the consumer groups have joined once a first reminder makes the whole round trip.
  const u = await user("warmup");
  const res = await u.api("POST", "/tasks", { title: "warm-up", reminders: [{ at: inMs(500) }] });
  expect(res.status).toBe(202);
  await u.ws.waitFor((m) => m.type === "reminder.triggered", 1, 30_000);
  u.ws.close();
});

afterAll(async () => {
  await producer?.disconnect();
  await queue?.close();
  redis?.disconnect();
  await db?.end();
  const codes = await Promise.all([scheduler, ...procs].filter(Boolean).map((p) => stop(p)));
  expect(codes).toEqual(codes.map(() => 0));
});

describe("reminders", () => {
  it("arrive on the WebSocket within 1 s of their time, not before, not late", async () => {
    const alice = await user("alice");
    const at = inMs(3000);
    const res = await alice.api("POST", "/tasks", { title: "Call mum", due_date: inMs(3_600_000), reminders: [{ at }] });
    expect(res.status).toBe(202);
    const [m] = await alice.ws.waitFor((x) => x.type === "reminder.triggered", 1, 10_000);
    expect(m).toMatchObject({
      user_id: alice.id,
      aggregate_id: res.body.task.id,
      data: { reminder_id: res.body.task.reminders[0].id, remind_at: at, late: false, title: "Call mum" },
    });
    expect(m.seq).toBeGreaterThan(0);
    const lateness = m._at - Date.parse(at);
    expect(lateness).toBeGreaterThanOrEqual(0);
    expect(lateness).toBeLessThan(1000);
    const metrics = await (await fetch(`http://127.0.0.1:${config.schedulerPort}/metrics`)).text();
    expect(metrics).toMatch(/taskstream_scheduler_jobs_fired_total\{kind="reminder",outcome="fired"\} [1-9]/);
    expect(metrics).toMatch(/taskstream_scheduler_firing_lateness_seconds_count\{kind="reminder"\} [1-9]/);
    expect(metrics).toMatch(/taskstream_scheduler_jobs\{state="delayed"\}/);
    alice.ws.close();
  });

  it("fires each of several reminders on one task (before the due date and at an instant)", async () => {
    const alice = await user("alice");
    const due = inMs(3_600_000 + 2500);
    const res = await alice.api("POST", "/tasks", { title: "Report", due_date: due, reminders: [{ before: "PT1H" }, { at: inMs(3500) }] });
    expect(res.status).toBe(202);
    const got = await alice.ws.waitFor((m) => m.type === "reminder.triggered", 2, 10_000);
    expect(new Set(got.map((m) => m.data.reminder_id))).toEqual(new Set(res.body.task.reminders.map((r: { id: string }) => r.id)));
    for (const m of got) expect(m._at - Date.parse(m.data.remind_at)).toBeLessThan(1000);
    alice.ws.close();
  });

  it("are cancelled when their task is completed or deleted, and when the reminder is deleted", async () => {
    const alice = await user("alice");
    const create = (title: string) => alice.api("POST", "/tasks", { title, reminders: [{ at: inMs(4000) }, { at: inMs(4500) }] });
    const [done, gone, trimmed] = await Promise.all([create("done"), create("gone"), create("trimmed")]);
    const jobIds = [done, gone, trimmed].flatMap((r) =>
      r.body.task.reminders.map((x: { id: string; remind_at: string }) => reminderJobId(x.id, Date.parse(x.remind_at))),
    );
    await eventually(async () => (await Promise.all(jobIds.map((id) => queue.getJob(id)))).every(Boolean), 5000, "jobs scheduled");
    expect((await alice.api("POST", `/tasks/${done.body.task.id}/complete`)).status).toBe(202);
    expect((await alice.api("DELETE", `/tasks/${gone.body.task.id}`)).status).toBe(202);
    const dropped = trimmed.body.task.reminders[0].id;
    expect((await alice.api("DELETE", `/tasks/${trimmed.body.task.id}/reminders/${dropped}`)).status).toBe(202);
    // The jobs go away at once (not only when they come due).
    const cancelled = jobIds.slice(0, 5);
    await eventually(async () => (await Promise.all(cancelled.map((id) => queue.getJob(id)))).every((j) => !j), 3000, "jobs removed");
    await alice.ws.waitFor((m) => m.type === "reminder.triggered", 1, 10_000);
    await afterMarker(alice);
    expect(triggers(alice.ws).map((m) => m.data.reminder_id)).toEqual([trimmed.body.task.reminders[1].id]);
    alice.ws.close();
  });

  it("notifies once when a trigger is duplicated (same event redelivered, or a second trigger)", async () => {
    const alice = await user("alice");
    const res = await alice.api("POST", "/tasks", { title: "once", reminders: [{ at: inMs(1500) }] });
    const reminder = res.body.task.reminders[0];
    const [first] = await alice.ws.waitFor((m) => m.type === "reminder.triggered", 1, 10_000);
    const topic = topicName(config.topicPrefix, "reminders");
    const again = newEvent(
      "reminder.triggered",
      { user_id: alice.id, aggregate_id: res.body.task.id, correlation_id: randomUUID() },
      { ...first.data, fired_at: new Date().toISOString() },
    );
    const redelivered = { ...again, event_id: first.event_id };
    await producer.send({
      topic,
      messages: [again, redelivered, again].map((e) => ({ key: alice.id, value: serializeEvent(e) })),
    });
    // A later event proves the duplicates were processed (one partition per user, in order).
    await producer.send({
      topic,
      messages: [
        {
          key: alice.id,
          value: serializeEvent(
            newEvent(
              "task.updated",
              { user_id: alice.id, aggregate_id: res.body.task.id, correlation_id: randomUUID() },
              { changes: { title: { old: "once", new: "once!" } } },
            ),
          ),
        },
      ],
    });
    await alice.ws.waitFor((m) => m.type === "task.updated", 1, 10_000);
    expect(triggers(alice.ws, reminder.id)).toHaveLength(1);
    alice.ws.close();
  });
});

describe("recurring tasks", () => {
  it("spawn the instance on time whether or not the series was completed, and clients are told", async () => {
    const alice = await user("alice");
    // Daily, anchored a day ago minus 3 s: the next occurrence is 3 s from now.
    const due = new Date(Date.now() - 86_400_000 + 3000).toISOString();
    const res = await alice.api("POST", "/tasks", { title: "Stand-up", due_date: due, recurrence_rule: "FREQ=DAILY", tags: ["work"] });
    expect(res.status).toBe(202);
    const parent = res.body.task;
    const occurrence = parent.next_occurrence as string;
    expect(Date.parse(occurrence) - Date.parse(due)).toBe(86_400_000);
    await alice.ws.waitFor((m) => m.type === "task.created");
    expect((await alice.api("POST", `/tasks/${parent.id}/complete`)).status).toBe(202);

    const [spawned] = await alice.ws.waitFor((m) => m.type === "recurring.spawned", 1, 30_000);
    expect(spawned._at - Date.parse(occurrence)).toBeGreaterThanOrEqual(0);
    expect(spawned._at - Date.parse(occurrence)).toBeLessThan(1000);
    expect(spawned).toMatchObject({
      user_id: alice.id,
      aggregate_id: deterministicUuid(`instance:${parent.id}.${Date.parse(occurrence)}`),
      data: {
        occurrence,
        parent_next_occurrence: new Date(Date.parse(occurrence) + 86_400_000).toISOString(),
        late: false,
        task: { title: "Stand-up", due_date: occurrence, parent_task_id: parent.id, recurrence_rule: null, tags: ["work"] },
      },
    });
    const instance = await alice.api("GET", `/tasks/${spawned.aggregate_id}`);
    expect(instance.body.task).toMatchObject({ status: "pending", due_date: occurrence, parent_task_id: parent.id });
    const after = await alice.api("GET", `/tasks/${parent.id}`);
    expect(after.body.task).toMatchObject({ status: "completed", next_occurrence: spawned.data.parent_next_occurrence });
    // The series goes on: tomorrow's job is in place.
    await eventually(() => queue.getJob(occurrenceJobId(parent.id, Date.parse(spawned.data.parent_next_occurrence))), 5000, "next job");
    alice.ws.close();
  });

  it("spawn only the latest of several missed occurrences, late, and move on to the next future one", async () => {
    const alice = await user("alice");
    // Anchored five days ago: occurrences fell due 4, 3, 2 and 1 day(s) ago and the next is in 1 h.
    const due = new Date(Date.now() - 5 * 86_400_000 + 3_600_000).toISOString();
    const res = await alice.api("POST", "/tasks", { title: "Backlog", due_date: due, recurrence_rule: "FREQ=DAILY" });
    expect(Date.parse(res.body.task.next_occurrence)).toBeLessThan(Date.now());
    const [spawned] = await alice.ws.waitFor((m) => m.type === "recurring.spawned", 1, 30_000);
    expect(spawned.data).toMatchObject({
      occurrence: new Date(Date.parse(due) + 4 * 86_400_000).toISOString(),
      parent_next_occurrence: new Date(Date.parse(due) + 5 * 86_400_000).toISOString(),
      late: true,
    });
    await afterMarker(alice);
    expect(alice.ws.messages.filter((m) => m.type === "recurring.spawned")).toHaveLength(1);
    const metrics = await (await fetch(`http://127.0.0.1:${config.schedulerPort}/metrics`)).text();
    expect(metrics).toMatch(/taskstream_scheduler_occurrences_missed_total [3-9]/);
    alice.ws.close();
  });

  it("skip-occurrence and deletion move or remove the occurrence job", async () => {
    const alice = await user("alice");
    const res = await alice.api("POST", "/tasks", { title: "Weekly", due_date: inMs(3_600_000), recurrence_rule: "FREQ=WEEKLY" });
    const task = res.body.task;
    const first = occurrenceJobId(task.id, Date.parse(task.next_occurrence));
    await eventually(() => queue.getJob(first), 5000, "first occurrence job");
    const skip = await alice.api("POST", `/tasks/${task.id}/skip-occurrence`);
    expect(skip.status).toBe(202);
    const second = occurrenceJobId(task.id, Date.parse(skip.body.task.next_occurrence));
    await eventually(async () => !(await queue.getJob(first)) && (await queue.getJob(second)), 5000, "job moved");
    await alice.api("DELETE", `/tasks/${task.id}`);
    await eventually(async () => !(await queue.getJob(second)), 5000, "job removed");
    alice.ws.close();
  });

  it("follow the user's timezone change, keeping their wall-clock time", async () => {
    const alice = await user("alice");
    expect((await alice.api("PUT", "/settings", { timezone: "America/New_York" })).status).toBe(202);
    await alice.ws.waitFor((m) => m.type === "settings.updated");
    // 09:00 in New York two days ahead, and 09:00 in Kolkata the same day.
    const nine = DateTime.now().setZone("America/New_York").plus({ days: 2 }).set({ hour: 9, minute: 0, second: 0, millisecond: 0 });
    const anchor = nine.toUTC().toISO() as string;
    const inKolkata = nine.setZone("Asia/Kolkata", { keepLocalTime: true }).toUTC().toISO() as string;
    const res = await alice.api("POST", "/tasks", { title: "Gym", due_date: anchor, recurrence_rule: "FREQ=DAILY" });
    expect(res.body.task.timezone).toBe("America/New_York");
    const pinned = await alice.api("POST", "/tasks", { title: "Pinned", due_date: anchor, recurrence_rule: "FREQ=DAILY", timezone: "UTC" });
    await alice.ws.waitFor((m) => m.type === "task.created", 2);
    const oldJob = occurrenceJobId(res.body.task.id, Date.parse(res.body.task.next_occurrence));
    await eventually(() => queue.getJob(oldJob), 5000, "occurrence job");

    expect((await alice.api("PUT", "/settings", { timezone: "Asia/Kolkata" })).status).toBe(202);
    const [moved] = await alice.ws.waitFor((m) => m.type === "task.updated", 1, 10_000);
    expect(moved.aggregate_id).toBe(res.body.task.id);
    // Applied by the processors right after the settings change, in its transaction.
    const settings = alice.ws.messages.filter((m) => m.type === "settings.updated").at(-1);
    expect(moved.seq).toBe((settings?.seq ?? 0) + 1);
    expect(moved.data.changes.timezone).toEqual({ old: "America/New_York", new: "Asia/Kolkata" });
    expect(moved.data.changes.due_date).toEqual({ old: anchor, new: inKolkata });
    const next = moved.data.changes.next_occurrence.new as string;
    expect(next).toBe(DateTime.fromISO(inKolkata).plus({ days: 1 }).toUTC().toISO());
    await eventually(
      async () => !(await queue.getJob(oldJob)) && (await queue.getJob(occurrenceJobId(res.body.task.id, Date.parse(next)))),
    );
    // A task with its own timezone keeps it: its move would come with the other one, before a
    // marker written after the change.
    const marker = await alice.api("POST", "/tasks", { title: "marker" });
    await alice.ws.waitFor((m) => m.type === "task.created" && m.aggregate_id === marker.body.task.id);
    expect(alice.ws.messages.filter((m) => m.type === "task.updated" && m.aggregate_id === pinned.body.task.id)).toEqual([]);
    alice.ws.close();
  });
});

describe("scheduling is idempotent", () => {
  it("makes one job per reminder however often the same change is applied", async () => {
    const isolated = testConfig();
    const schedule = new Schedule(db, redis, redisKeys(isolated.redisPrefix).bullPrefix, redisKeys(isolated.redisPrefix).taskJobs);
    const alice = await user("alice");
    const res = await alice.api("POST", "/tasks", { title: "idem", reminders: [{ at: inMs(3_600_000) }, { at: inMs(7_200_000) }] });
    await alice.ws.waitFor((m) => m.type === "task.created");
    const change = {
      task_id: res.body.task.id,
      user_id: alice.id,
      schedule: {
        status: "pending" as const,
        recurrence_rule: null,
        next_occurrence: null,
        reminders: res.body.task.reminders.map((r: { id: string; remind_at: string }) => ({ id: r.id, remind_at: r.remind_at })),
      },
    };
    // A crash after BullMQ had the jobs but before the change was settled: it is applied again.
    const first = await schedule.applyChanges([change, change]);
    const second = await schedule.applyChanges([change]);
    expect(first).toEqual({ added: 2, removed: 0 });
    expect(second).toEqual({ added: 0, removed: 0 });
    expect(await schedule.queue.getJobCounts("delayed")).toEqual({ delayed: 2 });
    // The start-up reconcile (over every user's pending reminders) adds each job once too.
    await schedule.reconcileAll();
    const afterOne = await schedule.queue.getJobCounts("delayed");
    await schedule.reconcileAll();
    expect(await schedule.queue.getJobCounts("delayed")).toEqual(afterOne);
    expect(afterOne.delayed).toBeGreaterThanOrEqual(2);
    // Only the latest change counts: the task is done, its jobs go.
    expect(await schedule.applyChanges([change, { ...change, schedule: null }])).toEqual({ added: 0, removed: 2 });
    await schedule.queue.obliterate({ force: true });
    await schedule.close();
    alice.ws.close();
  });
});

describe("failed jobs", () => {
  it("are re-queued by the reconcile until a day past their time, then left failed", async () => {
    const isolated = testConfig();
    const schedule = new Schedule(db, redis, redisKeys(isolated.redisPrefix).bullPrefix, redisKeys(isolated.redisPrefix).taskJobs);
    // Due `dueAt`, added `addedAt` with the delay between them (BullMQ keeps when it was added, and
    // sets the delay to 0 once the job is promoted: neither says when it was due).
    const job = (id: string, dueAt: number, addedAt = dueAt) =>
      schedule.queue.add(
        "reminder",
        { kind: "reminder", user_id: "u", task_id: randomUUID(), reminder_id: randomUUID(), remind_at: new Date(dueAt).toISOString() },
        { jobId: id, timestamp: addedAt, delay: Math.max(0, dueAt - Date.now()), attempts: 1 },
      );
    await job("recent", Date.now());
    // Planned two days ahead (a reminder set long before), due a moment from now.
    await job("planned-ahead", Date.now() + 200, Date.now() - 2 * 86_400_000);
    await job("stale", Date.now() - 2 * 86_400_000);
    // An outage that outlasted their attempts: all fail with an error that is not permanent.
    const workerRedis = redis.duplicate();
    const worker = new Worker(
      QUEUE_NAME,
      async () => {
        throw new Error("broker unreachable");
      },
      { connection: bullConnection(workerRedis), prefix: redisKeys(isolated.redisPrefix).bullPrefix },
    );
    await eventually(async () => (await schedule.queue.getJobCounts("failed")).failed === 3, 10_000, "the jobs failed");
    await worker.close();
    workerRedis.disconnect();
    await schedule.reconcileAll();
    expect(await schedule.queue.getJobState("recent")).toBe("waiting");
    expect(await schedule.queue.getJobState("planned-ahead")).toBe("waiting");
    expect(await schedule.queue.getJobState("stale")).toBe("failed");
    await schedule.queue.obliterate({ force: true });
    await schedule.close();
  });
});

describe("restarts", () => {
  it("loses no reminder when the scheduler is SIGKILLed, and fires what fell due meanwhile once, marked late", async () => {
    const alice = await user("alice");
    const scheduled = await alice.api("POST", "/tasks", { title: "scheduled before the crash", reminders: [{ at: inMs(4000) }] });
    const jobId = reminderJobId(scheduled.body.task.reminders[0].id, Date.parse(scheduled.body.task.reminders[0].remind_at));
    await eventually(() => queue.getJob(jobId), 5000, "job scheduled");
    await stop(scheduler, "SIGKILL");
    // Created while the scheduler is down: only PostgreSQL knows it (the projection and its schedule change).
    const whileDown = await alice.api("POST", "/tasks", { title: "created while down", reminders: [{ at: inMs(1000) }] });
    // Down until both fell due more than the lateness threshold ago, however fast it restarts.
    const lastDue = Math.max(...[scheduled, whileDown].map((r) => Date.parse(r.body.task.reminders[0].remind_at)));
    await sleep(Math.max(4500, lastDue + LATE_AFTER_MS + 500 - Date.now()));
    expect(triggers(alice.ws)).toEqual([]);
    scheduler = await start("scheduler", config.schedulerPort);
    const got = await alice.ws.waitFor((m) => m.type === "reminder.triggered", 2, 15_000);
    expect(new Set(got.map((m) => m.data.title))).toEqual(new Set(["scheduled before the crash", "created while down"]));
    for (const m of got) expect(m.data.late).toBe(true);
    await afterMarker(alice);
    expect(triggers(alice.ws)).toHaveLength(2);
    expect(whileDown.status).toBe(202);
    alice.ws.close();
  });

  it("a completion or deletion accepted before a reminder's time cancels it when the processors apply it only after that time", async () => {
    const alice = await user("alice");
    const create = (title: string) => alice.api("POST", "/tasks", { title, reminders: [{ at: inMs(3000) }] });
    const tasks = await Promise.all(Array.from({ length: 8 }, (_, i) => create(`${i % 2 ? "deleted" : "completed"} while behind`)));
    const jobIds = tasks.map((r) => reminderJobId(r.body.task.reminders[0].id, Date.parse(r.body.task.reminders[0].remind_at)));
    await eventually(async () => (await Promise.all(jobIds.map((id) => queue.getJob(id)))).every(Boolean), 5000, "jobs scheduled");
    // The processors are down: the completions and deletions are accepted, not applied.
    await stop(procs[0] as RunningProcess, "SIGKILL");
    for (const [i, r] of tasks.entries()) {
      const path = `/tasks/${r.body.task.id}`;
      expect((await (i % 2 ? alice.api("DELETE", path) : alice.api("POST", `${path}/complete`))).status).toBe(202);
    }
    // Behind until every reminder fell due (the scheduler is up meanwhile).
    const lastDue = Math.max(...tasks.map((r) => Date.parse(r.body.task.reminders[0].remind_at)));
    await sleep(Math.max(0, lastDue + 1000 - Date.now()));
    procs[0] = await start("processors", config.processorsPort);
    await afterMarker(alice);
    expect(triggers(alice.ws)).toEqual([]);
    alice.ws.close();
  });

  it("a reminder whose task has a write accepted and not applied yet waits for it", async () => {
    const alice = await user("alice");
    const res = await alice.api("POST", "/tasks", { title: "waits", reminders: [{ at: inMs(1500) }] });
    const r = res.body.task.reminders[0];
    await eventually(() => queue.getJob(reminderJobId(r.id, Date.parse(r.remind_at))), 5000, "job scheduled");
    // What ingest records of a write it accepted (ingest/admission.ts), here for a write the processors never apply.
    const pending = redisKeys(config.redisPrefix).pendingEvents(alice.id, res.body.task.id);
    await redis.hset(pending, randomUUID(), "1 {}");
    await sleep(Math.max(0, Date.parse(r.remind_at) + 1000 - Date.now()));
    const released = Date.now();
    await redis.del(pending);
    const [m] = await alice.ws.waitFor((x) => x.type === "reminder.triggered" && x.data.reminder_id === r.id, 1, 15_000);
    expect(Date.parse(m.data.fired_at)).toBeGreaterThanOrEqual(released);
    alice.ws.close();
  });

  it("acts on a schedule change recorded while it was stopped once it starts (not only on the reconcile)", async () => {
    const alice = await user("alice");
    const res = await alice.api("POST", "/tasks", { title: "done while down", reminders: [{ at: inMs(3_600_000) }] });
    const reminder = res.body.task.reminders[0];
    const jobId = reminderJobId(reminder.id, Date.parse(reminder.remind_at));
    await eventually(() => queue.getJob(jobId), 5000, "job scheduled");
    await eventually(async () => !(await pendingChangeOf(res.body.task.id)), 5000, "change settled");
    expect(await stop(scheduler)).toBe(0);
    expect((await alice.api("POST", `/tasks/${res.body.task.id}/complete`)).status).toBe(202);
    // The processors recorded it; nobody took it yet, so the job is still there.
    await eventually(() => pendingChangeOf(res.body.task.id), 10_000, "change recorded");
    expect(await queue.getJob(jobId)).toBeTruthy();
    // The start-up reconcile only adds missing jobs: removing this one is the recorded change's doing.
    scheduler = await start("scheduler", config.schedulerPort);
    await eventually(async () => !(await queue.getJob(jobId)), 10_000, "job removed");
    await eventually(async () => !(await pendingChangeOf(res.body.task.id)), 5000, "change settled");
    alice.ws.close();
  });

  it("rebuilds lost jobs from PostgreSQL when Redis lost its data while the scheduler was down", async () => {
    const alice = await user("alice");
    const res = await alice.api("POST", "/tasks", { title: "survives", reminders: [{ at: inMs(3000) }, { at: inMs(6000) }] });
    const ids = res.body.task.reminders.map((r: { id: string; remind_at: string }) => reminderJobId(r.id, Date.parse(r.remind_at)));
    await eventually(async () => (await Promise.all(ids.map((id: string) => queue.getJob(id)))).every(Boolean), 5000, "jobs");
    await stop(scheduler, "SIGKILL");
    await queue.obliterate({ force: true });
    for (const key of await redis.keys(`${config.redisPrefix}:sched:*`)) await redis.del(key);
    expect(await queue.getJob(ids[0])).toBeUndefined();
    scheduler = await start("scheduler", config.schedulerPort);
    const got = await alice.ws.waitFor((m) => m.type === "reminder.triggered", 2, 15_000);
    expect(got.map((m) => m.data.reminder_id).sort()).toEqual(res.body.task.reminders.map((r: { id: string }) => r.id).sort());
    alice.ws.close();
  });
});
