/**
 * evolve(state, event), one event type at a time: what applies (the exact state and `data`
 * afterwards), what is rejected (and why) and what is skipped. These are the rules the old SQL
 * handlers (processors/handlers/*.ts before 3a8ac3d) implemented.
 */
import { describe, expect, it } from "vitest";
import { taskFields } from "../../test/harness.ts";
import { newEvent } from "../contracts/envelope.ts";
import type { EventOf, EventType, TaskEvent, TaskFields } from "../contracts/events.ts";
import { nameBasedUuid } from "../ids.ts";
import { createdTask, derivedTagId, evolve, type Outcome } from "./evolve.ts";
import { emptyUser, type Tag, type Task, taskView, type UserState } from "./model.ts";

const U = "alice";
const CORR = nameBasedUuid("evolve.test", "correlation");
const id = (name: string): string => nameBasedUuid("evolve.test", name);
const T1 = id("task-1");
const T2 = id("task-2");
const G1 = id("tag-1");
const G2 = id("tag-2");
const R1 = id("reminder-1");
const R2 = id("reminder-2");
/** 2026-01-10 12:00Z plus `min` minutes. */
const at = (min: number): string => new Date(Date.UTC(2026, 0, 10, 12, min)).toISOString();

let counter = 0;
function ev<K extends EventType>(type: K, aggregate: string, data: EventOf<K>["data"], ts = at(0), eventId?: string): EventOf<K> {
  counter++;
  return newEvent(
    type,
    { user_id: U, aggregate_id: aggregate, correlation_id: CORR, timestamp: ts, event_id: eventId ?? id(`event-${counter}`) },
    data,
  );
}

const fields = (over: Partial<TaskFields> = {}): TaskFields => taskFields({ title: "Pay rent", ...over });

type AppliedOutcome = Extract<Outcome, { kind: "applied" }>;

function applied(outcome: Outcome): AppliedOutcome {
  if (outcome.kind !== "applied") throw new Error(`expected applied, got ${JSON.stringify(outcome)}`);
  return outcome;
}

/** The state after `events`, each of which must apply. */
function given(state: UserState, ...events: TaskEvent[]): UserState {
  return events.reduce((s, e) => applied(evolve(s, e)).state, state);
}

const taskOf = (state: UserState, taskId = T1): Task => {
  const task = state.tasks.get(taskId);
  if (!task) throw new Error(`no task ${taskId}`);
  return task;
};

const created = (over: Partial<TaskFields> = {}, ts = at(0), taskId = T1) => ev("task.created", taskId, { task: fields(over) }, ts);
const tag = (tagId: string, name: string, ts = at(0), color: string | null = null): Tag => ({
  id: tagId,
  name,
  color,
  created_at: ts,
  updated_at: ts,
});

describe("task.created", () => {
  it("is a conflict when the id is another user's task (a hostile record), never a takeover", () => {
    const o = evolve({ ...emptyUser(U), taken: new Set([T1]) }, created({ title: "mine now" }));
    expect(o).toMatchObject({ kind: "rejected", code: "conflict" });
  });

  it("applies: the task exactly as written, version 1, reminders not notified", () => {
    const e = created({
      title: "Pay rent",
      description: "by transfer",
      priority: "high",
      due_date: "2026-02-01T09:00:00.000Z",
      tags: ["rent", "bills"],
      reminders: [{ id: R1, before: "PT1H", remind_at: "2026-02-01T08:00:00.000Z" }],
    });
    const o = applied(evolve(emptyUser(U), e));
    expect(o.version).toBe(1);
    expect(o.data).toBeUndefined();
    expect(o.taskId).toBe(T1);
    expect(o.summary).toBe('created "Pay rent"');
    expect(o.state.tasks.get(T1)).toEqual({
      id: T1,
      user_id: U,
      title: "Pay rent",
      description: "by transfer",
      status: "pending",
      priority: "high",
      due_date: "2026-02-01T09:00:00.000Z",
      timezone: "UTC",
      recurrence_rule: null,
      // Not written: an event without it is a `schedule` series (had it a rule).
      recurrence_mode: "schedule",
      next_occurrence: null,
      parent_task_id: null,
      tags: ["bills", "rent"],
      reminders: [{ id: R1, before: "PT1H", remind_at: "2026-02-01T08:00:00.000Z", notified: false, created_at: at(0) }],
      version: 1,
      created_at: at(0),
      updated_at: at(0),
      completed_at: null,
      // The event does not say whether the timezone was the user's (written before that was recorded).
      follows_user_timezone: null,
    } satisfies Task);
    expect(o.state.versions.get(T1)).toBe(1);
  });

  it("creates the tags the user lacks, with ids derived from the event id and the name, and keeps an existing tag's spelling", () => {
    const state = { ...emptyUser(U), tags: new Map([[G1, tag(G1, "Work")]]) };
    const e = created({ tags: ["work", "home"] }, at(5));
    const o = applied(evolve(state, e));
    expect(taskOf(o.state).tags).toEqual(["Work", "home"]);
    const home = derivedTagId(e.event_id, "home");
    expect(home).toBe(nameBasedUuid(e.event_id, "home"));
    expect([...(o.state.tags?.values() ?? [])]).toEqual([tag(G1, "Work"), tag(home, "home", at(5))]);
    // The input state is untouched (the rules copy what they change).
    expect([...(state.tags?.keys() ?? [])]).toEqual([G1]);
  });

  it("a derived tag id is the same for any spelling of the name (lower-cased)", () => {
    const e = created({ tags: ["HOME"] });
    expect(derivedTagId(e.event_id, "HOME")).toBe(derivedTagId(e.event_id, "home"));
    const o = applied(evolve(emptyUser(U), e));
    expect([...(o.state.tags?.keys() ?? [])]).toEqual([derivedTagId(e.event_id, "home")]);
    expect(o.state.tags?.get(derivedTagId(e.event_id, "home"))?.name).toBe("HOME");
  });

  it("names differing only in case name one tag: the task carries it once, first spelling wins", () => {
    const e = created({ tags: ["Home", "home", "HOME"] });
    const o = applied(evolve(emptyUser(U), e));
    expect(taskOf(o.state).tags).toEqual(["Home"]);
    expect([...(o.state.tags?.values() ?? [])].map((t) => t.name)).toEqual(["Home"]);
  });

  it("with the user's tags not loaded, takes the names as written (sorted) and leaves tags unloaded", () => {
    const state = { ...emptyUser(U), tags: null };
    const o = applied(evolve(state, created({ tags: ["b", "a", "B"] })));
    expect(taskOf(o.state).tags).toEqual(["a", "b"]);
    expect(o.state.tags).toBeNull();
  });

  it("is rejected (conflict) when the task exists, and changes nothing", () => {
    const state = given(emptyUser(U), created());
    const o = evolve(state, created({ title: "again" }, at(1)));
    expect(o).toEqual({ kind: "rejected", code: "conflict", reason: `task ${T1} already exists` });
  });

  it("applies again after the task was deleted, its version going on", () => {
    const state = given(emptyUser(U), created(), ev("task.deleted", T1, {}, at(1)));
    const o = applied(evolve(state, created({ title: "reborn" }, at(2))));
    expect(o.version).toBe(3);
    expect(taskOf(o.state)).toMatchObject({ title: "reborn", version: 3, created_at: at(2), updated_at: at(2) });
  });

  it("is rejected (invalid) when the task id is not a uuid", () => {
    const o = evolve(emptyUser(U), created({}, at(0), "task-1"));
    expect(o).toMatchObject({ kind: "rejected", code: "invalid" });
  });
});

