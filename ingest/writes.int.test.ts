/** Write semantics on the real stack: Idempotency-Key, rate limit, last write wins, OpenAPI. */
import { createHash, randomUUID } from "node:crypto";
import { Kind, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signLocalToken } from "../common/auth.ts";
import { newEvent, serializeEvent, TaskEvent, topicName, WireEvent } from "../common/contracts/index.ts";
import { createKafka, createProducer } from "../common/kafka.ts";
import { createRedis, redisKeys } from "../common/redis.ts";
import { apiClient, eventIdsThroughMarker, eventually, startSystem, testConfig, uniqueId } from "../test/harness.ts";
import { routeSchemas } from "./openapi.ts";

const limits = { RATE_LIMIT_BURST: "20", RATE_LIMIT_PER_SECOND: "1" };
const config = testConfig(limits);
let system: Awaited<ReturnType<typeof startSystem>>;
beforeAll(async () => {
  system = await startSystem(config, limits);
});
afterAll(async () => {
  await system.stop();
});

const user = async () => {
  const id = uniqueId("writer");
  return { id, api: apiClient(config, id, await signLocalToken(config, id)) };
};

describe("Idempotency-Key", () => {
  it("returns the first answer to a retry and writes once; refuses the key for another request", async () => {
    const u = await user();
    const key = randomUUID();
    const first = await u.api("POST", "/tasks", { title: "once" }, { "idempotency-key": key });
    const retry = await u.api("POST", "/tasks", { title: "once" }, { "idempotency-key": key });
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual(first.body);
    // The answer is the first request's, its correlation id in the header too.
    expect(retry.headers.get("x-correlation-id")).toBe(first.body.correlation_id);
    // The same JSON written another way (key order, spacing) is the same request.
    const keyed = await u.api("POST", "/tasks", { priority: "low", title: "keyed" }, { "idempotency-key": `${key}-2` });
    const reordered = await u.api("POST", "/tasks", { title: "keyed", priority: "low" }, { "idempotency-key": `${key}-2` });
    expect([reordered.status, reordered.body]).toEqual([202, keyed.body]);
    const other = await u.api("POST", "/tasks", { title: "different" }, { "idempotency-key": key });
    expect(other.status).toBe(409);
    // A marker written after them: the user's events apply in order, so once it is applied a second
    // write of "once" would have been applied too.
    const events = await eventIdsThroughMarker(u.api);
    expect(events.slice(0, -1)).toEqual([first.body.event_id, keyed.body.event_id]);
  });

  it("a tag write that changes nothing answers 202 with event_id null and stores no event", async () => {
    const u = await user();
    const created = await u.api("POST", "/tags", { name: "same", color: "#123456" });
    const { tag } = created.body;
    await eventually(async () => (await u.api("GET", "/tags")).body.tags?.some((t: { id: string }) => t.id === tag.id));
    const unchanged = await u.api("PATCH", `/tags/${tag.id}`, { name: "same", color: "#123456" });
    expect([unchanged.status, unchanged.body.event_id, unchanged.body.tag]).toEqual([202, null, tag]);
    const events = await eventIdsThroughMarker(u.api);
    expect(events.slice(0, -1)).toEqual([created.body.event_id]);
  });

  it("a retry whose key's answer was lost (ingest crashed before keeping it) is the same write: same ids, applied once", async () => {
    const u = await user();
    const key = randomUUID();
    const create = (k: string) =>
      u.api(
        "POST",
        "/tasks",
        { title: "once", reminders: [{ before: "PT1H" }], due_date: "2031-01-01T09:00:00Z" },
        { "idempotency-key": k },
      );
    const first = await create(key);
    expect(first.status).toBe(202);
    // What a crash between the broker's ack and keeping the answer leaves, once the claim ran out: no answer kept.
    const redis = createRedis(config, "writes-test");
    await redis.del(redisKeys(config.redisPrefix).idempotency(u.id, createHash("sha256").update(key).digest("hex")));
    redis.disconnect();
    const retry = await create(key);
    expect(retry.status).toBe(202);
    expect([retry.body.event_id, retry.body.task.id, retry.body.task.reminders[0].id]).toEqual([
      first.body.event_id,
      first.body.task.id,
      first.body.task.reminders[0].id,
    ]);
    // Another key, the same body: another write.
    const other = await create(randomUUID());
    expect(other.body.task.id).not.toBe(first.body.task.id);
    expect((await eventIdsThroughMarker(u.api)).slice(0, -1)).toEqual([first.body.event_id, other.body.event_id]);
  });
});

