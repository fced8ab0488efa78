/**
 * Firing lateness of many reminders due within one minute, on the real stack.
 *
 *   nice node --import tsx bench/bench-lateness.ts [--reminders 10000] [--spread-ms 60000] [--lead-ms 60000]
 *
 * Starts the processors and the scheduler as their own processes (ports from the environment,
 * unique topic and Redis prefixes), produces `task.created` events with one reminder each straight
 * to task-events (users × tasks, due times uniform over `--spread-ms`, starting `--lead-ms` from
 * now), and reads the applied `reminder.triggered` events back from the event store. Reports, in ms:
 *   fired   = fired_at − remind_at (the scheduler's job ran and produced the trigger)
 *   applied = events.applied_at − remind_at (the processors' transaction that applied it began;
 *             what a WebSocket client sees minus the commit, the Redis publish and the last hop)
 * and checks that every reminder notified exactly once.
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { newEvent, serializeEvent, topicName } from "../common/contracts/index.ts";
import { openDb } from "../common/deps.ts";
import { createKafka, createProducer } from "../common/kafka.ts";
import { createTopics } from "../redpanda/create-topics.ts";
import { appliedTriggers } from "../storage/queries/reminder-triggers.ts";
import { envFor, eventually, type RunningProcess, startProcess, taskFields, testConfig } from "../test/harness.ts";

const { values } = parseArgs({
  options: {
    reminders: { type: "string", default: "10000" },
    "spread-ms": { type: "string", default: "60000" },
    "lead-ms": { type: "string", default: "60000" },
    users: { type: "string", default: "200" },
  },
});
const total = Number(values.reminders);
const spreadMs = Number(values["spread-ms"]);
const leadMs = Number(values["lead-ms"]);
const users = Number(values.users);

const config = testConfig({ LOG_LEVEL: "warn" });
const env = envFor(config, { LOG_LEVEL: "warn" });

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p95: quantile(s, 0.95), p99: quantile(s, 0.99), max: s[s.length - 1] };
};

async function ready(proc: RunningProcess, port: number, name: string) {
  await eventually(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`${name} exited: ${proc.output()}`);
      return fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    60_000,
    `${name} ready`,
  );
}

async function main() {
  await createTopics(config);
  const processors = startProcess(["processors"], env);
  const scheduler = startProcess(["scheduler"], env);
  await Promise.all([ready(processors, config.processorsPort, "processors"), ready(scheduler, config.schedulerPort, "scheduler")]);

  const kafka = createKafka(config, "bench-lateness");
  const db = await openDb(config, 1);
  const seen = new Map<string, { fired: number; applied: number }>();
  let duplicates = 0;

  const producer = createProducer(kafka, 5);
  await producer.connect();
  const start = Date.now() + leadMs;
  const topic = topicName(config.topicPrefix, "taskEvents");
  const run = randomUUID().slice(0, 6);
  const userIds = Array.from({ length: users }, (_, u) => `bench-${run}-${u}`);
  const messages = Array.from({ length: total }, (_, i) => {
    const user = userIds[i % users] as string;
    const remindAt = new Date(start + Math.floor(Math.random() * spreadMs)).toISOString();
    const e = newEvent(
      "task.created",
      { user_id: user, aggregate_id: randomUUID(), correlation_id: randomUUID() },
      {
        task: taskFields({ title: `bench ${i}`, reminders: [{ id: randomUUID(), at: remindAt, remind_at: remindAt }] }),
      },
    );
    return { key: user, value: serializeEvent(e) };
  });
  const produced = Date.now();
  for (let i = 0; i < messages.length; i += 1000) await producer.send({ topic, messages: messages.slice(i, i + 1000) });
  console.log(`produced ${total} task.created in ${Date.now() - produced} ms; first reminder due in ${start - Date.now()} ms`);

  const deadline = start + spreadMs + 120_000;
  const collect = async () => {
    seen.clear();
    duplicates = 0;
    for (const t of await appliedTriggers(db, userIds)) {
      if (seen.has(t.reminder_id)) duplicates += 1;
      const due = Date.parse(t.remind_at);
      seen.set(t.reminder_id, { fired: Date.parse(t.fired_at) - due, applied: Date.parse(t.applied_at) - due });
    }
  };
  while (seen.size < total && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    await collect();
  }
  await new Promise((r) => setTimeout(r, 3000)); // let late duplicates show up
  await collect();
  const metrics = await (await fetch(`http://127.0.0.1:${config.schedulerPort}/metrics`)).text();
  const fired = summary([...seen.values()].map((v) => v.fired));
  const applied = summary([...seen.values()].map((v) => v.applied));
  console.log(JSON.stringify({ reminders: total, spreadMs, received: seen.size, duplicates, fired, applied }, null, 2));
  console.log(
    metrics
      .split("\n")
      .filter((l) => /scheduler_(jobs_fired|jobs_scheduled)_total|firing_lateness_seconds_(count|sum)/.test(l))
      .join("\n"),
  );

  await db.end();
  await producer.disconnect();
  scheduler.child.kill("SIGTERM");
  processors.child.kill("SIGTERM");
  await Promise.all([scheduler.exited, processors.exited]);
  process.exit(seen.size === total && duplicates === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