describe("task.updated", () => {
  const base = () =>
    given(
      emptyUser(U),
      created({
        title: "old title",
        due_date: "2026-02-01T09:00:00.000Z",
        tags: ["a"],
        reminders: [
          { id: R1, before: "PT1H", remind_at: "2026-02-01T08:00:00.000Z" },
          { id: R2, at: "2026-01-20T10:00:00.000Z", remind_at: "2026-01-20T10:00:00.000Z" },
        ],
      }),
    );

  it("applies the new values, and its data carries the real old values (not the ones written)", () => {
    const e = ev(
      "task.updated",
      T1,
      { changes: { title: { old: "what the client thought", new: "new title" }, priority: { old: "low", new: "urgent" } } },
      at(3),
    );
    const o = applied(evolve(base(), e));
    expect(o.version).toBe(2);
    expect(o.data).toEqual({ changes: { title: { old: "old title", new: "new title" }, priority: { old: "medium", new: "urgent" } } });
    expect(o.summary).toBe("updated priority, title");
    expect(o.taskId).toBe(T1);
    expect(taskOf(o.state)).toEqual({ ...taskOf(base()), title: "new title", priority: "urgent", version: 2, updated_at: at(3) });
  });

  it("changes tags: old value is the task's resolved tags, the new names resolve to existing spellings or new tags", () => {
    const state = given(base(), ev("tag.created", G1, { name: "Work", color: "red" }, at(1)));
    const e = ev("task.updated", T1, { changes: { tags: { old: [], new: ["work", "x"] } } }, at(2));
    const o = applied(evolve(state, e));
    expect(o.data).toEqual({ changes: { tags: { old: ["a"], new: ["work", "x"] } } });
    expect(taskOf(o.state).tags).toEqual(["Work", "x"]);
    const x = derivedTagId(e.event_id, "x");
    expect(o.state.tags?.get(x)).toEqual(tag(x, "x", at(2)));
    expect(o.state.tags?.size).toBe(3); // a, Work, x
  });

  it("is rejected (superseded) when older than the task's last change; an equal timestamp applies", () => {
    const state = given(base(), ev("task.updated", T1, { changes: { title: { old: "", new: "later" } } }, at(10)));
    const older = ev("task.updated", T1, { changes: { title: { old: "", new: "earlier" } } }, at(9));
    expect(evolve(state, older)).toEqual({
      kind: "rejected",
      code: "superseded",
      reason: `a later change of task ${T1} won (last write wins)`,
    });
    const same = applied(evolve(state, ev("task.updated", T1, { changes: { title: { old: "", new: "same time" } } }, at(10))));
    expect(taskOf(same.state).title).toBe("same time");
  });

  it("compares timestamps as instants, whatever their offset", () => {
    const state = given(base(), ev("task.updated", T1, { changes: { title: { old: "", new: "later" } } }, "2026-01-10T12:10:00.000Z"));
    const older = ev("task.updated", T1, { changes: { title: { old: "", new: "x" } } }, "2026-01-10T13:09:00+01:00");
    expect(evolve(state, older)).toMatchObject({ kind: "rejected", code: "superseded" });
    const newer = ev("task.updated", T1, { changes: { title: { old: "", new: "y" } } }, "2026-01-10T13:11:00+01:00");
    expect(applied(evolve(state, newer)).version).toBe(3);
  });

  it("is rejected (not_found) on a task never created or deleted", () => {
    const e = ev("task.updated", T2, { changes: { title: { old: "", new: "x" } } }, at(1));
    expect(evolve(base(), e)).toEqual({
      kind: "rejected",
      code: "not_found",
      reason: `task ${T2} does not exist (deleted or never created)`,
    });
    const deleted = given(base(), ev("task.deleted", T1, {}, at(1)));
    expect(evolve(deleted, ev("task.updated", T1, { changes: { title: { old: "", new: "x" } } }, at(2)))).toMatchObject({
      kind: "rejected",
      code: "not_found",
    });
  });

  it("a moved due date moves the `before` reminders (and they may notify again); `at` reminders stay", () => {
    const state = given(
      base(),
      ev("reminder.triggered", T1, {
        reminder_id: R1,
        remind_at: "2026-02-01T08:00:00.000Z",
        fired_at: "2026-02-01T08:00:01.000Z",
        late: false,
        title: "old title",
      }),
    );
    expect(taskOf(state).reminders[0]).toMatchObject({ notified: true, notified_at: "2026-02-01T08:00:01.000Z" });
    const e = ev("task.updated", T1, { changes: { due_date: { old: null, new: "2026-02-03T12:00:00.000Z" } } }, at(5));
    const o = applied(evolve(state, e));
    // The applied event says where the pending reminders are now (the one that notified is pending again).
    const r2 = { id: R2, at: "2026-01-20T10:00:00.000Z", remind_at: "2026-01-20T10:00:00.000Z" };
    expect(o.data).toEqual({
      changes: { due_date: { old: "2026-02-01T09:00:00.000Z", new: "2026-02-03T12:00:00.000Z" } },
      moved_reminders: { old: [r2], new: [{ id: R1, before: "PT1H", remind_at: "2026-02-03T11:00:00.000Z" }, r2] },
    });
    // Not read when applied: the stored event replays to the same task.
    expect(taskOf(applied(evolve(state, { ...e, data: o.data } as TaskEvent)).state)).toEqual(taskOf(o.state));
    expect(taskOf(o.state).reminders).toEqual([
      { id: R1, before: "PT1H", remind_at: "2026-02-03T11:00:00.000Z", notified: false, notified_at: null, created_at: at(0) },
      { id: R2, at: "2026-01-20T10:00:00.000Z", remind_at: "2026-01-20T10:00:00.000Z", notified: false, created_at: at(0) },
    ]);
    // Moved (a timezone move, say) to a time that has passed already: it notified, and stays so.
    const late = ev(
      "task.updated",
      T1,
      { changes: { due_date: { old: null, new: "2026-02-01T10:00:00.000Z" } }, follows_user: true },
      "2026-02-01T09:30:00.000Z",
    );
    expect(taskOf(applied(evolve(state, late)).state).reminders[0]).toMatchObject({
      remind_at: "2026-02-01T09:00:00.000Z",
      notified: true,
      notified_at: "2026-02-01T08:00:01.000Z",
    });
    // A move written before moves said so (or a writer's own change) notifies again, and replays so.
    const unmarked = ev("task.updated", T1, { changes: late.data.changes }, late.timestamp);
    expect(taskOf(applied(evolve(state, unmarked)).state).reminders[0]).toMatchObject({ notified: false, notified_at: null });
  });

  it("`before` reminders count calendar days in the task's timezone (across a DST change)", () => {
    const state = given(
      emptyUser(U),
      created({
        timezone: "Europe/Berlin",
        due_date: "2026-03-20T08:00:00.000Z",
        reminders: [
          { id: R1, before: "P1D", remind_at: "2026-03-19T08:00:00.000Z" },
          { id: R2, before: "PT24H", remind_at: "2026-03-19T08:00:00.000Z" },
        ],
      }),
    );
    // 2026-03-29 09:00 CEST (+02:00); the day before, 09:00 is CET (+01:00).
    const o = applied(
      evolve(state, ev("task.updated", T1, { changes: { due_date: { old: null, new: "2026-03-29T07:00:00.000Z" } } }, at(1))),
    );
    expect(taskOf(o.state).reminders.map((r) => r.remind_at)).toEqual(["2026-03-28T08:00:00.000Z", "2026-03-28T07:00:00.000Z"]);
  });

  it("follows the task's new timezone when the same update changes it", () => {
    const state = given(
      emptyUser(U),
      created({ due_date: "2026-03-20T08:00:00.000Z", reminders: [{ id: R1, before: "P1D", remind_at: "2026-03-19T08:00:00.000Z" }] }),
    );
    const e = ev(
      "task.updated",
      T1,
      { changes: { timezone: { old: "UTC", new: "Europe/Berlin" }, due_date: { old: null, new: "2026-03-29T07:00:00.000Z" } } },
      at(1),
    );
    expect(taskOf(applied(evolve(state, e)).state).reminders[0]?.remind_at).toBe("2026-03-28T08:00:00.000Z");
  });

  it("a due date removed drops the `before` reminders and keeps the `at` ones", () => {
    const o = applied(evolve(base(), ev("task.updated", T1, { changes: { due_date: { old: null, new: null } } }, at(1))));
    expect(taskOf(o.state).reminders.map((r) => r.id)).toEqual([R2]);
  });

  it("a change that does not touch the due date leaves the reminders as they are (same objects)", () => {
    const before = base();
    const o = applied(evolve(before, ev("task.updated", T1, { changes: { timezone: { old: "UTC", new: "Asia/Tokyo" } } }, at(1))));
    expect(taskOf(o.state).reminders).toBe(taskOf(before).reminders);
    expect(taskOf(o.state).timezone).toBe("Asia/Tokyo");
  });

  it("a timezone change moves `before` reminders in calendar units (P1D: the same wall-clock time the day before, in the new zone)", () => {
    const due = "2027-03-14T13:00:00.000Z"; // 09:00 in New York (EDT), 13:00 in London (GMT)
    const reminders = [
      { id: R1, before: "P1D", remind_at: "2027-03-13T14:00:00.000Z" }, // 09:00 EST the day before
      { id: R2, before: "PT1H", remind_at: "2027-03-14T12:00:00.000Z" },
    ];
    const state = given(emptyUser(U), created({ due_date: due, timezone: "America/New_York", reminders }));
    const changes = { timezone: { old: "America/New_York", new: "Europe/London" } };
    const patch = ev("task.updated", T1, { changes, follows_user: false, zone_moves_reminders: true }, at(1));
    const o = applied(evolve(state, patch));
    expect(taskOf(o.state).reminders.map((r) => r.remind_at)).toEqual(["2027-03-13T13:00:00.000Z", "2027-03-14T12:00:00.000Z"]);
    expect(o.data).toMatchObject({
      moved_reminders: {
        new: [
          { id: R1, remind_at: "2027-03-13T13:00:00.000Z" },
          { id: R2, remind_at: "2027-03-14T12:00:00.000Z" },
        ],
      },
    });
    // The hour-based one is the same object: nothing of it changed.
    expect(taskOf(o.state).reminders[1]).toBe(taskOf(state).reminders[1]);
    // An event written before writers said so replays as it was applied: the reminders stay.
    const old = ev("task.updated", T1, { changes, follows_user: false }, at(1));
    expect(taskOf(applied(evolve(state, old)).state).reminders).toBe(taskOf(state).reminders);
  });

  it("the other tasks stay the same objects", () => {
    const state = given(base(), created({ title: "other" }, at(0), T2));
    const o = applied(evolve(state, ev("task.updated", T1, { changes: { title: { old: "", new: "x" } } }, at(1))));
    expect(o.state.tasks.get(T2)).toBe(state.tasks.get(T2));
  });
});

