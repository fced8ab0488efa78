import { describe, expect, it } from "vitest";
import { type PartitionPosition, StallWatch } from "./stall-watch.ts";

const at = (partition: number, committed: number, end: number): PartitionPosition => ({ topic: "t", partition, committed, end });

describe("StallWatch", () => {
  it("reports a partition behind whose committed offset has not moved and that nothing was handed for the whole window", () => {
    const watch = new StallWatch(30_000);
    expect(watch.observe([at(0, 10, 15), at(1, 4, 4)], 0)).toBeUndefined();
    expect(watch.observe([at(0, 10, 15), at(1, 4, 4)], 29_999)).toBeUndefined();
    expect(watch.observe([at(0, 10, 18), at(1, 4, 4)], 30_000)).toEqual({ partitions: [at(0, 10, 18)], behind: 8, forMs: 30_000 });
  });

  it("does not report a partition that is caught up, however long it is quiet", () => {
    const watch = new StallWatch(1000);
    for (let now = 0; now <= 10_000; now += 1000) expect(watch.observe([at(0, 7, 7)], now)).toBeUndefined();
  });

  it("starts the clock again whenever the committed offset moves", () => {
    const watch = new StallWatch(1000);
    watch.observe([at(0, 1, 9)], 0);
    expect(watch.observe([at(0, 2, 9)], 900)).toBeUndefined();
    expect(watch.observe([at(0, 2, 9)], 1800)).toBeUndefined();
    expect(watch.observe([at(0, 2, 9)], 1900)?.forMs).toBe(1000);
  });

  it("does not report a partition whose batches are being handed to the handler (a failing batch is retried, not stalled)", () => {
    const watch = new StallWatch(1000);
    for (let now = 0; now <= 10_000; now += 500) {
      watch.handed("t", 0, now);
      expect(watch.observe([at(0, 3, 9)], now)).toBeUndefined();
    }
    expect(watch.observe([at(0, 3, 9)], 11_000)?.partitions).toEqual([at(0, 3, 9)]);
  });

  it("judges only looks that reached the broker: a failed look starts every clock again", () => {
    const watch = new StallWatch(1000);
    watch.observe([at(0, 3, 9)], 0);
    watch.unknown();
    expect(watch.observe([at(0, 3, 9)], 5000)).toBeUndefined();
    expect(watch.observe([at(0, 3, 9)], 5999)).toBeUndefined();
    expect(watch.observe([at(0, 3, 9)], 6000)?.behind).toBe(6);
  });

  it("forgets a partition that left the looks and everything on reset", () => {
    const watch = new StallWatch(1000);
    watch.observe([at(0, 3, 9)], 0);
    watch.observe([], 500);
    expect(watch.observe([at(0, 3, 9)], 1500)).toBeUndefined();
    watch.reset();
    expect(watch.observe([at(0, 3, 9)], 2000)).toBeUndefined();
    expect(watch.observe([at(0, 3, 9)], 3000)?.forMs).toBe(1000);
  });
});
