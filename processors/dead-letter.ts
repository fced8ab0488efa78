/** Records that cannot be applied go to the dead-letter topic, with the reason, so the partition moves on. */
import type { Producer } from "../common/kafka.ts";
import { metric } from "../common/metrics.ts";

const deadLetters = metric.counter("dead_letters_total", "Records sent to the dead-letter topic, by the topic they came from", [
  "source_topic",
]);

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | string | null;
  value: Buffer | string | null;
  reason: string;
}

/**
 * A record's value is kept up to this size. Another producer may write records near the broker's
 * limit, above what this producer may send (message.max.bytes): such a dead letter would fail
 * every time, and with it the whole group of partitions. The header says how long it was.
 */
export const MAX_DEAD_LETTER_VALUE_BYTES = 512 * 1024;

const bounded = (value: Buffer | string | null): { value: Buffer | string | null; truncatedFrom?: number } => {
  if (value === null) return { value };
  const bytes = typeof value === "string" ? Buffer.from(value) : value;
  if (bytes.length <= MAX_DEAD_LETTER_VALUE_BYTES) return { value };
  return { value: bytes.subarray(0, MAX_DEAD_LETTER_VALUE_BYTES), truncatedFrom: bytes.length };
};

export async function sendDeadLetters(producer: Producer, dlqTopic: string, letters: DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  await producer.send({
    topic: dlqTopic,
    messages: letters.map((l) => {
      const { value, truncatedFrom } = bounded(l.value);
      return {
        key: l.key,
        value,
        headers: {
          "x-dlq-reason": l.reason.slice(0, 1000),
          "x-dlq-source": `${l.topic}/${l.partition}/${l.offset}`,
          "x-dlq-at": new Date().toISOString(),
          ...(truncatedFrom === undefined ? {} : { "x-dlq-truncated-from-bytes": String(truncatedFrom) }),
        },
      };
    }),
  });
  for (const l of letters) deadLetters.inc({ source_topic: l.topic });
}
