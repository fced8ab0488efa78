/**
 * `dlq list` and `dlq redrive` on the real broker: records in the dead-letter topic are listed with
 * their reason, sent back to their source topic with the same key and value, and a second redrive
 * has nothing left to do (the group's position is committed).
 */
import { randomUUID } from "node:crypto";
import { afterAll, expect, it } from "vitest";
import { newEvent, serializeEvent, topicName } from "../common/contracts/index.ts";
import { createConsumer, createKafka, createProducer } from "../common/kafka.ts";
import { createTopics } from "../redpanda/create-topics.ts";
import { eventually, testConfig } from "../test/harness.ts";
import { dlqCommand } from "./dlq.ts";

const config = testConfig();
const kafka = createKafka(config, "dlq-test");
const producer = createProducer(kafka);
const reader = createConsumer(kafka, `dlq-test-${randomUUID()}`);
afterAll(async () => {
  await reader.disconnect();
  await producer.disconnect();
});

it("lists the dead letters and re-drives them to their source topic once", async () => {
  await createTopics(config);
  const source = topicName(config.topicPrefix, "taskEvents");
  const dlq = topicName(config.topicPrefix, "deadLetters");
  const event = newEvent("task.deleted", { user_id: "dlq-user", aggregate_id: randomUUID(), correlation_id: randomUUID() }, {});
  await producer.connect();
  await producer.send({
    topic: dlq,
    messages: [
      {
        key: "dlq-user",
        value: serializeEvent(event),
        headers: { "x-dlq-reason": "not_found: task was deleted", "x-dlq-source": `${source}/3/17`, "x-dlq-at": new Date().toISOString() },
      },
      { key: "other", value: "not json", headers: { "x-dlq-reason": "not JSON: Unexpected token", "x-dlq-source": `${source}/1/4` } },
    ],
  });

  const listed: string[] = [];
  expect(await dlqCommand(config, ["list"], (l) => listed.push(l))).toBe(0);
  const records = listed.map((l) => JSON.parse(l)).filter((r) => r.offset !== undefined);
  expect(records.map((r) => r.reason)).toEqual(["not_found: task was deleted", "not JSON: Unexpected token"]);
  expect(records[0]).toMatchObject({ source: `${source}/3/17`, key: "dlq-user", value: serializeEvent(event).toString() });

  const arrived: { key: string; value: string; from?: string }[] = [];
  await reader.connect();
  await reader.subscribe({ topics: [source] });
  await reader.run({
    eachMessage: async ({ message }) => {
      arrived.push({ key: String(message.key), value: String(message.value), from: message.headers?.["x-dlq-redriven-from"]?.toString() });
    },
  });

  const lines: string[] = [];
  expect(await dlqCommand(config, ["redrive", "--reason", "not_found"], (l) => lines.push(l))).toBe(0);
  expect(JSON.parse(lines.at(-1) as string)).toMatchObject({ done: true, records: 2, redriven: 1, passed: 1 });
  await eventually(() => arrived.length >= 1, 30_000, "the re-driven record on its source topic");
  expect(arrived[0]).toMatchObject({ key: "dlq-user", value: serializeEvent(event).toString(), from: `${dlq}/0/0` });

  const again: string[] = [];
  expect(await dlqCommand(config, ["redrive"], (l) => again.push(l))).toBe(0);
  expect(JSON.parse(again.at(-1) as string)).toMatchObject({ done: true, records: 0 });
});
