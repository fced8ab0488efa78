import { describe, expect, it } from "vitest";
import { tagKey, tagName } from "./tags.ts";

describe("tag names", () => {
  it("are trimmed, and blank is none", () => {
    expect(tagName("  Work ")).toBe("Work");
    expect(tagName(" \t")).toBeNull();
  });

  it.each([
    ["Home", " HOME "],
    ["ix", "İX"],
    ["σασ", "ΣΑΣ"],
    ["straße", "STRAßE"],
  ])("%j and %j are one tag (lowercased character by character, as PostgreSQL's lower())", (a, b) => {
    expect(tagKey(a)).toBe(tagKey(b));
  });

  it("keeps names that differ in more than case apart", () => {
    expect(tagKey("Ä")).not.toBe(tagKey("A"));
    expect(tagKey("ı")).not.toBe(tagKey("i"));
  });
});
