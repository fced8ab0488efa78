/**
 * The processors' guard against a consumer that stopped consuming while the broker answers: it
 * looks every 5 s at where the group stands, stall-watch.ts judges, and on a stall it has the
 * service rejoin (leave that consumer, join the group again with new clients), unless a stalled
 * partition's batch is still in its handler (a second consumer would apply it twice at once). A
 * stall that comes back right after a rejoin waits twice as long before the next, up to 16 windows.
 */
import type { Logger } from "../common/log.ts";
import { metric } from "../common/metrics.ts";
import { withTimeout } from "../common/service.ts";
import { type PartitionPosition, type Stall, StallWatch } from "./stall-watch.ts";

const stalledPartitions = metric.gauge(
  "processor_stalled_partitions",
  "Partitions with records waiting and no progress for PROCESSORS_STALL_SECONDS while the broker answers",
);
const rejoins = metric.counter(
  "processor_consumer_rejoins_total",
  "Times the processors left a stalled consumer and joined their group again with new clients",
);
/** How often the group's committed offsets and the partitions' ends are read. */
const LOOK_MS = 5000;

export interface Guarded {
  /** Where the group stands on the consumer's partitions (groupPositions); undefined while it is not connected. */
  positions(): Promise<PartitionPosition[]> | undefined;
  /** Leaves the consumer and joins the group again with new clients. */
  rejoin(): Promise<void>;
}

export function guardConsumer(log: Logger, stallMs: number, consumer: Guarded) {
  const watch = new StallWatch(stallMs);
  /** Batches being handled, per partition. */
  const inFlight = new Map<string, number>();
  let stall: Stall | undefined;
  /** Rejoins after which the stall came back, and when the last was. */
  let fruitless = 0;
  let lastRejoinAt = 0;
  let looking = false;
  let stopping = false;
  let rejoining: Promise<void> | undefined;

  const rejoin = async (seen: Stall) => {
    const partitions = seen.partitions.map((p) => `${p.topic}/${p.partition}`);
    if (partitions.some((p) => (inFlight.get(p) ?? 0) > 0)) {
      log.error({ partitions, behind: seen.behind }, "consumer stalled with a batch still being handled; not rejoining (see /readyz)");
      return;
    }
    if (Date.now() - lastRejoinAt < stallMs * 2 ** Math.min(fruitless, 4)) return;
    log.error(
      { partitions, behind: seen.behind, stalledForMs: seen.forMs, rejoinsInARow: fruitless + 1 },
      "consumer made no progress while the broker answers; leaving it and joining the group again with new clients",
    );
    rejoins.inc();
    fruitless++;
    lastRejoinAt = Date.now();
    await consumer.rejoin();
    stall = undefined;
    stalledPartitions.set(0);
  };

  const look = async () => {
    if (looking || stopping) return;
    const sample = consumer.positions();
    if (!sample) return;
    looking = true;
    try {
      const positions = await withTimeout(sample, LOOK_MS, "offsets").catch(() => undefined);
      if (!positions) {
        watch.unknown();
        return;
      }
      stall = watch.observe(positions, Date.now());
      stalledPartitions.set(stall?.partitions.length ?? 0);
      // A rejoin worked when no stall is seen again for two windows after it.
      if (!stall && Date.now() - lastRejoinAt > 2 * stallMs) fruitless = 0;
      if (stall && !stopping) {
        rejoining = rejoin(stall);
        await rejoining;
      }
    } finally {
      // One look at a time: a broker that does not answer is asked again only once the client gave up (its request timeout).
      await sample.catch(() => {});
      looking = false;
    }
  };
  const timer = setInterval(() => void look(), LOOK_MS);

  return {
    /** Wraps an eachBatch handler: the watch learns which partitions are handed, and which are in a handler. */
    handing<P extends { batch: { topic: string; partition: number } }>(handler: (payload: P) => Promise<void>) {
      return async (payload: P): Promise<void> => {
        const { topic, partition } = payload.batch;
        const key = `${topic}/${partition}`;
        watch.handed(topic, partition, Date.now());
        inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
        try {
          await handler(payload);
        } finally {
          inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
        }
      };
    },
    /** A new consumer joined: a stall is judged on its own looks. */
    joined(): void {
      watch.reset();
    },
    /** The /readyz check: rejects while a stall is seen. */
    async check(): Promise<void> {
      if (stall)
        throw new Error(
          `no progress for ${Math.round(stall.forMs / 1000)} s on ${stall.partitions.length} partition(s), ${stall.behind} records waiting`,
        );
    },
    /** Stops looking; a rejoin under way finishes first. */
    async stop(): Promise<void> {
      stopping = true;
      clearInterval(timer);
      await rejoining;
    },
  };
}
