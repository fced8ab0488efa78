/**
 * Notices a consumer that stopped consuming while the broker answers. After a broker freeze a
 * librdkafka consumer has been seen to stay out of its group (coordinator requests timing out
 * every 30 s, nothing fetched) until the process was restarted, with every dependency healthy.
 *
 * A partition is stalled when, over `stallMs` of looks that all reached the broker, it had
 * records beyond the group's committed offset, that offset did not move, and this process was
 * handed none of its batches. A partition whose batches keep failing (PostgreSQL down) is handed
 * to the handler again and again: that is a retry, not a stall. Pure logic: the service samples
 * the offsets and acts on what this returns.
 */

/** One look at a partition: the group's committed offset and the partition's end (high watermark). */
export interface PartitionPosition {
  topic: string;
  partition: number;
  committed: number;
  end: number;
}

export interface Stall {
  partitions: PartitionPosition[];
  /** Records beyond the committed offsets of the stalled partitions. */
  behind: number;
  /** How long the longest of them has not moved. */
  forMs: number;
}

const keyOf = (topic: string, partition: number) => `${topic}/${partition}`;

export class StallWatch {
  private readonly handedAt = new Map<string, number>();
  /** Per partition: the committed offset of the last look and since when it has not moved. */
  private readonly unmoved = new Map<string, { committed: number; since: number }>();

  constructor(private readonly stallMs: number) {}

  /** The consumer handed a batch of this partition to the handler (whatever its outcome). */
  handed(topic: string, partition: number, now: number): void {
    this.handedAt.set(keyOf(topic, partition), now);
  }

  /** A look that did not reach the broker: nothing can be judged, every clock starts again. */
  unknown(): void {
    this.unmoved.clear();
  }

  /** Forgets the past (a new consumer joined): a stall is judged on its own looks only. */
  reset(): void {
    this.unmoved.clear();
    this.handedAt.clear();
  }

  /** Judges one look at the partitions this consumer is responsible for; undefined when none is stalled. */
  observe(positions: PartitionPosition[], now: number): Stall | undefined {
    const stalled: PartitionPosition[] = [];
    let longest = 0;
    const seen = new Set<string>();
    for (const p of positions) {
      const key = keyOf(p.topic, p.partition);
      seen.add(key);
      const before = this.unmoved.get(key);
      if (p.end <= p.committed || before === undefined || before.committed !== p.committed) {
        this.unmoved.set(key, { committed: p.committed, since: now });
        continue;
      }
      const quietFor = now - before.since;
      const handedAgo = now - (this.handedAt.get(key) ?? Number.NEGATIVE_INFINITY);
      if (quietFor >= this.stallMs && handedAgo >= this.stallMs) {
        stalled.push(p);
        longest = Math.max(longest, quietFor);
      }
    }
    for (const key of this.unmoved.keys()) if (!seen.has(key)) this.unmoved.delete(key);
    if (stalled.length === 0) return undefined;
    return { partitions: stalled, behind: stalled.reduce((n, p) => n + (p.end - p.committed), 0), forMs: longest };
  }
}
