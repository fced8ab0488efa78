/**
 * Fuzzing on the real stack: random requests against the HTTP API and random records into the
 * task topic. Nothing may produce a 5xx, crash a process or stop the pipeline.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signLocalToken } from "../../common/auth.ts";
import { topicName } from "../../common/contracts/index.ts";
import { createKafka, createProducer } from "../../common/kafka.ts";
import { apiClient, startSystem, testConfig, uniqueId, wsConnect } from "../harness.ts";

const config = testConfig();
let system: Awaited<ReturnType<typeof startSystem>>;
beforeAll(async () => {
  system = await startSystem(config);
});
afterAll(async () => {
  expect(await system.stop()).toBe(0);
});

const segment = fc.oneof(
  fc.constantFrom("tasks", "tags", "reminders", "events", "settings", "activity-logs", "complete", "history", "%00", "..", "x".repeat(300)),
  fc.uuid(),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
);
const query = fc.dictionary(
  fc.constantFrom("limit", "since", "cursor", "search", "sort_by", "status", "tags", "offset", "due_date_start"),
  fc.string({ maxLength: 30 }),
);
const body = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constant(""),
  fc.constant("{".repeat(5000)),
);

describe("HTTP API fuzz", () => {
  it("answers 600 random requests without a 5xx and stays healthy", async () => {
    const userId = uniqueId("fuzz");
    const token = await signLocalToken(config, userId);
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "PATCH", "PUT", "DELETE"),
        fc.array(segment, { maxLength: 4 }),
        query,
        body,
        fc.constantFrom("application/json", "text/plain", "application/json; charset=utf-8", ""),
        async (method, segments, q, payload, contentType) => {
          const url = `http://127.0.0.1:${config.ingestPort}/api/${userId}/${segments.join("/")}?${new URLSearchParams(q)}`;
          const res = await fetch(url, {
            method,
            headers: { authorization: `Bearer ${token}`, ...(contentType ? { "content-type": contentType } : {}) },
            ...(method === "GET" ? {} : { body: payload }),
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.status, `${method} ${url}`).toBeLessThan(500);
        },
      ),
      { numRuns: 600 },
    );
    expect((await fetch(`http://127.0.0.1:${config.ingestPort}/healthz`)).status).toBe(200);
  }, 120_000);
});

describe("broker record fuzz", () => {
  it("dead-letters 300 random records and keeps applying real events", async () => {
    const userId = uniqueId("after-fuzz");
    const token = await signLocalToken(config, userId);
    const producer = createProducer(createKafka(config, "fuzz"));
    await producer.connect();
    const records = fc.sample(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
        fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
      ),
      300,
    );
    await producer.send({
      topic: topicName(config.topicPrefix, "taskEvents"),
      messages: records.map((value, i) => ({ key: `fuzz-${i % 7}`, value })),
    });
    await producer.disconnect();
    const ws = await wsConnect(config, userId, token);
    await apiClient(config, userId, token)("POST", "/tasks", { title: "after the noise" });
    await ws.waitFor((m) => m.type === "task.created", 1, 30_000);
    ws.close();
  }, 60_000);
});
