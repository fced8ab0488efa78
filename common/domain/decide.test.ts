/**
 * decide(state, command) refusals the schema cannot express: each names the field that caused it
 * (CONTRACT.md "Errors"), and evolve refuses the same thing when it is already in the log.
 */
import { describe, expect, it } from "vitest";
import { taskFields } from "../../test/harness.ts";
import { newEvent } from "../contracts/envelope.ts";
import type { AppliedEvent, TaskEvent, TaskFields } from "../contracts/events.ts";
import { nameBasedUuid } from "../ids.ts";
import { timezoneMoveEvents } from "../series.ts";
import { evolveBatch } from "./batch.ts";
import { addReminder, type Command, createTask, type Decision, retagTask, updateTask, withPending } from "./decide.ts";
import { evolve } from "./evolve.ts";
import { emptyUser, type Reminder, reminderSpecOf, type Task, type UserState } from "./model.ts";

const U = "alice";
const id = (n: string) => nameBasedUuid("decide.test", n);
const NOW = "2026-05-01T12:00:00.000Z";
let counter = 0;
const cmd = (now = NOW): Command => ({ user_id: U, correlation_id: id("corr"), now, newId: () => id(`new-${++counter}`) });

function accepted(decision: Decision): { event: TaskEvent; task: Task } {
  if (!decision.ok || !decision.event) throw new Error(`expected an event, got ${JSON.stringify(decision)}`);
  return { event: decision.event, task: decision.task };
}

const created = (input: Parameters<typeof createTask>[2], timezone = "UTC") => accepted(createTask(cmd(), timezone, input)).task;

describe("a write that recomputes reminder times keeps them between 1970 and 9999", () => {
  const task = () =>
    created({ title: "t", due_date: "2030-01-01T00:00:00Z", reminders: [{ before: "PT1H" }, { at: "2029-12-01T00:00:00Z" }] });

  it("PATCH due_date that would move a `before` reminder before 1970 is a 400 naming due_date", () => {
    const d = updateTask(cmd(), task(), { due_date: "1970-01-01T00:10:00Z" });
    expect(d).toMatchObject({ ok: false, refusal: { kind: "validation", details: [{ path: "due_date" }] } });
    if (!d.ok && d.refusal.kind === "validation") expect(d.refusal.details[0]?.message).toContain("1969-12-31T23:10:00.000Z");
  });

  it("PATCH due_date and timezone together: the reminder is evaluated in the new zone, the refusal names due_date", () => {
    const daily = created({ title: "t", due_date: "2030-01-01T00:00:00Z", reminders: [{ before: "P1D" }] });
    expect(updateTask(cmd(), daily, { due_date: "1970-01-01T23:00:00Z", timezone: "Asia/Tokyo" })).toMatchObject({
      ok: false,
      refusal: { kind: "validation", details: [{ path: "due_date" }] },
    });
  });

  it("a due date that keeps every reminder in range is accepted, at the edge too", () => {
    expect(accepted(updateTask(cmd(), task(), { due_date: "1970-01-01T01:00:00Z" })).task.reminders.map((r) => r.remind_at)).toEqual([
      "1970-01-01T00:00:00.000Z",
      "2029-12-01T00:00:00.000Z",
    ]);
  });

  it("POST /tasks and POST /tasks/:id/reminders name the reminder's `before`", () => {
    expect(createTask(cmd(), "UTC", { title: "t", due_date: "1970-01-01T00:10:00Z", reminders: [{ before: "PT1H" }] })).toMatchObject({
      ok: false,
      refusal: { kind: "validation", details: [{ path: "reminders[0].before" }] },
    });
    const early = created({ title: "t", due_date: "1970-01-01T00:10:00Z" });
    expect(addReminder(cmd(), early, { before: "PT1H" })).toMatchObject({
      ok: false,
      refusal: { kind: "validation", details: [{ path: "before" }] },
    });
  });

  it("an update already in the log that would do it is rejected (invalid), and its writer is told with write.rejected", () => {
    const fields: TaskFields = taskFields({
      due_date: "2030-01-01T00:00:00.000Z",
      reminders: [{ id: id("r1"), before: "PT1H", remind_at: "2029-12-31T23:00:00.000Z" }],
    });
    const meta = (name: string, timestamp: string) => ({
      user_id: U,
      aggregate_id: id("task"),
      correlation_id: id("corr"),
      event_id: id(name),
      timestamp,
    });
    const create = newEvent("task.created", meta("create", NOW), { task: fields });
    const move = newEvent("task.updated", meta("move", "2026-05-01T12:01:00.000Z"), {
      changes: { due_date: { old: "2030-01-01T00:00:00.000Z", new: "1970-01-01T00:10:00.000Z" } },
    });
    const state = evolveBatch(new Map([[U, emptyUser(U)]]), new Map([[U, 0]]), [create], new Set()).states.get(U);
    if (!state) throw new Error("no state");
    expect(evolve(state, move)).toMatchObject({ kind: "rejected", code: "invalid", field: "due_date" });

    const out = evolveBatch(new Map([[U, state]]), new Map([[U, 1]]), [move], new Set());
    expect(out.rejected).toMatchObject([{ code: "invalid" }]);
    expect(out.applied.map((e) => [e.event_type, e.data])).toMatchObject([
      ["write.rejected", { event_id: id("move"), event_type: "task.updated", reason: "invalid" }],
    ]);
    expect(out.states.get(U)?.tasks.get(id("task"))?.reminders[0]?.remind_at).toBe("2029-12-31T23:00:00.000Z");
  });
});

