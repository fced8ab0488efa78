import { Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Value } from "@sinclair/typebox/value";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { taskFields } from "../../test/harness.ts";
import { eventProblems, newEvent, parseEvent, serializeEvent } from "./envelope.ts";
import { isDateTime } from "./formats.ts";
import { codePointLength, isStorableText, Text, unstorableTextPath } from "./text.ts";

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

describe("text limits count characters (code points), as PostgreSQL's char_length does", () => {
  const emoji = "\u{1F600}";

  it.each([
    ["", 0],
    ["plain", 5],
    [emoji, 1],
    [emoji.repeat(500), 500],
    ["e\u0301", 2], // a combining accent is a code point of its own, as in PostgreSQL
    ["\ud800", 1],
    ["a\udc00\ud800", 3],
  ])("%j has %i code points", (s, n) => expect(codePointLength(s)).toBe(n));

  it("counts like [...s].length for any string", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => codePointLength(s) === [...s].length));
  });

  it("Text checks minLength, maxLength (in code points) and pattern, with TypeBox's wording", () => {
    const check = TypeCompiler.Compile(Text({ minLength: 1, maxLength: 3, pattern: "^[^,]+$" }));
    for (const ok of ["a", emoji.repeat(3), `a${emoji}b`]) expect(check.Check(ok), ok).toBe(true);
    expect([...check.Errors(emoji.repeat(4))].map((e) => e.message)).toEqual([
      "Expected string length less or equal to 3 characters (Unicode code points)",
    ]);
    expect([...check.Errors("")].map((e) => e.message)).toEqual(["Expected string length greater or equal to 1 characters"]);
    expect([...check.Errors("a,b")].map((e) => e.message)).toEqual(["Expected string to match '^[^,]+$'"]);
    expect([...check.Errors(7)].map((e) => e.message)).toEqual(["Expected string"]);
    // Value (the responses' and config's checker) agrees.
    expect(Value.Check(Text({ maxLength: 2 }), emoji.repeat(2))).toBe(true);
    expect(Value.Check(Text({ maxLength: 2 }), emoji.repeat(3))).toBe(false);
  });

  it("publishes the same JSON Schema as Type.String (JSON Schema's lengths count code points already)", () => {
    const options = { minLength: 1, maxLength: 64, pattern: "^[^,]+$", description: "d" };
    expect(JSON.stringify(Text(options))).toBe(JSON.stringify(Type.String(options)));
  });

  it("events take a title of 500 emoji and tags of 64, refuse 501 and 65 (what ingest takes, the processors take)", () => {
    const ctx = {
      user_id: "u",
      aggregate_id: "00000000-0000-4000-8000-000000000001",
      correlation_id: "00000000-0000-4000-8000-000000000002",
    };
    const created = (title: string, tag: string) =>
      newEvent("task.created", ctx, { task: taskFields({ title, description: emoji.repeat(10_000), tags: [tag] }) });
    expect(eventProblems(created(emoji.repeat(500), emoji.repeat(64)))).toEqual([]);
    expect(parseEvent(serializeEvent(created(emoji.repeat(500), emoji.repeat(64)))).event_type).toBe("task.created");
    expect(eventProblems(created(emoji.repeat(501), "t")).join()).toMatch(/\/data\/task\/title: .*less or equal to 500 characters/);
    expect(eventProblems(created("t", emoji.repeat(65))).join()).toMatch(/\/data\/task\/tags\/0: .*less or equal to 64 characters/);
    const tag = newEvent("tag.updated", ctx, {
      changes: { name: { old: "a", new: emoji.repeat(64) }, color: { old: null, new: emoji.repeat(32) } },
    });
    expect(eventProblems(tag)).toEqual([]);
  });
});
