import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { taskFields } from "../../test/harness.ts";
import { eventProblems, newEvent, parseEvent, serializeEvent } from "./envelope.ts";
import { isDateTime } from "./formats.ts";
import { isStorableText, unstorableTextPath } from "./text.ts";

describe("storable text", () => {
  it.each([
    ["a\u0000b", false],
    ["\ud800", false],
    ["x\udc00y", false],
    ["😀", true],
    ["plain", true],
    ["", true],
  ])("%j storable: %s", (s, ok) => expect(isStorableText(s)).toBe(ok));

  it("names the first bad string anywhere in a value, keys included", () => {
    expect(unstorableTextPath({ a: [1, "ok", { b: "x\u0000" }] })).toBe("/a/2/b");
    expect(unstorableTextPath({ ["k\ud800"]: 1 })).toBe("/k?");
    expect(unstorableTextPath({ a: ["fine"], n: null, t: true })).toBeNull();
  });

  it("finds a NUL or lone surrogate wherever it is planted", () => {
    fc.assert(
      fc.property(fc.json(), fc.constantFrom("\u0000", "\ud800", "\udfff"), (json, bad) => {
        const value = JSON.parse(json);
        expect(unstorableTextPath({ v: value, w: `a${bad}` })).not.toBeNull();
      }),
    );
  });
});

describe("instants", () => {
  it.each([
    ["1970-01-01T00:00:00Z", true],
    ["9999-12-31T23:59:59.999Z", true],
    ["0000-01-01T00:00:00Z", false],
    ["0001-01-01T00:00:00Z", false],
    ["1969-12-31T23:59:59Z", false],
    ["1970-01-01T00:30:00+01:00", false],
    ["9999-12-31T23:59:59-23:59", false],
    ["2026-02-30T10:00:00Z", false],
  ])("%s valid: %s", (s, ok) => expect(isDateTime(s)).toBe(ok));
});

describe("events the processors could not apply", () => {
  const ctx = { user_id: "u1", aggregate_id: "a1", correlation_id: "6f1b8f43-5f8a-4a36-9b85-7b2f7f0e3c11" };
  const task = taskFields();

  it("refuses NUL and surrogates in any string, and out-of-range instants, at parse time", () => {
    for (const bad of [{ title: "a\u0000b" }, { title: "\ud800" }, { description: "x\u0000" }, { due_date: "0000-01-01T00:00:00Z" }]) {
      const e = newEvent("task.created", ctx, { task: { ...task, ...bad } });
      expect(eventProblems(e)).not.toEqual([]);
      expect(() => parseEvent(serializeEvent(e))).toThrow(/not a valid event/);
    }
    expect(() => parseEvent(JSON.stringify({ ...newEvent("task.created", ctx, { task }), user_id: "u\u0000" }))).toThrow();
  });
  it("refuses an update whose new value the projection cannot hold", () => {
    // @ts-expect-error: "bogus" is no priority; the types refuse it, and so must the contract at run time
    const e = newEvent("task.updated", ctx, { changes: { priority: { old: "low", new: "bogus" } } });
    expect(eventProblems(e).join()).toMatch(/priority/);
  });
  it("accepts a well-formed event", () => {
    expect(eventProblems(newEvent("task.created", ctx, { task }))).toEqual([]);
  });
});
