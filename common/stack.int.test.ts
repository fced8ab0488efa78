/** The foundation on the real stack: Kafka round trip, PostgreSQL schema rules, Redis durability. */
import { randomUUID } from "node:crypto";
import { sql } from "slonik";
import { afterAll, describe, expect, it } from "vitest";
import { createTopics } from "../redpanda/create-topics.ts";
import { eventually, testConfig, uniqueId } from "../test/harness.ts";
import { newEvent, parseEvent, serializeEvent, type TaskEvent, topicName } from "./contracts/index.ts";
import { openDb, openRedis } from "./deps.ts";
import { createConsumer, createKafka, createProducer } from "./kafka.ts";

const config = testConfig();

describe("Kafka broker", () => {
  it("creates the topics of topics.json idempotently", async () => {
    const created = await createTopics(config);
    expect(created).toContain(topicName(config.topicPrefix, "taskEvents"));
    expect(await createTopics(config)).toEqual([]);
  });

  it("carries an event from an idempotent producer to a consumer group, keyed by user", async () => {
    const kafka = createKafka(config, "stack-test");
    const producer = createProducer(kafka);
    const consumer = createConsumer(kafka, uniqueId("group"));
    const topic = topicName(config.topicPrefix, "taskEvents");
    const user = uniqueId("user");
    const sent = newEvent("task.deleted", { user_id: user, aggregate_id: randomUUID(), correlation_id: randomUUID() }, {});
    await producer.connect();
    await producer.send({ topic, messages: [{ key: user, value: serializeEvent(sent) }] });
    await consumer.connect();
    await consumer.subscribe({ topic });
    const received: TaskEvent[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void received.push(parseEvent(message.value)) });
    await eventually(() => received.length > 0, 30_000, "message consumed");
    expect(received[0]).toEqual(sent);
    await consumer.disconnect();
    await producer.disconnect();
  });
});

describe("PostgreSQL", async () => {
  const db = await openDb(config, 2);
  afterAll(() => db.end());

  it("has the schema from the migrations", async () => {
    const tables = await db.anyFirst(sql.unsafe`select table_name from information_schema.tables where table_schema = 'public'`);
    expect(tables).toEqual(
      expect.arrayContaining(["users", "tasks", "tags", "task_tags", "reminders", "events", "activity_logs", "pgmigrations"]),
    );
  });

  it("refuses to change or delete a stored event", async () => {
    const id = randomUUID();
    await db.query(sql.unsafe`
      insert into events (event_id, user_id, seq, aggregate_id, version, event_type, schema_version, "timestamp", correlation_id, data)
      values (${id}, ${uniqueId("user")}, 1, 'x', 1, 'task.deleted', '1.0.0', now(), ${randomUUID()}, '{}')`);
    await expect(db.query(sql.unsafe`update events set data = '{"x":1}' where event_id = ${id}`)).rejects.toThrow(/immutable/);
    await expect(db.query(sql.unsafe`delete from events where event_id = ${id}`)).rejects.toThrow(/immutable/);
  });
});

describe("Redis", async () => {
  const redis = await openRedis(config, "stack-test");
  afterAll(() => redis.quit());

  it("persists with AOF so delayed jobs survive a restart", async () => {
    expect(await redis.config("GET", "appendonly")).toEqual(["appendonly", "yes"]);
  });
});
