import { describe, expect, it } from "vitest";
import { parseEvent } from "./contracts/index.ts";
import { occurrencesAfter } from "./recurrence.ts";
import { reminderFireTime } from "./reminder-time.ts";
import {
  durationMs,
  instanceBefore,
  instanceId,
  instanceReminders,
  MAX_INSTANCES_AHEAD,
  moveSeries,
  spawnLeadMs,
  spawnTime,
  timezoneMoveEventId,
  timezoneMoveEvents,
} from "./series.ts";

describe("moveSeries (timezone change)", () => {
  const series = {
    timezone: "America/New_York",
    due_date: "2026-06-01T13:00:00.000Z", // 09:00 EDT
    created_at: "2026-05-20T10:00:00.000Z",
    recurrence_rule: "FREQ=DAILY",
    next_occurrence: "2026-06-11T13:00:00.000Z",
  };
  const now = new Date("2026-06-10T20:00:00.000Z");

  it("keeps the wall-clock time in the new zone", () => {
    expect(moveSeries(series, "Europe/London", now)).toEqual({
      timezone: { old: "America/New_York", new: "Europe/London" },
      due_date: { old: "2026-06-01T13:00:00.000Z", new: "2026-06-01T08:00:00.000Z" }, // 09:00 BST
      next_occurrence: { old: "2026-06-11T13:00:00.000Z", new: "2026-06-11T08:00:00.000Z" },
    });
    expect(moveSeries(series, "Asia/Kolkata", now).next_occurrence?.new).toBe("2026-06-11T03:30:00.000Z");
  });

  it("keeps a skipped occurrence skipped and never schedules into the past", () => {
    const skipped = { ...series, next_occurrence: "2026-06-12T13:00:00.000Z" };
    expect(moveSeries(skipped, "Europe/London", now).next_occurrence?.new).toBe("2026-06-12T08:00:00.000Z");
    // Once 09:00 in Kolkata on 06-11 (03:30Z) has passed, the next one is the day after.
    expect(moveSeries(series, "Asia/Kolkata", new Date("2026-06-11T04:00:00.000Z")).next_occurrence?.new).toBe("2026-06-12T03:30:00.000Z");
  });

  it("changes nothing when the zone is the same", () => {
    expect(moveSeries(series, "America/New_York", now)).toEqual({});
  });

  it("anchors a series without a due date at its creation, read in the new zone", () => {
    const noDue = { ...series, due_date: null, next_occurrence: "2026-06-11T10:00:00.000Z" }; // created 06:00 EDT
    // 10:00Z is 11:00 in London: the same instants, now read as London time.
    expect(moveSeries(noDue, "Europe/London", now)).toEqual({ timezone: { old: "America/New_York", new: "Europe/London" } });
  });

  it("keeps the instant of a due date whose wall-clock time would leave the supported range", () => {
    const edge = { ...series, timezone: "UTC", due_date: "1970-01-01T00:00:00.000Z", next_occurrence: "2026-06-02T00:00:00.000Z" };
    const east = moveSeries(edge, "Asia/Kolkata", new Date("2026-06-01T12:00:00.000Z"));
    expect(east.due_date).toBeUndefined();
    expect(east.timezone).toEqual({ old: "UTC", new: "Asia/Kolkata" });
    // Its occurrences come at the instant's time of day there (05:30 = 00:00 UTC): the next one stays.
    expect(east.next_occurrence).toBeUndefined();
    // West of UTC the wall-clock time is an instant in range: kept as every other series'.
    expect(moveSeries(edge, "America/New_York", new Date("2026-06-01T12:00:00.000Z")).due_date?.new).toBe("1970-01-01T05:00:00.000Z");
    const late = { ...edge, due_date: "9999-12-31T23:00:00.000Z", next_occurrence: "9999-12-31T23:00:00.000Z" };
    expect(moveSeries(late, "America/New_York", new Date("2026-06-01T12:00:00.000Z")).due_date).toBeUndefined();
  });
});

