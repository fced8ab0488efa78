/**
 * Fault tests on the real stack (`make test-faults`): broker outage, SIGKILLed services,
 * restarted Redis and PostgreSQL, poison messages. Each runs a bounded write load on loopback
 * and ends with a count proving every accepted event reached its owner once, in order.
 */
import { appendFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topicName } from "../../common/contracts/index.ts";
import { createKafka, createProducer } from "../../common/kafka.ts";
import { createTopics } from "../../redpanda/create-topics.ts";
import { apiClient, eventually, testConfig, wsConnect } from "../harness.ts";
import { Cluster, dependency, expectAllDelivered, makeUsers, ResumingClient, type ServiceName, writeLoad } from "./cluster.ts";

const config = testConfig({ PRODUCE_TIMEOUT_MS: "1500" });
const cluster = new Cluster(config, { PRODUCE_TIMEOUT_MS: "1500" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function record(fault: string, load: string, r: Awaited<ReturnType<typeof expectAllDelivered>>, extra = "") {
  const line = `| ${fault} | ${load} | ${r.accepted} | ${r.delivered} | ${r.duplicates} | ${(r.catchUpMs / 1000).toFixed(1)} s | ${extra} |`;
  console.info(line);
  if (process.env.FAULTS_REPORT) appendFileSync(process.env.FAULTS_REPORT, `${line}\n`);
}

async function scenario(label: string, fault: (users: { id: string; token: string }[]) => Promise<string | undefined>) {
  const users = await makeUsers(config, 4, label);
  const clients = users.map((u) => new ResumingClient(config, u.id, u.token));
  await Promise.all(clients.map((c) => c.connect()));
  // 4 users × ~25 writes/s, bounded to 2 minutes whatever happens.
  const load = writeLoad(config, users, 40, 120_000);
  await sleep(2000);
  const extra = await fault(users);
  await sleep(2000);
  const result = await load.stop();
  const report = await expectAllDelivered(clients, result);
  for (const c of clients) c.close();
  expect(report.duplicates).toBe(0);
  expect(report.gaps).toBe(0);
  expect(report.outOfOrder).toBe(0);
  expect(report.delivered).toBe(report.accepted);
  expect(report.accepted).toBeGreaterThan(50);
  return { report, result, extra };
}

beforeAll(async () => {
  await createTopics(config);
  await cluster.startAll();
}, 120_000);
afterAll(async () => {
  await cluster.stopAll();
});

describe("broker outage", () => {
  it("queues writes in PostgreSQL for 30 s and delivers every accepted one after recovery, in order, once", async () => {
    let lateJoiner: ResumingClient | undefined;
    const { report, result } = await scenario("outage", async () => {
      await dependency("kafka", "stop");
      const down = Date.now();
      // A client connecting during the outage is accepted and gets events once they flow.
      const [u] = await makeUsers(config, 1, "late");
      lateJoiner = new ResumingClient(config, u!.id, u!.token);
      await lateJoiner.connect();
      await fetch(`http://127.0.0.1:${config.ingestPort}/api/${u!.id}/tasks`, {
        method: "POST",
        headers: { authorization: `Bearer ${u!.token}`, "content-type": "application/json" },
        body: JSON.stringify({ title: "written while the broker is down" }),
      });
      await sleep(30_000 - (Date.now() - down));
      await dependency("kafka", "start");
      return undefined;
    });
    await eventually(() => lateJoiner!.received.length === 1, 60_000, "late joiner's event");
    lateJoiner!.close();
    expect(result.queued).toBeGreaterThan(0);
    record("broker stopped 30 s", "4 users × 25 writes/s", report, `${result.queued} queued in PostgreSQL`);
  }, 240_000);
});

describe("processes killed with SIGKILL and restarted", () => {
  it.each(["processors", "scheduler", "fanout", "ingest"] as ServiceName[])(
    "%s",
    async (name) => {
      const { report, result } = await scenario(`kill-${name}`, async () => {
        await cluster.kill(name);
        await sleep(1000);
        await cluster.start(name);
        return undefined;
      });
      const refused = [...result.refused.values()].reduce((a, b) => a + b, 0);
      record(
        `${name} SIGKILL + restart`,
        "4 users × 25 writes/s",
        report,
        refused ? `${refused} requests failed while it was down (not accepted)` : "",
      );
    },
    240_000,
  );
});

describe("dependencies restarted", () => {
  it.each(["redis", "postgres"] as const)(
    "%s",
    async (which) => {
      const lettersBefore = await deadLetterCount();
      const { report, result } = await scenario(`restart-${which}`, async (users) => {
        await dependency(which, "stop");
        const down = Date.now();
        // Ingest stays in the load balancer, degraded: it still answers (README "Failure modes").
        // So does the fan-out without Redis: new sockets replay from PostgreSQL.
        const stages = which === "redis" ? (["ingest", "fanout"] as const) : (["ingest"] as const);
        for (const stage of stages) {
          const port = stage === "ingest" ? config.ingestPort : config.fanoutPort;
          await eventually(
            async () => {
              const res = await fetch(`http://127.0.0.1:${port}/readyz`);
              const checks = ((await res.json()) as { checks: Record<string, string> }).checks;
              return res.status === 200 && checks[`${stage}.${which}`]?.startsWith("degraded: ") === true;
            },
            4000,
            `${stage} ready, reporting ${which} degraded`,
          );
        }
        if (which === "redis") {
          // A user's new socket replays from PostgreSQL and goes live (it used to wait, silent, for
          // Redis); polling reads PostgreSQL too.
          const [u] = users as [{ id: string; token: string }];
          const ws = await wsConnect(config, u.id, u.token, 0);
          const [ready] = await ws.waitFor((m) => m.type === "ready", 1, 3000);
          expect(ws.messages.filter((m) => typeof m.seq === "number" && m.type !== "ready")).toHaveLength(ready.seq);
          ws.close();
          const polled = await apiClient(config, u.id, u.token)("GET", "/events?since=0&limit=1");
          expect(polled.status).toBe(200);
        }
        await sleep(Math.max(0, 5000 - (Date.now() - down)));
        await dependency(which, "start");
        return undefined;
      });
      // An outage is retried, never dead-lettered; and no write waited long for an answer.
      expect(await deadLetterCount()).toBe(lettersBefore);
      if (which === "redis") expect(result.slowestMs).toBeLessThan(2000);
      const refused = [...result.refused.values()].reduce((a, b) => a + b, 0);
      record(
        `${which} restarted (5 s down)`,
        "4 users × 25 writes/s",
        report,
        refused ? `${refused} writes refused with 503 while it was down` : "",
      );
    },
    240_000,
  );
});

/** Records on the dead-letter topic so far (its end offsets summed). */
async function deadLetterCount(): Promise<number> {
  const admin = createKafka(config, "dlq-count").admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topicName(config.topicPrefix, "deadLetters"));
    return ends.reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

describe("poison messages", () => {
  it("go to the dead-letter topic with a reason and the consumer catches up", async () => {
    const kafka = createKafka(config, "poison-test");
    const producer = createProducer(kafka);
    await producer.connect();
    const topic = topicName(config.topicPrefix, "taskEvents");
    const poison = [
      Buffer.from([0xff, 0xfe, 0x00]),
      Buffer.from("{not json"),
      Buffer.from(JSON.stringify({ event_type: "task.created", user_id: "x" })),
      Buffer.from(JSON.stringify({ event_type: "task.exploded" })),
    ];
    await producer.send({ topic, messages: poison.map((value, i) => ({ key: `poison-${i}`, value })) });
    await producer.disconnect();

    const consumer = kafka.consumer({ kafkaJS: { groupId: `dlq-reader-${Date.now()}`, fromBeginning: true } });
    await consumer.connect();
    await consumer.subscribe({ topic: topicName(config.topicPrefix, "deadLetters") });
    const letters: { key: string; reason: string }[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        letters.push({ key: String(message.key), reason: String(message.headers?.["x-dlq-reason"]) });
      },
    });
    await eventually(() => poison.every((_, i) => letters.some((l) => l.key === `poison-${i}`)), 60_000, "dead letters");
    await consumer.disconnect();
    for (const l of letters.filter((x) => x.key.startsWith("poison-")))
      expect(l.reason).toMatch(/not JSON|not a valid event|unknown event_type/);

    const admin = kafka.admin();
    await admin.connect();
    await eventually(
      async () => {
        const [committed] = await admin.fetchOffsets({ groupId: config.processorsGroup, topics: [topic] });
        const ends = await admin.fetchTopicOffsets(topic);
        return ends.every((e) => {
          const at = committed!.partitions.find((p) => p.partition === e.partition)?.offset ?? "-1";
          // -1: nothing committed, which is caught up only for a partition that never had a message.
          return at === e.high || (at === "-1" && e.high === e.low);
        });
      },
      30_000,
      "consumer lag back to zero",
    );
    await admin.disconnect();
  }, 120_000);
});