describe("rate limit", () => {
  it("limits reads too, in their own larger bucket (4x)", async () => {
    const u = await user();
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) statuses.push((await u.api("GET", "/tasks")).status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(80);
    expect(statuses).toContain(429);
    // The write bucket is untouched by the reads.
    expect((await u.api("POST", "/tasks", { title: "after reads" })).status).toBe(202);
  });

  it("answers 429 with Retry-After past the burst, per user", async () => {
    const u = await user();
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 25; i++) {
      const res = await u.api("POST", "/tasks", { title: `t${i}` });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get("retry-after");
    }
    expect(statuses.filter((s) => s === 202).length).toBeGreaterThanOrEqual(20);
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    const bystander = await user();
    expect((await bystander.api("POST", "/tasks", { title: "unaffected" })).status).toBe(202);
  });
});

describe("concurrent updates", () => {
  it("last write wins by timestamp; the losing writer is told with write.rejected (superseded), in the history", async () => {
    const u = await user();
    const created = await u.api("POST", "/tasks", { title: "original" });
    const id = created.body.task.id;
    await eventually(async () => (await u.api("GET", `/tasks/${id}`)).status === 200);
    const producer = createProducer(createKafka(config, "lww-test"));
    await producer.connect();
    const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
    const ctx = (timestamp: string) => ({ user_id: u.id, aggregate_id: id, correlation_id: randomUUID(), timestamp });
    // The later write arrives first; the earlier one, delayed, must not overwrite it.
    const later = newEvent("task.updated", ctx(at(2000)), { changes: { title: { old: "original", new: "later" } } });
    const earlier = newEvent("task.updated", ctx(at(1000)), { changes: { title: { old: "original", new: "earlier" } } });
    const topic = topicName(config.topicPrefix, "taskEvents");
    await producer.send({ topic, messages: [later, earlier].map((e) => ({ key: u.id, value: serializeEvent(e) })) });
    await producer.disconnect();
    const history = await eventually(async () => {
      const h = await u.api("GET", `/tasks/${id}/history`);
      return h.body.events?.length === 3 ? h.body.events : undefined;
    });
    expect((await u.api("GET", `/tasks/${id}`)).body.task.title).toBe("later");
    expect(history[2]).toMatchObject({
      event_type: "write.rejected",
      aggregate_id: id,
      version: 3,
      correlation_id: earlier.correlation_id,
      data: { event_id: earlier.event_id, event_type: "task.updated", correlation_id: earlier.correlation_id, reason: "superseded" },
    });
  });
});

describe("concurrent writes on one task", () => {
  it("the same completion sent five times at once is accepted once; the others are decided again and refused (409)", async () => {
    const u = await user();
    const task = (await u.api("POST", "/tasks", { title: "once" })).body.task;
    const answers = await Promise.all(Array.from({ length: 5 }, () => u.api("POST", `/tasks/${task.id}/complete`)));
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409, 409, 409, 409]);
    // A marker written after them: once it is applied, everything before it is.
    expect((await u.api("PATCH", `/tasks/${task.id}`, { title: "marker" })).status).toBe(202);
    const history = await eventually(async () => {
      const h = (await u.api("GET", `/tasks/${task.id}/history`)).body.events as { event_type: string }[] | undefined;
      return h?.at(-1)?.event_type === "task.updated" ? h : undefined;
    });
    expect(history.map((e) => e.event_type)).toEqual(["task.created", "task.completed", "task.updated"]);
  });

  it("the task's id in upper case is the same task: the same completion sent both ways at once is one 202 and one 409", async () => {
    const u = await user();
    const task = (await u.api("POST", "/tasks", { title: "case" })).body.task;
    const answers = await Promise.all([task.id, task.id.toUpperCase()].map((id) => u.api("POST", `/tasks/${id}/complete`)));
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
  });

  it("a tag deleted twice at once, and a reminder: each once (202), the second decided after the first (404)", async () => {
    const u = await user();
    const tag = (await u.api("POST", "/tags", { name: "twice" })).body.tag;
    const task = (await u.api("POST", "/tasks", { title: "r", due_date: "2031-01-01T09:00:00Z", reminders: [{ before: "PT1H" }] })).body
      .task;
    const [reminder] = task.reminders;
    const tags = await Promise.all([u.api("DELETE", `/tags/${tag.id}`), u.api("DELETE", `/tags/${tag.id}`)]);
    expect(tags.map((a) => a.status).sort()).toEqual([202, 404]);
    const reminders = await Promise.all([1, 2].map(() => u.api("DELETE", `/tasks/${task.id}/reminders/${reminder.id}`)));
    expect(reminders.map((a) => a.status).sort()).toEqual([202, 404]);
    const sameName = await Promise.all([u.api("POST", "/tags", { name: "Dup" }), u.api("POST", "/tags", { name: "dup" })]);
    expect(sameName.map((a) => a.status).sort()).toEqual([202, 409]);
  });

  it("writes on different tasks of one user sent at once do not make each other decide again: all accepted", async () => {
    const u = await user();
    const tasks = await Promise.all(Array.from({ length: 6 }, (_, i) => u.api("POST", "/tasks", { title: `bulk ${i}` })));
    const done = await Promise.all(tasks.map((t) => u.api("POST", `/tasks/${t.body.task.id}/complete`)));
    expect(done.map((a) => `${a.status} ${a.status === 202 ? "" : JSON.stringify(a.body)}`)).toEqual(tasks.map(() => "202 "));
  });

  it("edits sent at once are each decided against the others: all accepted, none lost", async () => {
    const u = await user();
    const task = (await u.api("POST", "/tasks", { title: "t" })).body.task;
    const edits = [{ title: "a" }, { priority: "high" }, { description: "d" }, { due_date: "2031-01-01T00:00:00Z" }];
    const answers = await Promise.all(edits.map((body) => u.api("PATCH", `/tasks/${task.id}`, body)));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202]);
    const stored = await eventually(async () => {
      const t = (await u.api("GET", `/tasks/${task.id}`)).body.task;
      return t?.version === 1 + edits.length ? t : undefined;
    });
    expect(stored).toMatchObject({ title: "a", priority: "high", description: "d", due_date: "2031-01-01T00:00:00.000Z" });
  });
});

