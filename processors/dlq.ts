/**
 * `npm start -- dlq <list|redrive> [options]`: the dead-letter topic for operators.
 *   list                      print every record now in the DLQ, one JSON line each (reason, source, value); no commit
 *   redrive [--reason TEXT]   send each record's value (same key) back to the topic it came from, and commit the
 *                             DLQ position of the group `<TOPIC_PREFIX>taskstream-dlq-redrive` (`--group` to
 *                             change it): a later redrive only sends what was dead-lettered since. With `--reason`,
 *                             only records whose reason contains TEXT are sent; the others are passed over (and,
 *                             with the committed position, not offered again to that group).
 *   --timeout-ms N            give up after N ms (default 60000)
 * Safe to repeat: the processors deduplicate by event_id, so an event applied meanwhile is a no-op.
 * A record whose cause was not fixed is dead-lettered again, with its reason.
 * Exit 0 when every record up to the DLQ's end at start-up was handled.
 */
import { randomUUID } from "node:crypto";
import { type Config, ConfigError } from "../common/config.ts";
import { topicName } from "../common/contracts/index.ts";
import { createConsumer, createKafka, createProducer } from "../common/kafka.ts";

type Headers = Record<string, Buffer | string | (Buffer | string)[] | undefined>;
const header = (h: Headers | undefined, k: string): string | undefined => {
  const v = h?.[k];
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : one.toString();
};

export async function dlqCommand(config: Config, args: string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)) {
  const [sub, ...rest] = args;
  const opt = (name: string) => {
    const i = rest.indexOf(`--${name}`);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  if (sub !== "list" && sub !== "redrive") throw new ConfigError("usage: dlq <list|redrive> [--reason TEXT] [--group ID] [--timeout-ms N]");
  const dlq = topicName(config.topicPrefix, "deadLetters");
  const group = sub === "list" ? `taskstream-dlq-list-${randomUUID()}` : (opt("group") ?? `${config.topicPrefix}taskstream-dlq-redrive`);
  const reasonFilter = opt("reason");
  const timeoutMs = Number(opt("timeout-ms") ?? 60_000);

  const kafka = createKafka(config, "taskstream-dlq");
  const admin = kafka.admin();
  await admin.connect();
  // Where to stop: the end of each partition now. Where the group starts: its committed offset, or the beginning.
  const ends = new Map<number, bigint>();
  const reached = new Map<number, bigint>();
  try {
    for (const p of await admin.fetchTopicOffsets(dlq)) {
      ends.set(p.partition, BigInt(p.high));
      reached.set(p.partition, BigInt(p.low));
    }
    if (sub === "redrive") {
      for (const t of await admin.fetchOffsets({ groupId: group, topics: [dlq] })) {
        for (const p of t.partitions) if (Number(p.offset) >= 0) reached.set(p.partition, BigInt(p.offset));
      }
    }
  } finally {
    await admin.disconnect();
  }
  const done = () => [...ends].every(([p, end]) => (reached.get(p) ?? 0n) >= end);
  const counts = { records: 0, redriven: 0, passed: 0 };
  if (done()) {
    out(JSON.stringify({ done: true, ...counts, note: "nothing to do: the DLQ has no record past the group's position" }));
    return 0;
  }

  const producer = sub === "redrive" ? createProducer(kafka) : undefined;
  const consumer = createConsumer(kafka, group);
  await producer?.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [dlq] });
  let finish = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  await consumer.run({
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset }) => {
      const end = ends.get(batch.partition) ?? 0n;
      const sends = new Map<string, { key: Buffer | string | null; value: Buffer | null; headers: Record<string, string> }[]>();
      let last: bigint | undefined;
      for (const m of batch.messages) {
        const offset = BigInt(m.offset);
        if (offset >= end) break;
        last = offset;
        counts.records++;
        const reason = header(m.headers as Headers, "x-dlq-reason") ?? "";
        const source = header(m.headers as Headers, "x-dlq-source") ?? "";
        if (sub === "list") {
          out(
            JSON.stringify({
              partition: batch.partition,
              offset: m.offset,
              at: header(m.headers as Headers, "x-dlq-at"),
              source,
              reason,
              key: m.key?.toString() ?? null,
              value: m.value?.toString("utf8").slice(0, 2000) ?? null,
            }),
          );
          continue;
        }
        const sourceTopic = source.split("/").slice(0, -2).join("/");
        if (!sourceTopic || (reasonFilter !== undefined && !reason.includes(reasonFilter))) {
          counts.passed++;
          continue;
        }
        const list = sends.get(sourceTopic) ?? [];
        list.push({
          key: m.key ?? null,
          value: m.value ?? null,
          headers: { "x-dlq-redriven-from": `${dlq}/${batch.partition}/${m.offset}` },
        });
        sends.set(sourceTopic, list);
        counts.redriven++;
      }
      for (const [topic, messages] of sends) await producer?.send({ topic, messages });
      if (last !== undefined) {
        resolveOffset(String(last));
        if (sub === "redrive") await consumer.commitOffsets([{ topic: dlq, partition: batch.partition, offset: String(last + 1n) }]);
        reached.set(batch.partition, last + 1n);
      }
      if (done()) finish();
    },
  });
  const timer = setTimeout(finish, timeoutMs);
  await finished;
  clearTimeout(timer);
  const complete = done();
  await consumer.disconnect();
  await producer?.disconnect();
  out(JSON.stringify({ done: complete, ...counts, group: sub === "redrive" ? group : undefined }));
  return complete ? 0 : 1;
}
