/**
 * Group commit: the batches of several partitions that arrive while one group is being applied
 * wait and are applied together as the next group, one transaction and one Redis round trip for
 * all of them. Under load the groups grow by themselves (a group's fixed cost, a few statements
 * and round trips, is spread over more events); when it is quiet a batch goes alone and waits
 * for nothing. Every batch of a group shares its outcome: when the group fails, each of its
 * callers fails and retries on its own (effectsFirstBatchHandler), so no offset is stored for
 * an effect that did not happen.
 */
export function groupCommit<T>(apply: (group: T[]) => Promise<void>, maxGroupItems = Number.POSITIVE_INFINITY): (item: T) => Promise<void> {
  interface Waiter {
    item: T;
    resolve(): void;
    reject(err: unknown): void;
  }
  const waiting: Waiter[] = [];
  let draining = false;
  const drain = async () => {
    draining = true;
    while (waiting.length > 0) {
      const group = waiting.splice(0, maxGroupItems);
      try {
        await apply(group.map((w) => w.item));
        for (const w of group) w.resolve();
      } catch (err) {
        for (const w of group) w.reject(err);
      }
    }
    draining = false;
  };
  return (item) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (!draining) void drain();
    });
}