describe("timezoneMoveEvents", () => {
  const settings = {
    event_id: "3f9c1d2e-5b6a-4c7d-8e9f-0a1b2c3d4e5f",
    user_id: "alice",
    correlation_id: "4a9c1d2e-5b6a-4c7d-8e9f-0a1b2c3d4e5f",
    timestamp: "2026-06-10T20:00:00.000Z",
  };
  const series = {
    id: "7d0b3f4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
    timezone: "America/New_York",
    due_date: "2026-06-01T13:00:00.000Z",
    created_at: "2026-05-20T10:00:00.000Z",
    recurrence_rule: "FREQ=DAILY",
    next_occurrence: "2026-06-11T13:00:00.000Z",
    updated_at: "2026-05-20T10:00:00.000Z",
  };

  it("makes one valid task.updated per moved series, with an id derived from the settings event", () => {
    const [moved, ...rest] = timezoneMoveEvents(settings, "Europe/London", [series], new Date(settings.timestamp));
    expect(rest).toEqual([]);
    expect(moved).toMatchObject({
      event_type: "task.updated",
      event_id: timezoneMoveEventId(settings.event_id, series.id),
      user_id: "alice",
      aggregate_id: series.id,
      correlation_id: settings.correlation_id,
      timestamp: settings.timestamp,
      data: { changes: { timezone: { old: "America/New_York", new: "Europe/London" } } },
    });
    expect(parseEvent(JSON.stringify(moved)).event_id).toBe(moved?.event_id);
    // The same settings event always names the same events (a redelivery deduplicates).
    expect([...timezoneMoveEvents(settings, "Europe/London", [series], new Date())][0]?.event_id).toBe(moved?.event_id);
  });

  it("takes the task's last change as timestamp when it is later than the settings change", () => {
    const edited = { ...series, updated_at: "2026-06-10T20:00:05.000Z" };
    expect([...timezoneMoveEvents(settings, "Europe/London", [edited], new Date(settings.timestamp))][0]?.timestamp).toBe(
      edited.updated_at,
    );
  });

  it("moves nothing already in the new zone", () => {
    expect([...timezoneMoveEvents(settings, "America/New_York", [series], new Date(settings.timestamp))]).toEqual([]);
  });
});