describe("task.completed / task.uncompleted", () => {
  it("completes: status, completed_at from the event, updated_at moves forward only", () => {
    const state = given(emptyUser(U), created({}, at(5)));
    const o = applied(evolve(state, ev("task.completed", T1, { completed_at: "2026-01-10T12:06:30.000Z" }, at(6))));
    expect(o.version).toBe(2);
    expect(o.summary).toBe('completed "Pay rent"');
    expect(o.data).toBeUndefined();
    expect(taskOf(o.state)).toEqual({
      ...taskOf(state),
      status: "completed",
      completed_at: "2026-01-10T12:06:30.000Z",
      updated_at: at(6),
      version: 2,
    });
    // An older completion is not superseded (status changes do not compete), but it does not move updated_at back.
    const older = applied(evolve(state, ev("task.completed", T1, { completed_at: at(1) }, at(1))));
    expect(taskOf(older.state)).toMatchObject({ status: "completed", completed_at: at(1), updated_at: at(5) });
  });

  it("uncompletes: pending again, completed_at cleared", () => {
    const state = given(emptyUser(U), created(), ev("task.completed", T1, { completed_at: at(1) }, at(1)));
    const o = applied(evolve(state, ev("task.uncompleted", T1, {}, at(2))));
    expect(o.version).toBe(3);
    expect(o.summary).toBe('reopened "Pay rent"');
    expect(taskOf(o.state)).toMatchObject({ status: "pending", completed_at: null, updated_at: at(2), version: 3 });
  });

  it("uncompleting a pending task applies (a version) and changes nothing else", () => {
    const state = given(emptyUser(U), created({}, at(3)));
    const o = applied(evolve(state, ev("task.uncompleted", T1, {}, at(2))));
    expect(taskOf(o.state)).toEqual({ ...taskOf(state), version: 2 });
  });

  it("is rejected (not_found) on a missing task", () => {
    expect(evolve(emptyUser(U), ev("task.completed", T1, { completed_at: at(0) }))).toMatchObject({ kind: "rejected", code: "not_found" });
    expect(evolve(emptyUser(U), ev("task.uncompleted", T1, {}))).toMatchObject({ kind: "rejected", code: "not_found" });
  });
});

