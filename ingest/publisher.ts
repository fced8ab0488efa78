/** Ingest's write path to the broker: events on the task topic, keyed by user id. */
import type { TaskEvent } from "../common/contracts/index.ts";
import { serializeEvent } from "../common/contracts/index.ts";
import type { Producer } from "../common/kafka.ts";
import { metric } from "../common/metrics.ts";

const produceSeconds = metric.latency("ingest_produce_seconds", "Time for the broker to acknowledge an event (acks=all)");

export interface EventWriter {
  /** Resolves once the event is durable; `queued` when it waits in the fallback queue. */
  emit(event: TaskEvent): Promise<{ queued: boolean }>;
}

export function brokerWriter(producer: Producer, topic: string): EventWriter {
  return {
    async emit(event) {
      const end = produceSeconds.startTimer();
      await producer.send({
        topic,
        messages: [
          {
            key: event.user_id,
            value: serializeEvent(event),
            headers: { event_type: event.event_type, correlation_id: event.correlation_id },
          },
        ],
      });
      end();
      return { queued: false };
    },
  };
}
