/**
 * Search, filters, sort and cursor pagination over a few thousand tasks applied by the real
 * pipeline; EXPLAIN shows the indexes serve them; replay rebuilds an identical projection.
 */
import { randomUUID } from "node:crypto";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signLocalToken } from "../../common/auth.ts";
import { newEvent, serializeEvent, type TaskEvent, topicName } from "../../common/contracts/index.ts";
import { openDb } from "../../common/deps.ts";
import { createKafka, createProducer } from "../../common/kafka.ts";
import type { Db } from "../../common/postgres.ts";
import { replayIntoSchema } from "../../processors/replay.ts";
import { apiClient, eventually, startSystem, taskFields, testConfig, uniqueId } from "../harness.ts";

const config = testConfig();
let system: Awaited<ReturnType<typeof startSystem>>;
let db: Db;
const owner = uniqueId("owner");
const other = uniqueId("other");
let api: ReturnType<typeof apiClient>;
const N = 3000;
const priorities = ["low", "medium", "high", "urgent"] as const;
const words = ["alpha", "bravo", "charlie", "delta", "echo"];

interface Seed {
  id: string;
  title: string;
  priority: (typeof priorities)[number];
  due: string | null;
  tags: string[];
}
const seeds: Seed[] = Array.from({ length: N }, (_, i) => ({
  id: randomUUID(),
  title: `${words[i % 5]} task ${String(i).padStart(4, "0")}`,
  priority: priorities[i % 4]!,
  due: i % 3 === 0 ? null : new Date(Date.UTC(2027, 0, 1) + i * 3600_000).toISOString(),
  tags: i % 7 === 0 ? ["work"] : i % 11 === 0 ? ["home", "errand"] : [],
}));

function created(userId: string, s: Seed, at: number): TaskEvent {
  return newEvent(
    "task.created",
    {
      user_id: userId,
      aggregate_id: s.id,
      correlation_id: randomUUID(),
      timestamp: new Date(Date.UTC(2026, 10, 1) + at * 1000).toISOString(),
    },
    {
      task: taskFields({ title: s.title, priority: s.priority, due_date: s.due, tags: s.tags }),
    },
  );
}

beforeAll(async () => {
  system = await startSystem(config);
  db = await openDb(config, 2);
  api = apiClient(config, owner, await signLocalToken(config, owner));
  // Produce straight to the topic (fast), so the processors apply them as they would any write.
  const producer = createProducer(createKafka(config, "seed"));
  await producer.connect();
  const topic = topicName(config.topicPrefix, "taskEvents");
  const events = [
    ...seeds.map((s, i) => created(owner, s, i)),
    ...seeds.slice(0, 200).map((s, i) => created(other, { ...s, id: randomUUID() }, i)),
  ];
  for (let i = 0; i < events.length; i += 500) {
    await producer.send({ topic, messages: events.slice(i, i + 500).map((e) => ({ key: e.user_id, value: serializeEvent(e) })) });
  }
  await producer.disconnect();
  await eventually(async () => (await api("GET", `/events?since=${N - 1}&limit=1`)).body.seq === N, 60_000, "seed applied");
}, 120_000);
afterAll(async () => {
  await db.end();
  await system.stop();
});

const all = async (query: string) => {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const res: any = await api("GET", `/tasks?${query}&limit=200${cursor ? `&cursor=${cursor}` : ""}`);
    expect(res.status).toBe(200);
    out.push(...res.body.tasks);
    cursor = res.body.next_cursor;
  } while (cursor);
  return out;
};

