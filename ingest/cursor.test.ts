import { describe, expect, it } from "vitest";
import { cursorCodec, cursorCodecKeyedBy } from "./cursor.ts";

const codec = cursorCodec("a-secret-of-at-least-thirty-two-characters");
const id = "6f1b8f43-5f8a-4a36-9b85-7b2f7f0e3c11";

describe("list cursors", () => {
  it("round-trips a position for the sort it was issued for", () => {
    const c = codec.encode("created_at", "desc", ["2026-11-23T10:00:00.000Z", id]);
    expect(codec.decode(c, "created_at", "desc")).toEqual(["2026-11-23T10:00:00.000Z", id]);
    expect(codec.decode(codec.encode("priority", "asc", [3, id]), "priority", "asc")).toEqual([3, id]);
    expect(codec.decode(codec.encode("due_date", "asc", ["infinity", id]), "due_date", "asc")).toEqual(["infinity", id]);
  });
  it("keyed later (JWKS: the key stored in PostgreSQL): a 503 until the key is there, then as any codec", async () => {
    let give: (k: string) => void = () => {};
    const later = cursorCodecKeyedBy(new Promise<string>((resolve) => (give = resolve)));
    expect(() => later.encodeSeq(1)).toThrow(expect.objectContaining({ status: 503 }));
    give("a-key-made-once-by-the-deployment");
    await Promise.resolve();
    await Promise.resolve();
    const c = later.encode("created_at", "desc", ["2026-11-23T10:00:00.000Z", id]);
    expect(later.decode(c, "created_at", "desc")).toEqual(["2026-11-23T10:00:00.000Z", id]);
    expect(codec.decode(c, "created_at", "desc")).toBeNull();
  });
  it("refuses a cursor used with another sort or order", () => {
    const c = codec.encode("created_at", "desc", ["2026-11-23T10:00:00.000Z", id]);
    expect(codec.decode(c, "created_at", "asc")).toBeNull();
    expect(codec.decode(c, "title", "desc")).toBeNull();
  });
  it("refuses forged, altered and foreign cursors", () => {
    const c = codec.encode("title", "asc", ["x", id]);
    const body = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const [, mac] = c.split(".");
    for (const forged of [
      `${body(["title", "asc", "y", id])}.${mac}`,
      body(["title", "asc", "x", id]),
      `${c}x`,
      "garbage",
      "",
      "a.b.c",
      cursorCodec("another-secret-another-secret-another").encode("title", "asc", ["x", id]),
    ])
      expect(codec.decode(forged, "title", "asc"), forged).toBeNull();
  });
  it("refuses a correctly signed cursor whose value has the wrong type (defence in depth)", () => {
    const cases: [Parameters<typeof codec.encode>[0], unknown][] = [
      ["created_at", "not a time"],
      ["created_at", null],
      ["created_at", { a: 1 }],
      ["priority", 9],
      ["priority", "1"],
      ["due_date", "0000-01-01T00:00:00Z"],
      ["title", "a\u0000"],
    ];
    for (const [sortBy, value] of cases) {
      const c = codec.encode(sortBy, "asc", [value as string, id]);
      expect(codec.decode(c, sortBy, "asc"), JSON.stringify(value)).toBeNull();
    }
    expect(codec.decode(codec.encode("title", "asc", ["x", "-".repeat(36)]), "title", "asc")).toBeNull();
  });
  it("positions the tag and reminder lists, each with its own cursors", () => {
    const tags = codec.encode("tags", "asc", ["home", id]);
    expect(codec.decode(tags, "tags", "asc")).toEqual(["home", id]);
    expect(codec.decode(tags, "reminders", "asc")).toBeNull();
    expect(codec.decode(tags, "title", "asc")).toBeNull();
    const reminders = codec.encode("reminders", "asc", ["2026-11-23T10:00:00.000Z", id]);
    expect(codec.decode(reminders, "reminders", "asc")).toEqual(["2026-11-23T10:00:00.000Z", id]);
    expect(codec.decode(reminders, "created_at", "asc")).toBeNull();
    expect(codec.decode(codec.encode("reminders", "asc", ["soon", id]), "reminders", "asc")).toBeNull();
    expect(codec.decode(codec.encode("tags", "asc", ["a\u0000", id]), "tags", "asc")).toBeNull();
  });
  it("positions the activity feed by seq, and refuses anything else there", () => {
    expect(codec.decodeSeq(codec.encodeSeq(42))).toBe(42);
    const [body, mac] = codec.encodeSeq(42).split(".");
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    for (const forged of [
      "42",
      "4",
      `${b64(["activity", "desc", 43])}.${mac}`,
      `${body}`,
      codec.encode("tags", "asc", ["home", id]),
      codec.encodeSeq(0),
      codec.encodeSeq(1.5),
      codec.encodeSeq(Number.MAX_SAFE_INTEGER + 2),
      cursorCodec("another-secret-another-secret-another").encodeSeq(42),
    ])
      expect(codec.decodeSeq(forged), forged).toBeNull();
    expect(codec.decode(codec.encodeSeq(42), "created_at", "desc")).toBeNull();
  });
});