describe("task.deleted", () => {
  it("applies: the task is known not to exist (null), its version moves on", () => {
    const state = given(emptyUser(U), created());
    const o = applied(evolve(state, ev("task.deleted", T1, {}, at(1))));
    expect(o.version).toBe(2);
    expect(o.summary).toBe('deleted "Pay rent"');
    expect(o.taskId).toBe(T1);
    expect(o.state.tasks.has(T1)).toBe(true);
    expect(o.state.tasks.get(T1)).toBeNull();
    expect(o.state.versions.get(T1)).toBe(2);
  });

  it("is rejected (not_found) twice deleted or never created", () => {
    const state = given(emptyUser(U), created(), ev("task.deleted", T1, {}, at(1)));
    expect(evolve(state, ev("task.deleted", T1, {}, at(2)))).toMatchObject({ kind: "rejected", code: "not_found" });
    expect(evolve(emptyUser(U), ev("task.deleted", T2, {}))).toMatchObject({ kind: "rejected", code: "not_found" });
  });
});

describe("recurring.spawned", () => {
  const NEXT = "2026-01-12T09:00:00.000Z";
  const parent = () =>
    given(
      emptyUser(U),
      created({ recurrence_rule: "FREQ=DAILY", due_date: "2026-01-11T09:00:00.000Z", next_occurrence: NEXT, tags: ["a"] }),
    );
  const spawn = (occurrence: string, next: string | null, instance = T2, ts = at(1)) =>
    ev(
      "recurring.spawned",
      instance,
      {
        occurrence,
        parent_next_occurrence: next,
        late: false,
        strict: true,
        task: fields({ due_date: occurrence, parent_task_id: T1, tags: ["A", "b"] }),
      },
      ts,
    );

  it("applies: the instance is created and the parent's next occurrence moves on (parent's version unchanged)", () => {
    const e = spawn(NEXT, "2026-01-13T09:00:00.000Z");
    const o = applied(evolve(parent(), e));
    expect(o.version).toBe(1);
    expect(o.taskId).toBe(T2);
    expect(o.summary).toBe(`new occurrence of "Pay rent" at ${NEXT}`);
    expect(taskOf(o.state, T2)).toEqual({
      ...createdTask(U, T2, e.data.task, at(1)),
      tags: ["a", "b"],
    });
    expect(taskOf(o.state, T1)).toEqual({ ...taskOf(parent(), T1), next_occurrence: "2026-01-13T09:00:00.000Z" });
    expect(o.state.versions.get(T1)).toBe(1);
    expect(o.state.tags?.get(derivedTagId(e.event_id, "b"))?.name).toBe("b");
  });

  it("is skipped for an occurrence the series has moved past (skipped, moved to another zone, rule edited): no stray instance", () => {
    const state = given(parent(), spawn(NEXT, "2026-01-14T09:00:00.000Z"));
    const stale = spawn("2026-01-11T09:00:00.000Z", "2026-01-12T09:00:00.000Z", id("stale instance"));
    expect(evolve(state, stale)).toEqual({
      kind: "skipped",
      reason: `occurrence 2026-01-11T09:00:00.000Z is no longer the next of series ${T1}`,
    });
    // A timezone move put the next occurrence 5 h 45 later: the spawn decided before it is stale too.
    const moved = given(
      parent(),
      ev("task.updated", T1, { changes: { next_occurrence: { old: NEXT, new: "2026-01-12T14:45:00.000Z" } } }, at(0)),
    );
    expect(evolve(moved, spawn(NEXT, "2026-01-13T09:00:00.000Z"))).toMatchObject({ kind: "skipped" });
    // Moved to an earlier instant (a zone further east): the stale spawn is later than the next
    // occurrence, but no occurrence of the series' rule.
    expect(evolve(parent(), spawn("2026-01-13T10:00:00.000Z", "2026-01-14T10:00:00.000Z"))).toMatchObject({ kind: "skipped" });
  });

  it("is skipped when the series was deleted after the spawn was decided (it is no write to refuse); before `strict`, refused", () => {
    const deleted = given(parent(), ev("task.deleted", T1, {}, at(0)));
    expect(evolve(deleted, spawn(NEXT, "2026-01-13T09:00:00.000Z"))).toEqual({ kind: "skipped", reason: `series ${T1} no longer exists` });
    expect(evolve(emptyUser(U), spawn(NEXT, "2026-01-13T09:00:00.000Z"))).toMatchObject({ kind: "skipped" });
    const { strict: _, ...data } = spawn(NEXT, "2026-01-13T09:00:00.000Z").data;
    expect(evolve(deleted, ev("recurring.spawned", T2, data, at(1)))).toMatchObject({ kind: "rejected", code: "not_found" });
  });

  it("written before `strict`, a stale spawn still makes its instance and moves nothing (an old log replays as it was applied)", () => {
    const state = given(parent(), spawn(NEXT, "2026-01-14T09:00:00.000Z"));
    const { strict: _, ...data } = spawn("2026-01-11T09:00:00.000Z", "2026-01-12T09:00:00.000Z", id("old instance")).data;
    const old = ev("recurring.spawned", id("old instance"), data, at(1));
    const o = applied(evolve(state, old));
    expect(taskOf(o.state, T1).next_occurrence).toBe("2026-01-14T09:00:00.000Z");
    expect(o.state.tasks.get(id("old instance"))).toBeTruthy();
  });

  it("a later occurrence than the next one moves it (missed ones caught up); a series without a next occurrence spawns nothing", () => {
    const o = applied(evolve(parent(), spawn("2026-01-20T09:00:00.000Z", "2026-01-21T09:00:00.000Z")));
    expect(taskOf(o.state, T1).next_occurrence).toBe("2026-01-21T09:00:00.000Z");
    const ended = given(parent(), ev("task.updated", T1, { changes: { next_occurrence: { old: null, new: null } } }, at(0)));
    expect(evolve(ended, spawn(NEXT, "2026-01-13T09:00:00.000Z"))).toMatchObject({ kind: "skipped" });
  });

  it("is skipped when the instance exists already (the parent does not move)", () => {
    const state = given(parent(), spawn(NEXT, "2026-01-13T09:00:00.000Z"));
    const again = spawn("2026-01-13T09:00:00.000Z", "2026-01-14T09:00:00.000Z", T2, at(2));
    expect(evolve(state, again)).toEqual({ kind: "skipped", reason: `instance ${T2} already spawned` });
  });

  it("is rejected (not_found) when it names no series", () => {
    const orphan = ev("recurring.spawned", T2, { occurrence: NEXT, parent_next_occurrence: null, late: true, task: fields() });
    expect(evolve(parent(), orphan)).toMatchObject({
      kind: "rejected",
      code: "not_found",
      reason: "task (none) does not exist (deleted or never created)",
    });
  });
});

