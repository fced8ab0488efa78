import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MalformedEventError, newEvent, parseEvent, serializeEvent } from "./envelope.ts";

const ctx = { user_id: "alice", aggregate_id: randomUUID(), correlation_id: randomUUID() };

describe("event envelope", () => {
  it("round-trips every field", () => {
    const e = newEvent("task.completed", ctx, { completed_at: "2026-11-23T10:00:00.000Z" });
    expect(e.schema_version).toBe("1.0.0");
    expect(parseEvent(serializeEvent(e))).toEqual(e);
  });

  it.each([
    ["not JSON", "{", /not JSON/],
    ["no type", JSON.stringify({ event_id: randomUUID() }), /unknown event_type/],
    ["unknown type", JSON.stringify({ ...newEvent("task.deleted", ctx, {}), event_type: "task.exploded" }), /unknown event_type/],
    ["missing correlation_id", JSON.stringify({ ...newEvent("task.deleted", ctx, {}), correlation_id: undefined }), /correlation_id/],
    ["bad uuid", JSON.stringify({ ...newEvent("task.deleted", ctx, {}), event_id: "nope" }), /event_id/],
    ["impossible date", JSON.stringify(newEvent("task.completed", ctx, { completed_at: "2026-02-30T10:00:00Z" })), /completed_at/],
    ["extra field", JSON.stringify({ ...newEvent("task.deleted", ctx, {}), admin: true }), /admin|additional/i],
  ])("rejects %s", (_name, raw, message) => {
    expect(() => parseEvent(raw)).toThrow(MalformedEventError);
    expect(() => parseEvent(raw)).toThrow(message);
  });
});
