import { describe, expect, it } from "vitest";
import { InFlight, receive } from "./http.ts";

describe("InFlight (load shedding's count)", () => {
  it("admits requests up to its bound and counts every request it is told of, refused ones too", () => {
    const inFlight = new InFlight(2);
    expect(inFlight.enter()).toBe(true);
    expect(inFlight.enter()).toBe(true);
    expect(inFlight.enter()).toBe(false);
    inFlight.leave(); // the refused one
    inFlight.leave();
    expect(inFlight.enter()).toBe(true);
    expect(inFlight.enter()).toBe(false);
  });

  it("does not count a request while the rest of its body is on its way", async () => {
    const inFlight = new InFlight(1);
    expect(inFlight.enter()).toBe(true);
    let deliver: (text: string) => void = () => {};
    const arriving = new Promise<string>((resolve) => {
      deliver = resolve;
    });
    const body = receive({ received: false, text: () => arriving }, inFlight);
    expect(inFlight.enter()).toBe(true); // the slow sender holds no slot: another request gets in
    inFlight.leave();
    deliver("{}");
    expect(await body).toBe("{}");
    expect(inFlight.enter()).toBe(false); // counted again once its body is in
  });

  it("keeps counting a request whose body has arrived", async () => {
    const inFlight = new InFlight(1);
    expect(inFlight.enter()).toBe(true);
    expect(await receive({ received: true, text: async () => "{}" }, inFlight)).toBe("{}");
    expect(inFlight.enter()).toBe(false);
  });
});