describe("task list", () => {
  it("pages through every task once with the cursor", async () => {
    const tasks = await all("sort_by=created_at&sort_order=asc");
    expect(tasks.map((t) => t.id)).toEqual(seeds.map((s) => s.id));
  });

  it("searches words and title fragments", async () => {
    const bravo = await all("search=bravo");
    expect(bravo.map((t) => t.id).sort()).toEqual(
      seeds
        .filter((s) => s.title.startsWith("bravo"))
        .map((s) => s.id)
        .sort(),
    );
    const fragment = await all("search=task%200042");
    expect(fragment.map((t) => t.title)).toEqual(["charlie task 0042"]);
  });

  it("filters by priority, tags and due range", async () => {
    const urgentWork = await all("priority=urgent&tags=work");
    expect(urgentWork.map((t) => t.id).sort()).toEqual(
      seeds
        .filter((s) => s.priority === "urgent" && s.tags.includes("work"))
        .map((s) => s.id)
        .sort(),
    );
    const start = "2027-01-10T00:00:00.000Z";
    const end = "2027-01-20T00:00:00.000Z";
    const due = await all(`due_date_start=${start}&due_date_end=${end}`);
    expect(due.map((t) => t.id).sort()).toEqual(
      seeds
        .filter((s) => s.due && s.due >= start && s.due <= end)
        .map((s) => s.id)
        .sort(),
    );
    const from = await all(`due_date_start=${end}`);
    expect(from.map((t) => t.id).sort()).toEqual(
      seeds
        .filter((s) => s.due && s.due >= end)
        .map((s) => s.id)
        .sort(),
    );
  });

  it("sorts by due date (undated last), priority and title", async () => {
    const byDue = await all("sort_by=due_date&sort_order=asc");
    const key = (s: Seed) => `${s.due ?? "~"} ${s.id}`; // byte order, as PostgreSQL compares uuids
    const expected = [...seeds].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    expect(byDue.map((t) => t.id)).toEqual(expected.map((s) => s.id));
    const byPriority = await all("sort_by=priority&sort_order=desc&status=pending");
    expect(byPriority[0].priority).toBe("urgent");
    expect(byPriority[byPriority.length - 1].priority).toBe("low");
    const byTitle = await all("sort_by=title&sort_order=asc&search=echo");
    const lower = byTitle.map((t) => t.title.toLowerCase());
    expect(lower).toEqual([...lower].sort());
  });

  it("never shows another user's tasks", async () => {
    const tasks = await all("search=alpha");
    expect(tasks.every((t) => t.user_id === owner)).toBe(true);
  });

  it("uses the indexes (EXPLAIN)", async () => {
    await db.query(sql.unsafe`analyze tasks`);
    const plan = async (query: ReturnType<typeof sql.unsafe>) =>
      db.transaction(async (tx) => {
        // Tiny test tables favour sequential scans; forbid them to show the indexes can serve.
        await tx.query(sql.unsafe`set local enable_seqscan = off`);
        return ((await tx.anyFirst(query)) as string[]).join("\n");
      });
    expect(
      await plan(sql.unsafe`explain select id from tasks where user_id = ${owner} and search @@ websearch_to_tsquery('simple', 'bravo')`),
    ).toMatch(/tasks_search|tasks_user/);
    expect(await plan(sql.unsafe`explain select id from tasks where user_id = ${owner} and title ilike '%task 0042%'`)).toMatch(
      /tasks_title_trgm|tasks_user/,
    );
    expect(
      await plan(
        sql.unsafe`explain select id from tasks t where user_id = ${owner} order by coalesce(t.due_date, 'infinity'::timestamptz), id limit 50`,
      ),
    ).toMatch(/tasks_user_due/);
    expect(
      await plan(sql.unsafe`explain select id from tasks where user_id = ${owner} order by priority_rank desc, id desc limit 50`),
    ).toMatch(/tasks_user_priority/);
    expect(
      await plan(sql.unsafe`explain select id from tasks t where user_id = ${owner} order by (lower(t.title) collate "C"), id limit 50`),
    ).toMatch(/tasks_user_title_ci/);
  });
});

describe("replay", () => {
  it("rebuilds an identical projection after a mixed workload", async () => {
    const users = [owner, other];
    // Mix in updates, completions, deletions, tags and reminders over the API.
    for (let i = 0; i < 300; i++) {
      const s = seeds[i]!;
      const op = i % 6;
      const res =
        op === 0
          ? await api("PATCH", `/tasks/${s.id}`, { title: `${s.title} (edited)`, priority: "high" })
          : op === 1
            ? await api("POST", `/tasks/${s.id}/complete`)
            : op === 2
              ? await api("DELETE", `/tasks/${s.id}`)
              : op === 3
                ? await api("POST", `/tasks/${s.id}/tags`, { name: "replayed" })
                : op === 4
                  ? await api("PATCH", `/tasks/${s.id}`, { due_date: "2028-01-01T09:00:00Z", tags: ["x", "y"] })
                  : await api("POST", `/tasks/${s.id}/reminders`, { at: "2030-01-01T00:00:00Z" });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
    }
    await api("PUT", "/settings", { timezone: "Europe/London" });
    const expectedSeq = N + 301;
    await eventually(
      async () => (await api("GET", `/events?since=${expectedSeq - 1}&limit=1`)).body.seq === expectedSeq,
      60_000,
      "workload applied",
    );
    const report = await replayIntoSchema(config, db, `replay_${randomUUID().slice(0, 8)}`, users);
    expect(report.events).toBe(expectedSeq + 200);
    expect(report.differences).toEqual({ users: 0, tasks: 0, tags: 0, task_tags: 0, reminders: 0, activity_logs: 0 });
    await db.query(sql.unsafe`drop schema ${sql.identifier([report.schema])} cascade`);
  }, 120_000);
});
