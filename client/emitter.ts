/** A tiny typed event emitter (no DOM or Node dependency, so it runs in browsers and Node). */
export class Emitter<Events extends Record<string, unknown>> {
  private readonly handlers = new Map<keyof Events, Set<(payload: never) => void>>();

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof Events>(type: K, handler: (payload: Events[K]) => void): () => void {
    const set = this.handlers.get(type) ?? new Set();
    this.handlers.set(type, set);
    set.add(handler as (payload: never) => void);
    return () => set.delete(handler as (payload: never) => void);
  }

  protected emit<K extends keyof Events>(type: K, payload: Events[K]): void {
    for (const handler of [...(this.handlers.get(type) ?? [])]) {
      try {
        (handler as (p: Events[K]) => void)(payload);
      } catch (err) {
        // A listener's bug must not break the feed; report it without throwing.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
