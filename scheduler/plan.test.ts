import { describe, expect, it } from "vitest";
import { parseEvent } from "../common/contracts/index.ts";
import { deterministicUuid, occurrenceJobId, reminderJobId } from "./jobs.ts";
import { desiredJobs, isLate, type ScheduledTask, spawnAt } from "./plan.ts";

const DAY = 86_400_000;
const task = (over: Partial<ScheduledTask> = {}): ScheduledTask => ({
  id: "7d0b3f4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
  user_id: "alice",
  status: "pending",
  recurrence_rule: "FREQ=DAILY",
  next_occurrence: "2026-03-09T13:00:00.000Z",
  reminders: [
    { id: "11111111-1111-4111-8111-111111111111", remind_at: "2026-03-08T12:00:00.000Z" },
    { id: "22222222-2222-4222-8222-222222222222", remind_at: "2026-03-08T12:30:00.000Z" },
  ],
  ...over,
});

describe("desiredJobs", () => {
  it("wants one job per pending reminder and one for the next occurrence, with ids from the instant", () => {
    const jobs = desiredJobs(task());
    expect(jobs.map((j) => j.id)).toEqual([
      reminderJobId("11111111-1111-4111-8111-111111111111", Date.parse("2026-03-08T12:00:00.000Z")),
      reminderJobId("22222222-2222-4222-8222-222222222222", Date.parse("2026-03-08T12:30:00.000Z")),
      occurrenceJobId("7d0b3f4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f", Date.parse("2026-03-09T13:00:00.000Z")),
    ]);
    expect(desiredJobs(task()).map((j) => j.id)).toEqual(jobs.map((j) => j.id));
    expect(jobs[0]?.id).not.toContain(":");
  });

  it("drops reminders of a completed task but keeps its series running", () => {
    expect(desiredJobs(task({ status: "completed" })).map((j) => j.data.kind)).toEqual(["occurrence"]);
  });

  it("wants no occurrence without a rule or once the series ended", () => {
    expect(desiredJobs(task({ recurrence_rule: null })).map((j) => j.data.kind)).toEqual(["reminder", "reminder"]);
    expect(desiredJobs(task({ next_occurrence: null, reminders: [] }))).toEqual([]);
  });

  it("gives a moved reminder a new job id", () => {
    const moved = task({ reminders: [{ id: "11111111-1111-4111-8111-111111111111", remind_at: "2026-03-08T12:05:00.000Z" }] });
    expect(desiredJobs(moved)[0]?.id).not.toBe(desiredJobs(task())[0]?.id);
  });
});

describe("spawnAt", () => {
  const start = new Date("2026-03-01T14:00:00.000Z"); // 09:00 in New York (EST)
  const tz = "America/New_York";

  it("spawns the due occurrence on time and points at the next one, DST-correct", () => {
    const due = new Date("2026-03-07T14:00:00.000Z");
    const s = spawnAt("FREQ=DAILY", start, tz, due, new Date(due.getTime() + 5));
    expect(s).toEqual({ occurrence: due, next: new Date("2026-03-08T13:00:00.000Z"), missed: 0 }); // 09:00 EDT
  });

  it("after downtime spawns only the latest missed occurrence and moves on to the first future one", () => {
    const due = new Date("2026-03-02T14:00:00.000Z");
    const now = new Date("2026-03-05T20:00:00.000Z");
    expect(spawnAt("FREQ=DAILY", start, tz, due, now)).toEqual({
      occurrence: new Date("2026-03-05T14:00:00.000Z"),
      next: new Date("2026-03-06T14:00:00.000Z"),
      missed: 3,
    });
  });

  it("walks through long downtime in pages", () => {
    const due = new Date("2026-03-02T14:00:00.000Z");
    const s = spawnAt("FREQ=DAILY", start, "UTC", due, new Date(due.getTime() + 1500 * DAY + 1));
    expect(s.missed).toBe(1500);
    expect(s.occurrence.getTime()).toBe(due.getTime() + 1500 * DAY);
    expect(s.next?.getTime()).toBe(due.getTime() + 1501 * DAY);
  });

  it("ends the series with COUNT and UNTIL", () => {
    // COUNT=3: 03-01 (dtstart), 03-02, 03-03
    expect(
      spawnAt("FREQ=DAILY;COUNT=3", start, tz, new Date("2026-03-03T14:00:00.000Z"), new Date("2026-03-03T14:00:01Z")).next,
    ).toBeNull();
    const until = spawnAt("FREQ=DAILY;UNTIL=20260304", start, tz, new Date("2026-03-03T14:00:00.000Z"), new Date("2026-03-03T14:00:01Z"));
    expect(until.next).toEqual(new Date("2026-03-04T14:00:00.000Z"));
    // Downtime past the end: the last one is spawned, the series is over.
    const over = spawnAt("FREQ=DAILY;COUNT=3", start, tz, new Date("2026-03-02T14:00:00.000Z"), new Date("2026-03-20T00:00:00Z"));
    expect(over).toEqual({ occurrence: new Date("2026-03-03T14:00:00.000Z"), next: null, missed: 1 });
  });

  it("handles weekly and monthly rules", () => {
    const weekly = spawnAt("FREQ=WEEKLY;BYDAY=MO,FR", start, "UTC", new Date("2026-03-02T14:00:00Z"), new Date("2026-03-02T14:00:00Z"));
    expect(weekly.next).toEqual(new Date("2026-03-06T14:00:00.000Z"));
    const monthly = spawnAt(
      "FREQ=MONTHLY;BYMONTHDAY=31",
      new Date("2026-01-31T09:00:00Z"),
      "UTC",
      new Date("2026-03-31T09:00:00Z"),
      new Date("2026-03-31T09:00:00Z"),
    );
    expect(monthly.next).toEqual(new Date("2026-05-31T09:00:00.000Z")); // April has no 31st (RFC 5545)
  });
});