describe("a user's timezone change that would move a series' reminder before 1970", () => {
  it("rejects that series' move (its user is told with write.rejected); the settings and the other series move", () => {
    // 10:00 local in UTC, reminder 9 h before: 01:00Z. Kept at 10:00 local in Tokyo (+09:00), the reminder would be 1969-12-31T16:00Z.
    const early = created({
      title: "early",
      due_date: "1970-01-01T10:00:00Z",
      recurrence_rule: "FREQ=DAILY",
      reminders: [{ before: "PT9H" }],
    });
    const later = created({
      title: "later",
      due_date: "2030-01-01T10:00:00Z",
      recurrence_rule: "FREQ=DAILY",
      reminders: [{ before: "PT9H" }],
    });
    const state = {
      ...emptyUser(U),
      tasks: new Map([
        [early.id, early],
        [later.id, later],
      ]),
    };
    const settings = newEvent(
      "settings.updated",
      { user_id: U, aggregate_id: U, correlation_id: id("corr"), event_id: id("settings"), timestamp: NOW },
      { changes: { timezone: { old: "UTC", new: "Asia/Tokyo" } } },
    );
    const moves = (applied: AppliedEvent, s: UserState) =>
      applied.event_type === "settings.updated"
        ? timezoneMoveEvents(
            applied,
            "Asia/Tokyo",
            [...s.tasks.values()].filter((t) => t !== null),
            new Date(NOW),
          )
        : [];
    const out = evolveBatch(new Map([[U, state]]), new Map([[U, 0]]), [settings], new Set(), moves);
    expect(out.rejected).toMatchObject([{ event: { aggregate_id: early.id }, code: "invalid" }]);
    expect(out.applied.map((e) => [e.event_type, e.aggregate_id])).toEqual([
      ["settings.updated", U],
      ["write.rejected", early.id],
      ["task.updated", later.id],
    ]);
    const after = out.states.get(U);
    expect(after?.timezone).toBe("Asia/Tokyo");
    expect(after?.tasks.get(early.id)).toMatchObject({ timezone: "UTC", reminders: [{ remind_at: "1970-01-01T01:00:00.000Z" }] });
    expect(after?.tasks.get(later.id)).toMatchObject({ timezone: "Asia/Tokyo", due_date: "2030-01-01T01:00:00.000Z" });
  });
});

describe("a timezone move that would put a series' due date before 1970", () => {
  it("keeps the due date's instant and moves the zone, so the series still follows the user (no rejection the user cannot act on)", () => {
    // Midnight on 1970-01-01 in New York is 05:00Z; midnight in Tokyo would be 1969-12-31T15:00Z.
    const series = created({ title: "t", due_date: "1970-01-01T05:00:00Z", recurrence_rule: "FREQ=DAILY" }, "America/New_York");
    const state = { ...emptyUser(U, "America/New_York"), tasks: new Map([[series.id, series]]) };
    const settings = { event_id: id("settings-2"), user_id: U, correlation_id: id("corr"), timestamp: NOW };
    const [move] = timezoneMoveEvents(settings, "Asia/Tokyo", [series], new Date(NOW));
    expect(move?.data.changes.due_date).toBeUndefined();
    expect(move?.data.changes.timezone?.new).toBe("Asia/Tokyo");
    expect(move && evolve(state, move)).toMatchObject({ kind: "applied" });
  });
});