describe("spawn ahead (lead time)", () => {
  const H = 3_600_000;
  const DAY = 24 * H;
  // Weekly sync, Monday 09:00 in New York; DST begins Sunday 2026-03-08.
  const weekly = {
    timezone: "America/New_York",
    due_date: "2026-03-02T14:00:00.000Z",
    created_at: "2026-02-20T10:00:00.000Z",
    recurrence_rule: "FREQ=WEEKLY",
    reminders: [] as { id: string; before?: string; at?: string }[],
  };
  const dstMonday = new Date("2026-03-09T13:00:00.000Z"); // 09:00 EDT

  it("is RECURRENCE_LEAD by default, or the series' largest reminder offset when larger", () => {
    expect(durationMs("PT24H")).toBe(DAY);
    expect(durationMs("PT0S")).toBe(0);
    expect(spawnTime(weekly, dstMonday, DAY)).toEqual(new Date(dstMonday.getTime() - DAY));
    const withReminders = {
      ...weekly,
      reminders: [
        { id: "a", before: "PT1H" },
        { id: "b", before: "P2D" },
      ],
    };
    // P2D before 09:00 EDT Monday is 09:00 EST Saturday: 47 h across the DST change, plus a minute's margin.
    expect(spawnLeadMs(dstMonday, weekly.timezone, weekly.due_date, withReminders.reminders, DAY)).toBe(47 * H + 60_000);
    expect(spawnTime(withReminders, dstMonday, DAY)).toEqual(new Date("2026-03-07T13:59:00.000Z"));
    // With no minimum lead, the margin is none either: the reminder's own offset.
    expect(spawnLeadMs(dstMonday, weekly.timezone, weekly.due_date, withReminders.reminders, 0)).toBe(47 * H);
    expect(spawnTime(weekly, dstMonday, 0)).toEqual(dstMonday);
  });

  it("by RECURRENCE_LEAD alone never spawns before the previous occurrence is due (one instance ahead)", () => {
    const daily = { ...weekly, recurrence_rule: "FREQ=DAILY", reminders: [] };
    // Across the DST night a day is 23 h: a 24 h lead still waits for Sunday 09:00.
    expect(spawnTime(daily, dstMonday, DAY)).toEqual(new Date("2026-03-08T13:00:00.000Z"));
    // A longer RECURRENCE_LEAD does not put more instances ahead either.
    expect(spawnTime(daily, dstMonday, 3 * DAY)).toEqual(new Date("2026-03-08T13:00:00.000Z"));
  });

  it("spawns as early as a reminder longer than the interval needs, so it fires on time, at most MAX_INSTANCES_AHEAD ahead", () => {
    const daily = { ...weekly, recurrence_rule: "FREQ=DAILY", reminders: [{ id: "a", before: "PT36H" }] };
    // Its reminder's fire time (across the DST change) less the margin.
    const at = spawnTime(daily, dstMonday, DAY);
    const fires = reminderFireTime({ kind: "before", before: "PT36H" }, dstMonday, daily.timezone) as Date;
    expect(at.getTime()).toBe(fires.getTime() - 60_000);
    // Two instances are ahead meanwhile (Sunday's and Monday's).
    expect(at.getTime()).toBeLessThan(Date.parse("2026-03-08T13:00:00.000Z"));
    // A reminder a year ahead on a daily series: MAX_INSTANCES_AHEAD, not 365.
    const yearly = { ...daily, reminders: [{ id: "b", before: "P365D" }] };
    const june = new Date("2026-06-15T13:00:00.000Z"); // 09:00 EDT, 105 days into the series
    const far = spawnTime(yearly, june, DAY);
    // Spawned when the occurrence 31 before it is due: then it and the 30 between are ahead.
    const between = occurrencesAfter("FREQ=DAILY", new Date(weekly.due_date), weekly.timezone, far, 400, june);
    expect(between.length + 1).toBe(MAX_INSTANCES_AHEAD);
    expect(far).toEqual(new Date(june.getTime() - MAX_INSTANCES_AHEAD * DAY));
  });

  it("copies the series' reminders to each instance as offsets of its own due date, with ids derived from the instance", () => {
    const id = instanceId("7d0b3f4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f", dstMonday);
    const reminders = [
      { id: "11111111-1111-4111-8111-111111111111", before: "PT1H" },
      // 30 minutes before the series' first due date: copied as PT30M.
      { id: "22222222-2222-4222-8222-222222222222", at: "2026-03-02T13:30:00.000Z" },
      // After the first due date: no `before` equivalent, not copied.
      { id: "33333333-3333-4333-8333-333333333333", at: "2026-03-02T15:00:00.000Z" },
    ];
    const copied = instanceReminders(id, dstMonday, weekly.timezone, weekly.due_date, reminders);
    expect(copied.map((r) => [r.before, r.remind_at])).toEqual([
      ["PT1H", "2026-03-09T12:00:00.000Z"],
      ["PT30M", "2026-03-09T12:30:00.000Z"],
    ]);
    expect(instanceReminders(id, dstMonday, weekly.timezone, weekly.due_date, reminders)).toEqual(copied);
    expect(new Set(copied.map((r) => r.id)).size).toBe(2);
    expect(copied.map((r) => r.id)).not.toContain(reminders[0]?.id);
    expect(instanceBefore({ id: "x", at: "2026-03-01T13:00:00.000Z" }, weekly.due_date)).toBe("PT25H");
    expect(instanceBefore({ id: "x", at: "2026-03-01T13:00:00.000Z" }, null)).toBeNull();
  });
});
