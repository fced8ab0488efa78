import { describe, expect, it } from "vitest";
import { Batcher } from "./batcher.ts";

describe("Batcher", () => {
  it("loads keys requested together in one call, and gives null for missing ones", async () => {
    const calls: string[][] = [];
    const b = new Batcher<string, number>(async (keys) => {
      calls.push(keys);
      return new Map(keys.filter((k) => k !== "x").map((k) => [k, k.length]));
    });
    expect(await Promise.all([b.load("a"), b.load("bb"), b.load("a"), b.load("x")])).toEqual([1, 2, 1, null]);
    expect(calls).toEqual([["a", "bb", "x"]]);
    expect(await b.load("ccc")).toBe(3);
    expect(calls).toHaveLength(2);
  });

  it("splits at maxBatch and passes a failure to every caller of the batch", async () => {
    const sizes: number[] = [];
    const b = new Batcher<number, number>(async (keys) => {
      sizes.push(keys.length);
      if (keys.includes(4)) throw new Error("down");
      return new Map(keys.map((k) => [k, k]));
    }, 3);
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((k) => b.load(k)));
    expect(sizes).toEqual([3, 2]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "rejected", "rejected"]);
  });
});