describe("a recurrence rule that never matches is refused where it is written", () => {
  it("POST /tasks: 400 naming recurrence_rule", () => {
    const d = createTask(cmd(), "UTC", {
      title: "t",
      due_date: "2030-02-01T00:00:00Z",
      recurrence_rule: "FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=30",
    });
    expect(d).toMatchObject({ ok: false, refusal: { kind: "validation", details: [{ path: "recurrence_rule" }] } });
  });

  it("a rare rule that does match is accepted (the 29th of February, every 4 years)", () => {
    const task = created({ title: "t", due_date: "2030-02-01T00:00:00Z", recurrence_rule: "FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=29" });
    expect(task.next_occurrence).toBe("2032-02-29T00:00:00.000Z");
  });

  it("PATCH: names the field that made it never match (the rule, or the due date that moved its start)", () => {
    const series = created({ title: "t", due_date: "2030-01-30T00:00:00Z", recurrence_rule: "FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=30" });
    expect(series.next_occurrence).toBe("2031-01-30T00:00:00.000Z");
    expect(updateTask(cmd(), series, { due_date: "2030-02-01T00:00:00Z" })).toMatchObject({
      ok: false,
      refusal: { kind: "validation", details: [{ path: "due_date" }] },
    });
    const plain = created({ title: "t", due_date: "2030-04-01T00:00:00Z" });
    expect(updateTask(cmd(), plain, { recurrence_rule: "FREQ=MONTHLY;INTERVAL=24;BYMONTHDAY=31" })).toMatchObject({
      ok: false,
      refusal: { kind: "validation", details: [{ path: "recurrence_rule" }] },
    });
  });

  it("PATCH timezone that moves the start into a month the rule never matches names timezone", () => {
    // 2030-03-01T02:00Z is March 1 in UTC but February 28 in New York.
    const series = created({ title: "t", due_date: "2030-03-01T02:00:00Z", recurrence_rule: "FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=30" });
    expect(updateTask(cmd(), series, { timezone: "America/New_York" })).toMatchObject({
      ok: false,
      refusal: { kind: "validation", details: [{ path: "timezone" }] },
    });
  });
});

describe("editing a `schedule` series continues after the instance already spawned ahead", () => {
  // Daily at 09:00 UTC from May 2; by the scheduler's lead the May 3 instance exists, so the series' next is May 4.
  const series = { ...created({ title: "t", due_date: "2026-05-02T09:00:00Z", recurrence_rule: "FREQ=DAILY" }) };
  const spawned = { ...series, next_occurrence: "2026-05-04T09:00:00.000Z" };
  const edit = (task: Task, input: Parameters<typeof updateTask>[2], now: string) => accepted(updateTask(cmd(now), task, input)).task;

  it("a new rule does not ask for the existing instance again (its spawn would be a duplicate and the series would stall)", () => {
    expect(series.next_occurrence).toBe("2026-05-03T09:00:00.000Z");
    expect(edit(spawned, { recurrence_rule: "FREQ=DAILY;COUNT=30" }, "2026-05-02T10:00:00.000Z").next_occurrence).toBe(
      "2026-05-04T09:00:00.000Z",
    );
  });

  it("a new time starts after the spawned instance, not a day later than the new rule gives", () => {
    expect(edit(spawned, { due_date: "2026-05-02T08:00:00Z" }, "2026-05-02T10:00:00.000Z").next_occurrence).toBe(
      "2026-05-04T08:00:00.000Z",
    );
  });

  it("a denser rule fills the days between the spawned instance and the old next occurrence", () => {
    const weekly = { ...created({ title: "t", due_date: "2026-05-02T09:00:00Z", recurrence_rule: "FREQ=WEEKLY" }) };
    const ahead = { ...weekly, next_occurrence: "2026-05-16T09:00:00.000Z" }; // May 9's instance exists
    expect(edit(ahead, { recurrence_rule: "FREQ=DAILY" }, "2026-05-08T10:00:00.000Z").next_occurrence).toBe("2026-05-10T09:00:00.000Z");
  });

  it("with no instance ahead (the last one is due already) the series goes on from now", () => {
    expect(edit(spawned, { recurrence_rule: "FREQ=DAILY;COUNT=30" }, "2026-05-03T10:00:00.000Z").next_occurrence).toBe(
      "2026-05-04T09:00:00.000Z",
    );
    expect(edit(spawned, { due_date: "2026-05-02T11:00:00Z" }, "2026-05-03T10:00:00.000Z").next_occurrence).toBe(
      "2026-05-03T11:00:00.000Z",
    );
  });
});

