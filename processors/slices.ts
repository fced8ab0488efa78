/**
 * Runs a generator of steps (common/domain/batch.ts evolveBatchSteps, changes.ts
 * scheduleChangeSteps) to its result, giving the event loop back whenever a slice has taken
 * `sliceMs`: health checks, the Kafka client's callbacks and other work go on while a large batch
 * (a user's thousand series moved to a new timezone) is evolved. A small batch runs in one slice.
 */
export async function inSlices<T>(
  steps: Generator<unknown, T>,
  sliceMs = 10,
  now: () => number = performance.now.bind(performance),
): Promise<T> {
  let sliceStart = now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (now() - sliceStart >= sliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = now();
    }
  }
}
