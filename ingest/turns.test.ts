import { describe, expect, it } from "vitest";
import { turns } from "./turns.ts";

describe("turns", () => {
  it("gives one key's turns in order, one at a time, and other keys at once", async () => {
    const t = turns();
    const order: string[] = [];
    const a1 = await t.take("a");
    const a2 = t.take("a").then((end) => {
      order.push("a2");
      return end;
    });
    const a3 = t.take("a").then((end) => {
      order.push("a3");
      end();
    });
    const b1 = await t.take("b"); // not behind a's turns
    order.push("b1");
    b1();
    await Promise.resolve();
    expect(order).toEqual(["b1"]);
    a1();
    (await a2)();
    a1(); // a second call changes nothing
    await a3;
    expect(order).toEqual(["b1", "a2", "a3"]);
    expect(t.size).toBe(0);
  });
});