describe("a task holds at most 20 reminders", () => {
  it("POST /tasks/:id/reminders on a task with 20 (notified ones included) is a 409", () => {
    const task = created({
      title: "t",
      due_date: "2030-01-01T09:00:00Z",
      reminders: Array.from({ length: 20 }, (_, i) => ({ before: `PT${i + 1}H` })),
    });
    expect(addReminder(cmd(), task, { before: "PT30H" })).toMatchObject({ ok: false, refusal: { kind: "conflict" } });
    const nineteen = { ...task, reminders: task.reminders.slice(1) };
    expect(addReminder(cmd(), nineteen, { before: "PT30H" })).toMatchObject({ ok: true });
  });
});

describe("editing a series: what counts as spawned ahead", () => {
  const edit = (task: Task, input: Parameters<typeof updateTask>[2], now: string) => accepted(updateTask(cmd(now), task, input)).task;

  it("a series not started yet is no instance: moving its due date earlier keeps the occurrences in between", () => {
    const later = created({ title: "t", due_date: "2026-05-31T09:00:00Z", recurrence_rule: "FREQ=DAILY" });
    expect(later.next_occurrence).toBe("2026-06-01T09:00:00.000Z");
    expect(edit(later, { due_date: "2026-05-02T09:00:00Z" }, NOW).next_occurrence).toBe("2026-05-03T09:00:00.000Z");
  });

  it("a series whose COUNT ran out, extended, goes on after its last instance (spawned ahead) instead of asking for it again", () => {
    const three = created({ title: "t", due_date: "2026-05-01T09:00:00Z", recurrence_rule: "FREQ=DAILY;COUNT=3" });
    const ended = { ...three, next_occurrence: null }; // May 3's instance exists; the rule has no more
    expect(edit(ended, { recurrence_rule: "FREQ=DAILY;COUNT=5" }, "2026-05-02T10:00:00.000Z").next_occurrence).toBe(
      "2026-05-04T09:00:00.000Z",
    );
  });

  it("switched to after_completion, the instance spawned ahead becomes the current one (no second instance)", () => {
    const daily = created({ title: "t", due_date: "2026-05-02T09:00:00Z", recurrence_rule: "FREQ=DAILY" });
    const ahead = { ...daily, next_occurrence: "2026-05-04T09:00:00.000Z" }; // May 3's instance exists
    expect(edit(ahead, { recurrence_mode: "after_completion" }, "2026-05-02T10:00:00.000Z").next_occurrence).toBe(
      "2026-05-03T09:00:00.000Z",
    );
  });
});

describe("tag names: trimmed, never blank, unique case-insensitively however they are spaced", () => {
  it("task tags: surrounding spaces are dropped; a blank one is a 400 naming it, never silently dropped", () => {
    expect(created({ title: "t", tags: [" Home ", "HOME", "Work "] }).tags).toEqual(["HOME", "Work"]);
    expect(createTask(cmd(), "UTC", { title: "t", tags: ["ok", "  "] })).toMatchObject({
      ok: false,
      refusal: { kind: "validation", details: [{ path: "tags[1]" }] },
    });
    const task = created({ title: "t", tags: ["a"] });
    expect(updateTask(cmd(), task, { tags: ["\t"] })).toMatchObject({
      ok: false,
      refusal: { kind: "validation", details: [{ path: "tags[0]" }] },
    });
    expect(retagTask(cmd(), task, ["a", " b "])).toMatchObject({ ok: true, task: { tags: ["a", "b"] } });
  });

  it("the processors compare and store names trimmed: ' HOME ' is the tag 'Home', a blank name is invalid", () => {
    const meta = (name: string) => ({
      user_id: U,
      aggregate_id: id(name),
      correlation_id: id("corr"),
      event_id: id(`e-${name}`),
      timestamp: NOW,
    });
    const home = newEvent("tag.created", meta("home"), { name: "Home", color: null });
    const out = evolveBatch(new Map([[U, emptyUser(U)]]), new Map([[U, 0]]), [home], new Set());
    const state = out.states.get(U);
    if (!state) throw new Error("no state");
    expect(evolve(state, newEvent("tag.created", meta("spaced"), { name: " HOME ", color: null }))).toMatchObject({
      kind: "rejected",
      code: "conflict",
    });
    expect(evolve(state, newEvent("tag.created", meta("blank"), { name: " ", color: null }))).toMatchObject({
      kind: "rejected",
      code: "invalid",
    });
    const trimmed = evolve(state, newEvent("tag.created", meta("work"), { name: "  Work ", color: null }));
    expect(trimmed.kind === "applied" && trimmed.state.tags?.get(id("work"))?.name).toBe("Work");
    const other = newEvent("tag.created", meta("other"), { name: "Other", color: null });
    const two = evolveBatch(new Map([[U, state]]), new Map([[U, 1]]), [other], new Set()).states.get(U);
    if (!two) throw new Error("no state");
    expect(evolve(two, newEvent("tag.updated", meta("other"), { changes: { name: { old: "Other", new: " home" } } }))).toMatchObject({
      kind: "rejected",
      code: "conflict",
    });
    expect(evolve(two, newEvent("tag.updated", meta("other"), { changes: { name: { old: "Other", new: "  " } } }))).toMatchObject({
      kind: "rejected",
      code: "invalid",
    });
  });
});

