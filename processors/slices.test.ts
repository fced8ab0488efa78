import { describe, expect, it } from "vitest";
import { inSlices } from "./slices.ts";

describe("inSlices", () => {
  it("returns the generator's result, giving the event loop back after each slice of sliceMs", async () => {
    let clock = 0;
    const ran: string[] = [];
    function* steps(): Generator<void, string> {
      for (let i = 0; i < 5; i++) {
        ran.push(`step ${i}`);
        clock += 4; // each step takes 4 ms
        yield;
      }
      return "done";
    }
    // Something else waiting for the event loop.
    const other = new Promise<void>((resolve) => setImmediate(resolve)).then(() => ran.push("other"));
    expect(await inSlices(steps(), 10, () => clock)).toBe("done");
    await other;
    // 4 + 4 + 4 ms: past the 10 ms slice after the third step, so the other work ran there.
    expect(ran).toEqual(["step 0", "step 1", "step 2", "other", "step 3", "step 4"]);
  });

  it("runs a short generator in one slice, without waiting", async () => {
    let waited = false;
    setImmediate(() => {
      waited = true;
    });
    function* one(): Generator<void, number> {
      yield;
      return 1;
    }
    expect(await inSlices(one(), 10, () => 0)).toBe(1);
    expect(waited).toBe(false);
  });
});
