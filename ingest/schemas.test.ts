import { describe, expect, it } from "vitest";
import { AttachTag, CreateTag, CreateTask, ListTasksQuery, UpdateTag, UpdateTask, validate } from "./schemas.ts";

const emoji = "\u{1F600}";

describe("request text limits count characters (code points), as CONTRACT.md and PostgreSQL do", () => {
  it("a title of 500 emoji, a description of 10,000 and tags of 64 are accepted", () => {
    const body = { title: emoji.repeat(500), description: emoji.repeat(10_000), tags: [emoji.repeat(64)] };
    expect(validate(CreateTask, body)).toMatchObject({ ok: true });
    expect(validate(UpdateTask, { title: emoji.repeat(500) })).toMatchObject({ ok: true });
    expect(validate(CreateTag, { name: emoji.repeat(64), color: emoji.repeat(32) })).toMatchObject({ ok: true });
    expect(validate(UpdateTag, { name: emoji.repeat(64) })).toMatchObject({ ok: true });
    expect(validate(AttachTag, { name: emoji.repeat(64) })).toMatchObject({ ok: true });
    expect(validate(ListTasksQuery, { search: emoji.repeat(200) })).toMatchObject({ ok: true });
  });

  it("one character more is a 400 naming the field and its limit in characters", () => {
    expect(validate(CreateTask, { title: emoji.repeat(501) })).toEqual({
      ok: false,
      details: [{ path: "title", message: "Expected string length less or equal to 500 characters (Unicode code points)" }],
    });
    expect(validate(CreateTag, { name: `${"x".repeat(64)}${emoji}` })).toEqual({
      ok: false,
      details: [{ path: "name", message: "Expected string length less or equal to 64 characters (Unicode code points)" }],
    });
    expect(validate(CreateTask, { title: "" })).toMatchObject({ ok: false, details: [{ path: "title" }] });
    expect(validate(CreateTask, { title: "t", tags: [`a,${emoji}`] })).toEqual({
      ok: false,
      details: [{ path: "tags[0]", message: "Expected string to match '^[^,]+$'" }],
    });
  });

  it("ASCII limits are as before", () => {
    expect(validate(CreateTask, { title: "x".repeat(500) })).toMatchObject({ ok: true });
    expect(validate(CreateTask, { title: "x".repeat(501) })).toMatchObject({ ok: false, details: [{ path: "title" }] });
  });
});

describe("validation messages say what is allowed", () => {
  it("names the values of an enum, the form of a date, and why a nullable value fails", () => {
    expect(validate(CreateTask, { title: "t", priority: "urgentest" })).toEqual({
      ok: false,
      details: [{ path: "priority", message: 'must be one of "low", "medium", "high", "urgent"' }],
    });
    const [due] = (validate(CreateTask, { title: "t", due_date: "2026-11-23T10:00:00" }) as { details: { message: string }[] }).details;
    expect(due?.message).toBe(
      "must be an ISO-8601 date-time with a zone (e.g. 2026-11-23T10:00:00Z); it must lie between 1970-01-01 and 9999-12-31 (UTC) (or null)",
    );
    const [description] = (validate(CreateTask, { title: "t", description: "x".repeat(10_001) }) as { details: { message: string }[] })
      .details;
    expect(description?.message).toBe("Expected string length less or equal to 10000 characters (Unicode code points) (or null)");
  });
});

describe("an array where an object belongs", () => {
  it("is named as such, not as unknown fields", () => {
    expect(validate(CreateTask, [1, 2])).toEqual({ ok: false, details: [{ path: "(body)", message: "Expected object" }] });
    const reminders = validate(CreateTask, { title: "t", reminders: [["PT1H"]] });
    expect(reminders).toEqual({ ok: false, details: [{ path: "reminders[0]", message: "Expected object" }] });
  });
});