describe("many edits of one task at once", () => {
  it("are all accepted and applied: this process decides them one after another (none goes stale, none is a 429)", async () => {
    const u = await user();
    const task = (await u.api("POST", "/tasks", { title: "t" })).body.task;
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => u.api("PATCH", `/tasks/${task.id}`, { description: `d${i}` })));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    expect(new Set(answers.map((a) => a.body.task.version)).size).toBe(12);
    await eventually(async () => ((await u.api("GET", `/tasks/${task.id}/history`)).body.events?.length === 13 ? true : undefined));
  });
});

describe("bodies", () => {
  it("a body that is not UTF-8 is a 400, not text with U+FFFD in place of its bytes", async () => {
    const id = uniqueId("bytes");
    const token = await signLocalToken(config, id);
    const bytes = Buffer.concat([Buffer.from('{"title":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]); // Latin-1 é
    for (const chunked of [false, true]) {
      const body = chunked ? new Blob([bytes]).stream() : bytes;
      const res = await fetch(`http://127.0.0.1:${config.ingestPort}/api/${id}/tasks`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body,
        ...(chunked ? { duplex: "half" } : {}),
      } as RequestInit);
      expect(res.status, `chunked: ${chunked}`).toBe(400);
      expect(((await res.json()) as { error: unknown }).error).toMatchObject({
        code: "invalid_json",
        message: expect.stringContaining("not valid UTF-8"),
      });
    }
  });
});

describe("methods", () => {
  it("a path the API has, asked with a method it does not take, is a 405 naming those it takes; an unknown path a 404", async () => {
    const u = await user();
    const wrong = await u.api("PATCH", "/tasks");
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, HEAD, POST");
    expect(wrong.body.error).toMatchObject({ code: "method_not_allowed", message: "PATCH is not allowed here; allowed: GET, HEAD, POST" });
    expect((await u.api("POST", `/tasks/${randomUUID()}/history`)).status).toBe(405);
    expect((await u.api("GET", "/nothing-here")).status).toBe(404);
  });
});

describe("OpenAPI", () => {
  it("documents every route with the request schemas", async () => {
    const doc: any = await (await fetch(`http://127.0.0.1:${config.ingestPort}/openapi.json`)).json();
    expect(doc.openapi).toBe("3.1.0");
    for (const key of Object.keys(routeSchemas)) {
      const [method, path] = key.split(" ") as [string, string];
      expect(doc.paths[path.replace(/:(\w+)/g, "{$1}")]?.[method.toLowerCase()], key).toBeDefined();
    }
    expect(doc.paths["/api/{user_id}/tasks"].post.requestBody.content["application/json"].schema.properties.title.maxLength).toBe(500);
    expect(doc.paths["/api/{user_id}/tasks"].post.responses["429"].headers["Retry-After"]).toBeDefined();
    // The events clients receive are what the document says they are.
    const u = await user();
    const task = (await u.api("POST", "/tasks", { title: "described", due_date: "2031-01-01T09:00:00Z", reminders: [{ before: "PT1H" }] }))
      .body.task;
    expect((await u.api("PATCH", `/tasks/${task.id}`, { title: "described twice" })).status).toBe(202);
    const events = await eventually(async () => {
      const r = await u.api("GET", "/events?since=0");
      return r.body.events?.length === 2 ? r.body.events : undefined;
    });
    for (const e of events) expect(Value.Check(WireEvent, e), JSON.stringify(e)).toBe(true);
    expect(doc.components.schemas.WireEvent).toBeDefined();
    expect(doc.paths["/api/{user_id}/events"].get.responses["200"].content["application/json"].schema.properties.events.items.$ref).toBe(
      "#/components/schemas/WireEvent",
    );
    for (const list of ["tags", "reminders", "activity-logs"]) {
      const names = doc.paths[`/api/{user_id}/${list}`].get.parameters.map((p: { name: string }) => p.name);
      expect(names, list).toEqual(expect.arrayContaining(["limit", "cursor"]));
    }
  });

  it("answers every route as its response schema says", async () => {
    const u = await user();
    const checked = new Set<string>();
    const call = async (key: string, path: string, body?: unknown) => {
      const r = await u.api(key.split(" ")[0] as string, path, body);
      expect([200, 202], `${key}: ${JSON.stringify(r.body)}`).toContain(r.status);
      const schema = routeSchemas[key]?.response as TSchema;
      // Events are referred to by $ref (TaskEvent, WireEvent): their items are checked against those.
      const events = key.endsWith("/events") ? WireEvent : TaskEvent;
      const wrong =
        Kind in schema
          ? [...Value.Errors(schema, r.body)].map((e) => `${e.path} ${e.message}`)
          : (r.body.events as unknown[]).filter((e) => !Value.Check(events, e)).map((e) => JSON.stringify(e));
      expect(wrong, key).toEqual([]);
      checked.add(key);
      return r.body;
    };
    const T = "/api/:user_id/tasks";
    const { task } = await call(`POST ${T}`, "/tasks", {
      title: "every route",
      due_date: "2031-01-01T09:00:00Z",
      recurrence_rule: "FREQ=DAILY",
      tags: ["one"],
      reminders: [{ before: "PT1H" }],
    });
    const at = `/tasks/${task.id}`;
    await call(`GET ${T}/:task_id`, at);
    await call(`GET ${T}`, "/tasks?limit=5");
    await call(`PATCH ${T}/:task_id`, at, { description: "d" });
    await call(`PUT ${T}/:task_id`, at, { priority: "high" });
    const { reminder } = await call(`POST ${T}/:task_id/reminders`, `${at}/reminders`, { before: "PT2H" });
    await call("GET /api/:user_id/reminders", "/reminders");
    await call(`DELETE ${T}/:task_id/reminders/:reminder_id`, `${at}/reminders/${reminder.id}`);
    const { tag } = await call("POST /api/:user_id/tags", "/tags", { name: "two", color: "#00aa00" });
    await call("PATCH /api/:user_id/tags/:tag_id", `/tags/${tag.id}`, { name: "three" });
    await call("PUT /api/:user_id/tags/:tag_id", `/tags/${tag.id}`, { color: "#00ff00" });
    await call("GET /api/:user_id/tags", "/tags");
    await call(`POST ${T}/:task_id/tags`, `${at}/tags`, { tag_id: tag.id });
    await call(`DELETE ${T}/:task_id/tags/:tag_id`, `${at}/tags/${tag.id}`);
    await call("DELETE /api/:user_id/tags/:tag_id", `/tags/${tag.id}`);
    await call(`POST ${T}/:task_id/skip-occurrence`, `${at}/skip-occurrence`);
    await call(`POST ${T}/:task_id/complete`, `${at}/complete`);
    await call(`POST ${T}/:task_id/uncomplete`, `${at}/uncomplete`);
    await call("GET /api/:user_id/settings", "/settings");
    await call("PUT /api/:user_id/settings", "/settings", { timezone: "Europe/Paris" });
    // The same timezone again changes nothing: a write's 202, no event (the schema allows event_id null).
    const same = await u.api("PUT", "/settings", { timezone: "Europe/Paris" });
    expect([same.status, same.body.event_id, same.body.settings]).toEqual([202, null, { timezone: "Europe/Paris" }]);
    await call(`DELETE ${T}/:task_id`, at);
    // The reads of applied data, once the writes above are applied (the delete is the last of them;
    // a GET of the task is a 404 as soon as the delete is accepted, so the history says when).
    await eventually(async () =>
      (await u.api("GET", `${at}/history`)).body.events?.some((e: { event_type: string }) => e.event_type === "task.deleted")
        ? true
        : undefined,
    );
    expect((await call(`GET ${T}/:task_id/history`, `${at}/history`)).events.length).toBeGreaterThan(10);
    expect((await call("GET /api/:user_id/activity-logs", "/activity-logs?limit=50")).activity.length).toBeGreaterThan(10);
    expect((await call("GET /api/:user_id/events", "/events?since=0")).events.length).toBeGreaterThan(10);
    expect([...checked].sort()).toEqual(Object.keys(routeSchemas).sort());
  });
});