describe("PATCH/PUT `reminders` replaces the task's reminders (a create field, CONTRACT.md)", () => {
  const task = () => created({ title: "t", due_date: "2030-01-01T09:00:00Z", reminders: [{ at: "2029-12-31T09:00:00Z" }] });

  it("replaces them, evaluated against the due date after the update; the change is in the event and in the answer", () => {
    const before = task();
    const { event, task: after } = accepted(
      updateTask(cmd(), before, { due_date: "2030-01-02T09:00:00Z", reminders: [{ before: "PT1H" }, { at: "2030-01-01T12:00:00Z" }] }),
    );
    expect(after.reminders.map((r) => [r.before ?? r.at, r.remind_at])).toEqual([
      ["2030-01-01T12:00:00.000Z", "2030-01-01T12:00:00.000Z"],
      ["PT1H", "2030-01-02T08:00:00.000Z"],
    ]);
    expect(event.event_type === "task.updated" && event.data.changes.reminders?.old).toEqual([
      { id: before.reminders[0]?.id, at: "2029-12-31T09:00:00.000Z", remind_at: "2029-12-31T09:00:00.000Z" },
    ]);
    // Applied (the processors, replay) it gives the same task.
    const state: UserState = { ...emptyUser(U), tasks: new Map([[before.id, before]]), versions: new Map([[before.id, 1]]) };
    const applied = evolve(state, event);
    expect(applied.kind === "applied" && applied.state.tasks.get(before.id)?.reminders.map((r) => r.remind_at)).toEqual([
      "2030-01-02T08:00:00.000Z",
      "2030-01-01T12:00:00.000Z",
    ]);
  });

  it("[] removes them all; a bad one is a 400 naming it, a `before` without a due date too", () => {
    expect(accepted(updateTask(cmd(), task(), { reminders: [] })).task.reminders).toEqual([]);
    expect(updateTask(cmd(), task(), { reminders: [{ before: "P0.0000001D" }] })).toMatchObject({
      ok: false,
      refusal: { kind: "validation", details: [{ path: "reminders[0].before" }] },
    });
    expect(updateTask(cmd(), task(), { due_date: null, reminders: [{ before: "PT1H" }] })).toMatchObject({
      ok: false,
      refusal: { kind: "validation", details: [{ path: "reminders[0].before", message: "reminders[0].before needs due_date" }] },
    });
  });

  it("clearing the due date removes the `before` reminders, and the event says so; an `at` one stays as it was, notified or not", () => {
    const before = created({
      title: "t",
      due_date: "2030-01-01T09:00:00Z",
      reminders: [{ before: "PT1H" }, { at: "2029-12-31T09:00:00Z" }],
    });
    const at = before.reminders.find((r) => r.at !== undefined);
    const notified = { ...before, reminders: before.reminders.map((r) => (r === at ? { ...r, notified: true, notified_at: NOW } : r)) };
    const { event } = accepted(updateTask(cmd(), notified, { due_date: null }));
    if (event.event_type !== "task.updated") throw new Error(event.event_type);
    expect(event.data.changes.reminders).toEqual({ old: notified.reminders.map(reminderSpecOf), new: [reminderSpecOf(at as Reminder)] });
    const state: UserState = { ...emptyUser(U), tasks: new Map([[before.id, notified]]), versions: new Map([[before.id, 1]]) };
    const applied = evolve(state, event);
    expect(applied.kind === "applied" && applied.state.tasks.get(before.id)?.reminders).toEqual([
      { ...at, notified: true, notified_at: NOW },
    ]);
  });
});

