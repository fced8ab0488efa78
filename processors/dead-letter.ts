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

export async function sendDeadLetters(producer: Producer, dlqTopic: string, letters: DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  await producer.send({
    topic: dlqTopic,
    messages: letters.map((l) => ({
      key: l.key,
      value: l.value,
      headers: {
        "x-dlq-reason": l.reason.slice(0, 1000),
        "x-dlq-source": `${l.topic}/${l.partition}/${l.offset}`,
        "x-dlq-at": new Date().toISOString(),
      },
    })),
  });
  for (const l of letters) deadLetters.inc({ source_topic: l.topic });
}