describe("recurring.skipped", () => {
  const NEXT = "2026-01-12T09:00:00.000Z";
  const series = () => given(emptyUser(U), created({ recurrence_rule: "FREQ=DAILY", next_occurrence: NEXT }));

  it("applies for the current next occurrence (compared as an instant) and moves the series on", () => {
    const e = ev("recurring.skipped", T1, { occurrence: "2026-01-12T10:00:00+01:00", next_occurrence: "2026-01-13T09:00:00.000Z" }, at(1));
    const o = applied(evolve(series(), e));
    expect(o.version).toBe(2);
    expect(o.summary).toBe(`skipped the occurrence at 2026-01-12T10:00:00+01:00 of "Pay rent"`);
    expect(taskOf(o.state)).toEqual({ ...taskOf(series()), next_occurrence: "2026-01-13T09:00:00.000Z", version: 2 });
  });

  it("is rejected (conflict, so its writer is told) for any other occurrence, or when the series has none: a second skip sent at once", () => {
    const e = ev("recurring.skipped", T1, { occurrence: "2026-01-11T09:00:00.000Z", next_occurrence: NEXT }, at(1));
    expect(evolve(series(), e)).toEqual({
      kind: "rejected",
      code: "conflict",
      reason: "occurrence 2026-01-11T09:00:00.000Z is not the series' next one (skipped or spawned already)",
    });
    const plain = given(emptyUser(U), created());
    expect(evolve(plain, e)).toMatchObject({ kind: "rejected", code: "conflict" });
  });

  it("is rejected (not_found) on a missing task", () => {
    expect(evolve(emptyUser(U), ev("recurring.skipped", T1, { occurrence: NEXT, next_occurrence: null }))).toMatchObject({
      kind: "rejected",
      code: "not_found",
    });
  });
});

describe("task.updated with skip (POST …/skip-occurrence; recurring.skipped in earlier logs)", () => {
  const NEXT = "2026-01-12T09:00:00.000Z";
  const series = () => given(emptyUser(U), created({ recurrence_rule: "FREQ=DAILY", next_occurrence: NEXT }));
  const skip = (occurrence: string, next: string | null) =>
    ev("task.updated", T1, { changes: { next_occurrence: { old: occurrence, new: next } }, skip: true }, at(1));

  it("applies for the current next occurrence (compared as an instant), moves the series on and says so", () => {
    const o = applied(evolve(series(), skip("2026-01-12T10:00:00+01:00", "2026-01-13T09:00:00.000Z")));
    expect(o.summary).toBe(`skipped the occurrence at 2026-01-12T10:00:00+01:00 of "Pay rent"`);
    expect(o.data).toEqual({ changes: { next_occurrence: { old: NEXT, new: "2026-01-13T09:00:00.000Z" } }, skip: true });
    expect(taskOf(o.state)).toMatchObject({ next_occurrence: "2026-01-13T09:00:00.000Z", version: 2 });
  });

  it("is rejected (conflict) for any other occurrence, or when the series has none: a second skip sent at once", () => {
    expect(evolve(series(), skip("2026-01-11T09:00:00.000Z", NEXT))).toEqual({
      kind: "rejected",
      code: "conflict",
      reason: "occurrence 2026-01-11T09:00:00.000Z is not the series' next one (skipped or spawned already)",
    });
    expect(evolve(given(emptyUser(U), created()), skip(NEXT, null))).toMatchObject({ kind: "rejected", code: "conflict" });
  });
});