describe("a title of white space alone is no title", () => {
  it("is refused on create and update, naming title; a title with any visible character is kept as written", () => {
    for (const title of ["   ", "\t\n", "\uFEFF", "\u00A0\u3000", "\u200B", "\u2060\u3164"]) {
      expect(createTask(cmd(), "UTC", { title })).toEqual({
        ok: false,
        refusal: { kind: "validation", details: [{ path: "title", message: "must not be blank" }] },
      });
      expect(updateTask(cmd(), created({ title: "t" }), { title })).toMatchObject({ ok: false, refusal: { kind: "validation" } });
    }
    expect(created({ title: " x " }).title).toBe(" x ");
  });
});

describe("a timezone written by PATCH", () => {
  it("is the writer's choice: the event says the series does not follow the user's (follows_user false)", () => {
    const task = created({ title: "s", recurrence_rule: "FREQ=DAILY", due_date: "2031-01-01T09:00:00Z" });
    const d = accepted(updateTask(cmd(), task, { timezone: "Europe/Berlin" }));
    expect(d.event?.data).toMatchObject({ changes: { timezone: { old: "UTC", new: "Europe/Berlin" } }, follows_user: false });
    expect(accepted(updateTask(cmd(), task, { title: "t" })).event?.data).not.toHaveProperty("follows_user");
  });
});

describe("withPending: a pending timezone change moves the series that followed the old zone, as the processors will", () => {
  const zoneChange = (old: string, zone: string) =>
    newEvent(
      "settings.updated",
      { user_id: U, aggregate_id: U, correlation_id: id("corr"), event_id: id(`settings ${old} ${zone}`), timestamp: NOW },
      { changes: { timezone: { old, new: zone } } },
    );
  const daily = () => created({ title: "daily at 09:00", due_date: "2030-01-01T09:00:00Z", recurrence_rule: "FREQ=DAILY" });

  it("a daily 09:00 series in the old zone keeps its wall-clock time in the new one", () => {
    const series = daily();
    expect(withPending(series, series.id, U, [zoneChange("UTC", "Asia/Tokyo")], new Date(NOW))).toMatchObject({
      timezone: "Asia/Tokyo",
      due_date: "2030-01-01T00:00:00.000Z",
      next_occurrence: "2030-01-02T00:00:00.000Z",
      version: series.version + 1,
    });
  });

  it("a series with a zone of its own, one in another zone, and a task without a rule stay as they are", () => {
    const series = daily();
    const once = created({ title: "once", due_date: "2030-01-01T09:00:00Z" });
    const change = [zoneChange("UTC", "Asia/Tokyo")];
    expect(withPending({ ...series, follows_user_timezone: false }, series.id, U, change, new Date(NOW))).toEqual(series);
    expect(withPending(series, series.id, U, [zoneChange("Europe/Paris", "Asia/Tokyo")], new Date(NOW))).toEqual(series);
    expect(withPending(once, once.id, U, change, new Date(NOW))).toEqual(once);
  });

  it("moves it again for each change, in the order they were accepted", () => {
    const series = daily();
    const changes = [zoneChange("UTC", "Asia/Tokyo"), zoneChange("Asia/Tokyo", "America/Chicago")];
    expect(withPending(series, series.id, U, changes, new Date(NOW))).toMatchObject({
      timezone: "America/Chicago",
      due_date: "2030-01-01T15:00:00.000Z",
    });
  });
});

describe("PATCH timezone alone", () => {
  it("moves calendar-unit `before` reminders with the zone, in the event and in the answer", () => {
    const task = created({ title: "t", due_date: "2027-03-14T13:00:00Z", reminders: [{ before: "P1D" }] }, "America/New_York");
    expect(task.reminders[0]?.remind_at).toBe("2027-03-13T14:00:00.000Z");
    const { event, task: after } = accepted(updateTask(cmd(), task, { timezone: "Europe/London" }));
    expect(event.data).toMatchObject({ follows_user: false, zone_moves_reminders: true });
    expect(after.reminders[0]?.remind_at).toBe("2027-03-13T13:00:00.000Z");
  });
});
