/**
 * The events of a group's batches in one order: each batch's own order kept (a partition's log
 * order), and batches of different partitions interleaved by event time. A user's events come
 * from two topics (their writes, the scheduler's triggers and spawns); applied by arrival, a
 * reminder trigger fetched before a completion sent earlier would fire on a completed task.
 */
export function inTimeOrder<T extends { timestamp: string }>(sequences: readonly (readonly T[])[]): T[] {
  // Each event's time parsed once (a group merges up to a few hundred events).
  const times = sequences.map((seq) => seq.map((e) => Date.parse(e.timestamp)));
  const next = sequences.map(() => 0);
  const out: T[] = [];
  for (;;) {
    let pick = -1;
    let earliest = Number.POSITIVE_INFINITY;
    times.forEach((seq, i) => {
      const at = seq[next[i] as number];
      if (at === undefined) return;
      if (pick < 0 || at < earliest) [pick, earliest] = [i, at];
    });
    if (pick < 0) return out;
    out.push((sequences[pick] as readonly T[])[next[pick] as number] as T);
    next[pick] = (next[pick] as number) + 1;
  }
}