describe("reminder.created", () => {
  const spec = { id: R1, at: "2026-01-20T10:00:00.000Z", remind_at: "2026-01-20T10:00:00.000Z" };

  it("applies: the reminder is added, not notified, stamped with the event's time", () => {
    const state = given(emptyUser(U), created());
    const o = applied(evolve(state, ev("reminder.created", T1, { reminder: spec }, at(4))));
    expect(o.version).toBe(2);
    expect(o.summary).toBe(`reminder at 2026-01-20T10:00:00.000Z on "Pay rent"`);
    expect(taskOf(o.state)).toEqual({ ...taskOf(state), reminders: [{ ...spec, notified: false, created_at: at(4) }], version: 2 });
  });

  it("a reminder id the task has already applies (a version) but keeps the existing reminder", () => {
    const state = given(emptyUser(U), created(), ev("reminder.created", T1, { reminder: spec }, at(1)));
    const o = applied(evolve(state, ev("reminder.created", T1, { reminder: { ...spec, remind_at: at(50), at: at(50) } }, at(2))));
    expect(o.version).toBe(3);
    expect(taskOf(o.state).reminders).toEqual(taskOf(state).reminders);
  });

  it("is rejected (not_found) on a missing task", () => {
    expect(evolve(emptyUser(U), ev("reminder.created", T1, { reminder: spec }))).toMatchObject({ kind: "rejected", code: "not_found" });
  });
});

describe("reminder.deleted", () => {
  const withReminders = () =>
    given(
      emptyUser(U),
      created({
        reminders: [
          { id: R1, at: at(30), remind_at: at(30) },
          { id: R2, at: at(40), remind_at: at(40) },
        ],
      }),
    );

  it("applies: the reminder is gone", () => {
    const o = applied(evolve(withReminders(), ev("reminder.deleted", T1, { reminder_id: R1 }, at(1))));
    expect(o.version).toBe(2);
    expect(o.summary).toBe('removed a reminder from "Pay rent"');
    expect(taskOf(o.state).reminders.map((r) => r.id)).toEqual([R2]);
  });

  it("is rejected (not_found, so its writer is told) when the reminder is already gone: a second delete sent at once", () => {
    const state = given(withReminders(), ev("reminder.deleted", T1, { reminder_id: R1 }, at(1)));
    expect(evolve(state, ev("reminder.deleted", T1, { reminder_id: R1 }, at(2)))).toEqual({
      kind: "rejected",
      code: "not_found",
      reason: `reminder ${R1} does not exist (deleted already)`,
    });
  });

  it("is rejected (not_found) on a missing task", () => {
    expect(evolve(emptyUser(U), ev("reminder.deleted", T1, { reminder_id: R1 }))).toMatchObject({ kind: "rejected", code: "not_found" });
  });
});

describe("reminder.triggered", () => {
  const withReminder = () => given(emptyUser(U), created({ title: "Pay rent", reminders: [{ id: R1, at: at(30), remind_at: at(30) }] }));
  const trigger = (remindAt = at(30), reminderId = R1, taskId = T1) =>
    ev(
      "reminder.triggered",
      taskId,
      { reminder_id: reminderId, remind_at: remindAt, fired_at: at(31), late: true, title: "Pay rent" },
      at(31),
    );

  it("applies once: the reminder is notified with the time it fired", () => {
    const o = applied(evolve(withReminder(), trigger()));
    expect(o.version).toBe(2);
    expect(o.summary).toBe('reminder for "Pay rent" (late)');
    expect(taskOf(o.state)).toEqual({
      ...taskOf(withReminder()),
      reminders: [{ id: R1, at: at(30), remind_at: at(30), notified: true, notified_at: at(31), created_at: at(0) }],
      version: 2,
    });
    // The API no longer shows it.
    expect(taskView(taskOf(o.state)).reminders).toEqual([]);
    expect(evolve(o.state, trigger())).toEqual({
      kind: "skipped",
      reason: `reminder ${R1} already notified, cancelled or its task is done`,
    });
  });

  it("matches remind_at as an instant", () => {
    expect(evolve(withReminder(), trigger("2026-01-10T13:30:00+01:00")).kind).toBe("applied");
  });

  it("is skipped (never rejected: nobody wrote it) when its time moved, its task is done, deleted or missing, or the reminder is gone", () => {
    expect(evolve(withReminder(), trigger(at(29))).kind).toBe("skipped");
    const done = given(withReminder(), ev("task.completed", T1, { completed_at: at(10) }, at(10)));
    expect(evolve(done, trigger()).kind).toBe("skipped");
    const deleted = given(withReminder(), ev("task.deleted", T1, {}, at(10)));
    expect(evolve(deleted, trigger()).kind).toBe("skipped");
    expect(evolve(emptyUser(U), trigger()).kind).toBe("skipped");
    expect(evolve(withReminder(), trigger(at(30), R2)).kind).toBe("skipped");
  });

  it("a task reopened before the trigger notifies", () => {
    const reopened = given(
      withReminder(),
      ev("task.completed", T1, { completed_at: at(10) }, at(10)),
      ev("task.uncompleted", T1, {}, at(11)),
    );
    expect(evolve(reopened, trigger()).kind).toBe("applied");
  });

  it("a `before` reminder notified notifies again after the due date moved, at its new time only", () => {
    const state = given(
      emptyUser(U),
      created({ due_date: at(60), reminders: [{ id: R1, before: "PT10M", remind_at: at(50) }] }),
      trigger(at(50)),
    );
    const moved = given(state, ev("task.updated", T1, { changes: { due_date: { old: null, new: at(120) } } }, at(52)));
    expect(evolve(moved, trigger(at(50))).kind).toBe("skipped");
    expect(evolve(moved, trigger(at(110))).kind).toBe("applied");
  });
});

