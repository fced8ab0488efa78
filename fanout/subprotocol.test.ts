import { describe, expect, it } from "vitest";
import { chosenSubprotocol } from "./service.ts";

describe("chosenSubprotocol", () => {
  it("is the first subprotocol offered, as before", () => {
    expect(chosenSubprotocol("a, b")).toBe("a");
    expect(chosenSubprotocol("chat")).toBe("chat");
    expect(chosenSubprotocol("  v1.json ,x")).toBe("v1.json");
    expect(chosenSubprotocol(", ,a,,b")).toBe("a");
  });

  it("is none (no header in the 101) when nothing, or no valid list of tokens, was offered", () => {
    for (const header of [undefined, "", " ", ", ,,", ", ,,;;", "a b c", "a, b c", "a;b", '"a"', "a,\u00e9", "a\tb"])
      expect(chosenSubprotocol(header), JSON.stringify(header)).toBe("");
    // A list far longer than any client offers is not echoed back.
    expect(chosenSubprotocol("x".repeat(200_000))).toBe("");
    expect(chosenSubprotocol(`a,${"b,".repeat(600)}`)).toBe("");
  });
});
