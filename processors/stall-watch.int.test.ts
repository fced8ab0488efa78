/**
 * The stall watch on the real broker, as the processors use it (groupPositions + StallWatch): a
 * consumer that stops fetching while records wait is reported with the right partition and count;
 * a consumer whose batches keep failing (and are redelivered) is not; progress clears a stall.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { topicName } from "../common/contracts/index.ts";
import { type Consumer, createConsumer, createKafka, createProducer, type EachBatchPayload, groupPositions } from "../common/kafka.ts";
import { createTopics } from "../redpanda/create-topics.ts";
import { eventually, testConfig, uniqueId } from "../test/harness.ts";
import { type Stall, StallWatch } from "./stall-watch.ts";

const config = testConfig();
const kafka = createKafka(config, "stall-watch-test");
const admin = kafka.admin();
const producer = createProducer(kafka);
const topic = topicName(config.topicPrefix, "taskEvents");
const consumers: Consumer[] = [];

beforeAll(async () => {
  await createTopics(config);
  await admin.connect();
  await producer.connect();
});
afterAll(async () => {
  await Promise.allSettled(consumers.map((c) => c.disconnect()));
  await producer.disconnect();
  await admin.disconnect();
});

const send = (key: string, n: number) =>
  producer.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ key, value: `${key}-${i}` })) });

/** A consumer of `topic` in its own group, committing what `handle` returned from (as the processors do). */
async function consumerOf(group: string, handle: (batch: EachBatchPayload["batch"]) => Promise<void>): Promise<Consumer> {
  const c = createConsumer(kafka, group, { commitIntervalMs: 200 });
  consumers.push(c);
  await c.connect();
  await c.subscribe({ topics: [topic] });
  await c.run({
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset }) => {
      await handle(batch);
      const last = batch.messages.at(-1);
      if (last) resolveOffset(last.offset);
    },
  });
  return c;
}

/** Looks again and again (the service looks every 5 s) until `until` holds for a judgement. */
async function lookUntil(watch: StallWatch, c: Consumer, group: string, until: (stall: Stall | undefined) => boolean, ms: number) {
  return eventually(
    async () => {
      const stall = watch.observe(await groupPositions(admin, c, group, [topic]), Date.now());
      return until(stall) ? { stall } : undefined;
    },
    ms,
    "the watch's judgement",
  );
}

it("reports a consumer that stopped fetching while records wait, and clears once it moves again", async () => {
  const group = uniqueId("stall-group");
  const handled: string[] = [];
  const c = await consumerOf(group, async (batch) => {
    for (const m of batch.messages) handled.push(String(m.value));
  });
  await send("stall-user", 3);
  await eventually(() => handled.length === 3, 30_000, "the first records handled");
  const watch = new StallWatch(1500);
  // Caught up: nothing to report however long it is quiet (looks over twice the window).
  const quietFrom = Date.now();
  const judgements: (Stall | undefined)[] = [];
  await lookUntil(
    watch,
    c,
    group,
    (s) => {
      judgements.push(s);
      return Date.now() - quietFrom > 3000;
    },
    20_000,
  );
  expect(judgements.filter((s) => s !== undefined)).toEqual([]);

  c.pause([{ topic }]);
  await send("stall-user", 5);
  const { stall } = await lookUntil(watch, c, group, (s) => s !== undefined, 30_000);
  expect(stall?.behind).toBe(5);
  expect(stall?.partitions).toHaveLength(1);
  expect(stall?.forMs).toBeGreaterThanOrEqual(1500);

  c.resume([{ topic }]);
  await eventually(() => handled.length === 8, 30_000, "the waiting records handled after resume");
  expect((await lookUntil(watch, c, group, (s) => s === undefined, 30_000)).stall).toBeUndefined();
});

it("does not report a consumer whose batches keep failing and are redelivered (a retry, not a stall)", async () => {
  const group = uniqueId("retry-group");
  const watch = new StallWatch(1500);
  let attempts = 0;
  let firstAttemptAt = 0;
  const judgements: (Stall | undefined)[] = [];
  const c = await consumerOf(group, async (batch) => {
    watch.handed(batch.topic, batch.partition, Date.now());
    attempts++;
    firstAttemptAt ||= Date.now();
    await new Promise((r) => setTimeout(r, 300)); // the processors back off before a batch is redelivered
    throw new Error("PostgreSQL is down");
  });
  await send("retry-user", 4);
  // Judge until the batch has been failing for three windows.
  await eventually(
    async () => {
      judgements.push(watch.observe(await groupPositions(admin, c, group, [topic]), Date.now()));
      return attempts > 3 && firstAttemptAt > 0 && Date.now() - firstAttemptAt > 4500;
    },
    60_000,
    "three windows of failing batches",
  );
  expect(judgements.filter((s) => s !== undefined)).toEqual([]);
});