describe("lateness and event ids", () => {
  it("counts more than 2 s after the due time as late", () => {
    expect(isLate(1000, 3000)).toBe(false);
    expect(isLate(1000, 3001)).toBe(true);
  });

  it("derives stable, valid UUIDs", () => {
    const id = deterministicUuid("event:reminder.x.1");
    expect(id).toBe(deterministicUuid("event:reminder.x.1"));
    expect(id).not.toBe(deterministicUuid("event:reminder.x.2"));
    const event = {
      event_id: id,
      event_type: "task.deleted",
      schema_version: "1.0.0",
      user_id: "alice",
      aggregate_id: deterministicUuid("a"),
      timestamp: "2026-06-10T20:00:00.000Z",
      correlation_id: deterministicUuid("c"),
      data: {},
    };
    expect(parseEvent(JSON.stringify(event)).event_id).toBe(id);
  });
});

describe("spawn ahead", () => {
  const start = new Date("2026-03-02T14:00:00.000Z"); // Monday 09:00 in New York (EST)
  const tz = "America/New_York";

  it("a job fired ahead of its occurrence spawns that occurrence, on time, and moves the series to the one after it", () => {
    const due = new Date("2026-03-09T13:00:00.000Z"); // the Monday after DST began: 09:00 EDT
    const s = spawnAt("FREQ=WEEKLY", start, tz, due, new Date(due.getTime() - DAY));
    expect(s).toEqual({ occurrence: due, next: new Date("2026-03-16T13:00:00.000Z"), missed: 0 });
    expect(isLate(due.getTime(), due.getTime() - DAY)).toBe(false);
  });

  it("the occurrence job fires at the recorded spawn time, and a changed lead is a new job", () => {
    const ahead = desiredJobs(task({ spawn_at: "2026-03-08T13:00:00.000Z" })).find((j) => j.data.kind === "occurrence");
    expect(ahead).toMatchObject({ dueAt: Date.parse("2026-03-08T13:00:00.000Z"), data: { occurrence: "2026-03-09T13:00:00.000Z" } });
    const onTime = desiredJobs(task()).find((j) => j.data.kind === "occurrence");
    expect(onTime?.id).toBe(occurrenceJobId(task().id, Date.parse("2026-03-09T13:00:00.000Z")));
    expect(ahead?.id).not.toBe(onTime?.id);
    const otherLead = desiredJobs(task({ spawn_at: "2026-03-09T12:00:00.000Z" })).find((j) => j.data.kind === "occurrence");
    expect(otherLead?.id).not.toBe(ahead?.id);
  });
});