describe("tag.created", () => {
  it("applies: the tag with its name and colour", () => {
    const o = applied(evolve(emptyUser(U), ev("tag.created", G1, { name: "Work", color: "#f00" }, at(2))));
    expect(o.version).toBe(1);
    expect(o.summary).toBe('created tag "Work"');
    expect(o.taskId).toBeUndefined();
    expect([...(o.state.tags?.values() ?? [])]).toEqual([tag(G1, "Work", at(2), "#f00")]);
  });

  it("is rejected (conflict) for a name the user has in any case, or an id taken", () => {
    const state = given(emptyUser(U), ev("tag.created", G1, { name: "Work", color: null }));
    expect(evolve(state, ev("tag.created", G2, { name: "WORK", color: null }, at(1)))).toEqual({
      kind: "rejected",
      code: "conflict",
      reason: `tag "WORK" or id ${G2} already exists`,
    });
    expect(evolve(state, ev("tag.created", G1, { name: "other", color: null }, at(1)))).toMatchObject({
      kind: "rejected",
      code: "conflict",
    });
  });

  it("a name a task created implicitly conflicts too", () => {
    const state = given(emptyUser(U), created({ tags: ["home"] }));
    expect(evolve(state, ev("tag.created", G1, { name: "Home", color: null }, at(1)))).toMatchObject({
      kind: "rejected",
      code: "conflict",
    });
  });

  it("is rejected (invalid) when the tag id is not a uuid", () => {
    expect(evolve(emptyUser(U), ev("tag.created", "work", { name: "Work", color: null }))).toMatchObject({
      kind: "rejected",
      code: "invalid",
    });
  });
});

describe("tag.updated", () => {
  const tagged = () =>
    given(
      emptyUser(U),
      ev("tag.created", G1, { name: "Work", color: "red" }),
      ev("tag.created", G2, { name: "Home", color: null }),
      created({ tags: ["work", "home"] }, at(1)),
      created({ tags: ["x"] }, at(1), T2),
    );

  it("renames: the tag and every task carrying it; data has the real old name", () => {
    const state = tagged();
    const e = ev("tag.updated", G1, { changes: { name: { old: "?", new: "Job" } } }, at(5));
    const o = applied(evolve(state, e));
    expect(o.version).toBe(2);
    expect(o.data).toEqual({ changes: { name: { old: "Work", new: "Job" } } });
    expect(o.summary).toBe('renamed or recoloured tag "Work"');
    expect(o.state.tags?.get(G1)).toEqual({ ...tag(G1, "Job", at(0), "red"), updated_at: at(5) });
    expect(taskOf(o.state).tags).toEqual(["Home", "Job"]);
    // A task's version does not move for a tag's rename, and a task without the tag is the same object.
    expect(taskOf(o.state).version).toBe(1);
    expect(o.state.tasks.get(T2)).toBe(state.tasks.get(T2));
  });

  it("recolours only: data has the colour's old value, the name and tasks stay", () => {
    const state = tagged();
    const o = applied(evolve(state, ev("tag.updated", G1, { changes: { color: { old: null, new: "blue" } } }, at(5))));
    expect(o.data).toEqual({ changes: { color: { old: "red", new: "blue" } } });
    expect(o.state.tags?.get(G1)).toMatchObject({ name: "Work", color: "blue", updated_at: at(5) });
    expect(o.state.tasks).toBe(state.tasks);
  });

  it("a change of case of its own name applies", () => {
    const o = applied(evolve(tagged(), ev("tag.updated", G1, { changes: { name: { old: "Work", new: "WORK" } } }, at(5))));
    expect(taskOf(o.state).tags).toEqual(["Home", "WORK"]);
  });

  it("is rejected (conflict) for another tag's name in any case, (not_found) for a missing tag", () => {
    expect(evolve(tagged(), ev("tag.updated", G1, { changes: { name: { old: "Work", new: "home" } } }, at(5)))).toEqual({
      kind: "rejected",
      code: "conflict",
      reason: 'another tag is already named "home"',
    });
    expect(evolve(tagged(), ev("tag.updated", id("nope"), { changes: { color: { old: null, new: null } } }))).toMatchObject({
      kind: "rejected",
      code: "not_found",
    });
    const deleted = given(tagged(), ev("tag.deleted", G1, {}, at(5)));
    expect(evolve(deleted, ev("tag.updated", G1, { changes: { color: { old: null, new: null } } }, at(6)))).toMatchObject({
      kind: "rejected",
      code: "not_found",
    });
  });
});

describe("tag.deleted", () => {
  it("applies: the tag is gone and no task carries it any more", () => {
    const state = given(emptyUser(U), ev("tag.created", G1, { name: "Work", color: null }), created({ tags: ["work", "x"] }, at(1)));
    const o = applied(evolve(state, ev("tag.deleted", G1, {}, at(2))));
    expect(o.version).toBe(2);
    expect(o.summary).toBe("deleted a tag");
    // The applied event names the tag, for clients that never saw it made (a task write made it).
    expect(o.data).toEqual({ name: "Work" });
    expect(o.state.tags?.has(G1)).toBe(false);
    expect(taskOf(o.state).tags).toEqual(["x"]);
    expect(taskOf(o.state).version).toBe(1);
  });

  it("is rejected (not_found, so its writer is told) when the tag is already gone: a second delete sent at once", () => {
    const state = { ...emptyUser(U), tags: new Map() };
    expect(evolve(state, ev("tag.deleted", G1, {}))).toEqual({
      kind: "rejected",
      code: "not_found",
      reason: `tag ${G1} does not exist (deleted already)`,
    });
  });
});

describe("settings.updated", () => {
  it("applies: the user's timezone, data with the real old one, a version of the settings aggregate", () => {
    const e = ev("settings.updated", U, { changes: { timezone: { old: "whatever", new: "Europe/Paris" } } }, at(1));
    const o = applied(evolve(emptyUser(U, "Asia/Tokyo"), e));
    expect(o.version).toBe(1);
    expect(o.data).toEqual({ changes: { timezone: { old: "Asia/Tokyo", new: "Europe/Paris" } } });
    expect(o.summary).toBe("timezone set to Europe/Paris");
    expect(o.state.timezone).toBe("Europe/Paris");
    expect(o.state.versions.get(U)).toBe(1);
  });

  it("the settings aggregate id need not be a uuid", () => {
    const e = ev("settings.updated", "not-a-uuid", { changes: { timezone: { old: "UTC", new: "UTC" } } });
    expect(evolve(emptyUser(U), e).kind).toBe("applied");
  });
});

