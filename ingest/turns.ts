/**
 * Turns per key, first come first served, within one process: `take(key)` resolves when every
 * earlier taker of that key has released its turn. Writes on one task take turns up to their
 * acceptance, so the writes this process decides on one task never go stale on each other (the
 * compare-and-set of admission.ts is then left to catch writes of other ingest instances).
 */
export function turns() {
  const last = new Map<string, Promise<void>>();
  return {
    /** Waits for the key's turn; the function returned ends it (calling it again does nothing). */
    async take(key: string): Promise<() => void> {
      const before = last.get(key);
      let release = () => {};
      const mine = new Promise<void>((resolve) => {
        release = resolve;
      });
      const tail = before ? before.then(() => mine) : mine;
      last.set(key, tail);
      if (before) await before;
      return () => {
        release();
        if (last.get(key) === tail) last.delete(key);
      };
    },
    /** Keys with a turn taken or awaited (bounded by the requests in flight). */
    get size() {
      return last.size;
    },
  };
}
