/**
 * Drains the fallback queue to the broker, oldest first, as soon as the broker takes writes again.
 * One relay at a time across all ingest replicas (a PostgreSQL advisory lock), so one user's queued
 * events are never sent out of order; rows are deleted only after the broker acknowledged them.
 */
import type { Producer } from "../common/kafka.ts";
import { logger } from "../common/log.ts";
import { metric } from "../common/metrics.ts";
import type { Db } from "../common/postgres.ts";
import { eventTraceHeaders, tracingEnabled } from "../common/telemetry.ts";
import { oldest, queuedCount, releaseRelayLock, remove, tryRelayLock } from "../storage/queries/outbox.ts";

const log = logger("outbox-relay");
const relayed = metric.counter("outbox_relayed_total", "Events sent from the fallback queue to the broker");
const depth = metric.gauge("outbox_depth", "Events waiting in the fallback queue");
const BATCH = 500;

export interface Relay {
  stop(): Promise<void>;
}

export function startRelay(db: Db, producer: Pick<Producer, "send">, topic: string, intervalMs = 250): Relay {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  const drainOnce = async () => {
    await db.connect(async (c) => {
      if (!(await tryRelayLock(c))) return;
      try {
        for (;;) {
          const rows = await oldest(c, BATCH);
          if (rows.length === 0 || stopped) break;
          // Tracing on: each queued event goes out in the trace of the request that wrote it.
          const headers = (r: (typeof rows)[number]) =>
            tracingEnabled() ? { headers: eventTraceHeaders(JSON.parse(String(r.payload))) } : {};
          await producer.send({ topic, messages: rows.map((r) => ({ key: r.user_id, value: r.payload, ...headers(r) })) });
          await remove(
            c,
            rows.map((r) => r.id),
          );
          relayed.inc(rows.length);
          log.info({ sent: rows.length }, "relayed queued events to the broker");
        }
        depth.set(await queuedCount(c));
      } finally {
        await releaseRelayLock(c);
      }
    });
  };

  // One drain at a time: a tick that finds one still running (a send waiting out a broker outage)
  // is skipped, so ticks never queue up behind it.
  let draining = false;
  const timer = setInterval(() => {
    if (draining) return;
    draining = true;
    running = drainOnce()
      .catch((err: Error) => log.debug({ err: err.message }, "relay attempt failed; will retry"))
      .finally(() => {
        draining = false;
      });
  }, intervalMs);

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