describe("write.rejected", () => {
  const rejection = (aggregate: string, type: string, ts = at(1)) =>
    ev(
      "write.rejected",
      aggregate,
      { event_id: id("the write"), event_type: type, correlation_id: CORR, reason: "not_found", message: "gone" },
      ts,
    );

  it("counts as a version of the task it concerns (the task's history shows it) and changes nothing else", () => {
    const state = given(emptyUser(U), created());
    const o = applied(evolve(state, rejection(T1, "task.updated")));
    expect(o.version).toBe(2);
    expect(o.taskId).toBe(T1);
    expect(o.summary).toBe("task.updated not applied (not_found): gone");
    expect(taskOf(o.state)).toEqual({ ...taskOf(state), version: 2 });
  });

  it("counts as a version of a deleted or missing task, of a tag and of a non-uuid aggregate; the task stays absent", () => {
    const deleted = given(emptyUser(U), created(), ev("task.deleted", T1, {}, at(1)));
    const o = applied(evolve(deleted, rejection(T1, "task.updated")));
    expect(o.version).toBe(3);
    expect(o.taskId).toBeUndefined();
    expect(o.state.tasks.get(T1)).toBeNull();
    const tagRejected = applied(evolve(emptyUser(U), rejection(G1, "tag.updated")));
    expect(tagRejected.version).toBe(1);
    expect(tagRejected.taskId).toBeUndefined();
    expect(applied(evolve(emptyUser(U), rejection("task-1", "task.updated"))).version).toBe(1);
  });

  it("on a tag event with the same id as a task, does not touch the task", () => {
    const state = given(emptyUser(U), created());
    const o = applied(evolve(state, rejection(T1, "tag.created")));
    expect(o.taskId).toBeUndefined();
    expect(taskOf(o.state).version).toBe(1);
  });

  it("cuts a long summary to 500 characters", () => {
    const long = ev("write.rejected", T1, {
      event_id: id("w"),
      event_type: "task.updated",
      correlation_id: CORR,
      reason: "invalid",
      message: "x".repeat(1000),
    });
    expect(applied(evolve(emptyUser(U), long)).summary).toHaveLength(500);
  });
});

describe("evolve", () => {
  it("refuses (invalid) task, reminder, recurring and tag events whose id is not a uuid, naming the id", () => {
    const cases: TaskEvent[] = [
      ev("task.updated", "x", { changes: {} }),
      ev("task.completed", "x", { completed_at: at(0) }),
      ev("task.deleted", "x", {}),
      ev("reminder.deleted", "x", { reminder_id: R1 }),
      ev("recurring.skipped", "x", { occurrence: at(0), next_occurrence: null }),
      ev("tag.deleted", "x", {}),
    ];
    for (const e of cases)
      expect(evolve(emptyUser(U), e)).toEqual({
        kind: "rejected",
        code: "invalid",
        reason: `cannot be applied: ${e.event_type} names "x", which is not a uuid`,
      });
  });

  it("never changes the state it is given", () => {
    const state = given(emptyUser(U), ev("tag.created", G1, { name: "Work", color: null }), created({ tags: ["work"] }));
    const snapshot = structuredClone({ tasks: [...state.tasks], tags: [...(state.tags ?? [])], versions: [...state.versions] });
    for (const e of [
      ev("task.updated", T1, { changes: { tags: { old: [], new: ["new"] }, title: { old: "", new: "t" } } }, at(1)),
      ev("tag.updated", G1, { changes: { name: { old: "", new: "Job" } } }, at(1)),
      ev("tag.deleted", G1, {}, at(1)),
      ev("task.deleted", T1, {}, at(1)),
      ev("settings.updated", U, { changes: { timezone: { old: "", new: "Europe/Paris" } } }, at(1)),
    ])
      applied(evolve(state, e));
    expect({ tasks: [...state.tasks], tags: [...(state.tags ?? [])], versions: [...state.versions] }).toEqual(snapshot);
  });
});

describe("taskView", () => {
  it("shows the reminders not notified, soonest first, without the projection's bookkeeping", () => {
    const state = given(
      emptyUser(U),
      created({
        reminders: [
          { id: R1, at: at(40), remind_at: at(40) },
          { id: R2, at: at(30), remind_at: at(30) },
          { id: id("r3"), at: at(20), remind_at: at(20) },
        ],
      }),
      ev("reminder.triggered", T1, { reminder_id: id("r3"), remind_at: at(20), fired_at: at(20), late: false, title: "" }, at(20)),
    );
    expect(taskView(taskOf(state)).reminders).toEqual([
      { id: R2, at: at(30), remind_at: at(30), notified: false },
      { id: R1, at: at(40), remind_at: at(40), notified: false },
    ]);
  });
});

describe("follows_user_timezone", () => {
  it("is set by the creation's timezone_defaulted, cleared by a timezone the writer chose, kept by a move with the user", () => {
    const defaulted = ev("task.created", T1, { task: fields({ recurrence_rule: "FREQ=DAILY" }), timezone_defaulted: true });
    const state = given(emptyUser(U), defaulted);
    expect(taskOf(state).follows_user_timezone).toBe(true);
    const change = { timezone: { old: "UTC", new: "Europe/Berlin" } };
    const moved = applied(evolve(state, ev("task.updated", T1, { changes: change, follows_user: true }, at(1))));
    expect(taskOf(moved.state).follows_user_timezone).toBe(true);
    expect(moved.data).toMatchObject({ follows_user: true }); // kept in the stored event: replay moves it the same way
    const chosen = applied(evolve(state, ev("task.updated", T1, { changes: change, follows_user: false }, at(1))));
    expect(taskOf(chosen.state).follows_user_timezone).toBe(false);
    // Events written before the field (moves and writers' changes alike) leave the flag as it was.
    expect(taskOf(applied(evolve(state, ev("task.updated", T1, { changes: change }, at(1)))).state).follows_user_timezone).toBe(true);
    expect(taskView(taskOf(state))).not.toHaveProperty("follows_user_timezone");
  });
});
