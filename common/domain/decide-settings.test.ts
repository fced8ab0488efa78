import { describe, expect, it } from "vitest";
import type { Command } from "./decide.ts";
import { changeTimezone } from "./decide-settings.ts";

const cmd: Command = { user_id: "alice", correlation_id: "c", now: "2026-12-07T10:00:00.000Z", newId: () => "e1" };

describe("settings decisions", () => {
  it("changes the timezone with its old and new value, refuses an unknown zone, and makes no event for the same zone", () => {
    const moved = changeTimezone(cmd, { timezone: "UTC" }, "Europe/London");
    expect(moved.ok && moved.event).toMatchObject({
      event_type: "settings.updated",
      aggregate_id: "alice",
      data: { changes: { timezone: { old: "UTC", new: "Europe/London" } } },
    });
    expect(moved.ok && moved.settings).toEqual({ timezone: "Europe/London" });
    expect(changeTimezone(cmd, { timezone: "UTC" }, "Mars/Olympus")).toMatchObject({
      ok: false,
      refusal: { kind: "validation", details: [{ path: "timezone" }] },
    });
    expect(changeTimezone(cmd, { timezone: "UTC" }, "UTC")).toEqual({ ok: true, event: null, settings: { timezone: "UTC" } });
  });
});
