import { describe, expect, it } from "vitest";
import { canonicalJson } from "./http.ts";

describe("canonicalJson (what an Idempotency-Key is bound to)", () => {
  it("writes the same JSON one way: keys sorted at every depth, no spacing, arrays in their order", () => {
    const a = canonicalJson('{ "title": "t", "reminders": [{"before": "PT1H", "id": 1}, 2], "tags": {"b": 1, "a": null} }');
    const b = canonicalJson('{"tags":{"a":null,"b":1},"reminders":[{"id":1,"before":"PT1H"},2],"title":"t"}');
    expect(a).toBe(b);
    expect(a).toBe('{"reminders":[{"before":"PT1H","id":1},2],"tags":{"a":null,"b":1},"title":"t"}');
    expect(canonicalJson('{"tags":[2,1]}')).not.toBe(canonicalJson('{"tags":[1,2]}'));
  });

  it("leaves a text that is no JSON (or too deep to sort) as it is", () => {
    expect(canonicalJson("{not json")).toBe("{not json");
    expect(canonicalJson("")).toBe("");
    const deep = `${"[".repeat(20_000)}${"]".repeat(20_000)}`;
    expect(canonicalJson(deep)).toBe(deep);
  });
});
