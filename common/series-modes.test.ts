/** Recurrence modes and series edits, on the domain rules (issue 16). */
import { describe, expect, it } from "vitest";
import { newEvent } from "./contracts/envelope.ts";
import type { AppliedEvent, TaskEvent, TaskFields } from "./contracts/events.ts";
import { evolveBatch } from "./domain/batch.ts";
import { createTask, skipOccurrence, updateTask } from "./domain/decide.ts";
import { emptyUser, type Task, type UserState } from "./domain/model.ts";
import { nameBasedUuid } from "./ids.ts";
import { afterCompletionSpawns, instanceId, instancesEndedWithSeries, timezoneMoveEvents } from "./series.ts";

const U = "alice";
const id = (n: string) => nameBasedUuid("series-modes.test", n);
const CORR = id("corr");
let counter = 0;
const cmd = (now: string) => ({ user_id: U, correlation_id: CORR, now, newId: () => id(`new-${++counter}`) });
const followUps = (applied: AppliedEvent, state: UserState, was: Task | null): TaskEvent[] => [
  ...afterCompletionSpawns(applied, state.tasks, was),
  ...instancesEndedWithSeries(applied, state.tasks, was),
];

/** Applies events one batch at a time (as the processors would), returning the state and everything applied. */
function run(state: UserState, batches: TaskEvent[][], seen = new Set<string>()) {
  let states = new Map([[U, state]]);
  let seqs = new Map([[U, 0]]);
  const applied: AppliedEvent[] = [];
  for (const events of batches) {
    const out = evolveBatch(states, seqs, events, seen, followUps);
    states = out.states;
    seqs = out.seqs;
    for (const e of out.applied) seen.add(e.event_id);
    applied.push(...out.applied);
  }
  return { state: states.get(U) as UserState, applied, seen };
}

const created = (now: string, input: Parameters<typeof createTask>[2]) => {
  const d = createTask(cmd(now), "Europe/Berlin", input);
  if (!d.ok || !d.event) throw new Error("refused");
  return { event: d.event, task: d.task };
};

describe("after_completion", () => {
  // Weekly on Mondays 09:00 Berlin, first due Monday 2026-03-02; created the Friday before.
  const now = "2026-02-27T10:00:00.000Z";
  const series = created(now, {
    title: "Water the plants",
    due_date: "2026-03-02T08:00:00.000Z",
    recurrence_rule: "FREQ=WEEKLY",
    recurrence_mode: "after_completion",
    reminders: [{ before: "PT1H" }],
  });
  const on = (aggregateId: string, timestamp: string, name?: string) => ({
    user_id: U,
    aggregate_id: aggregateId,
    correlation_id: CORR,
    timestamp,
    ...(name ? { event_id: id(name) } : {}),
  });
  const completed = (aggregateId: string, at: string, name?: string) =>
    newEvent("task.completed", on(aggregateId, at, name), { completed_at: at });
  const spawnedIds = (applied: AppliedEvent[]) => applied.filter((e) => e.event_type === "recurring.spawned").map((e) => e.aggregate_id);
  const first = "2026-03-09T08:00:00.000Z";
  /** The series created, then completed on its own due day: instance 1 (March 9) exists. */
  const withFirstInstance = () => {
    const a = run(emptyUser(U), [[series.event]]);
    return run(a.state, [[completed(series.task.id, "2026-03-02T12:00:00.000Z")]], a.seen);
  };

  it("a new series is its own first instance: nothing is spawned until it is completed", () => {
    expect(series.task.recurrence_mode).toBe("after_completion");
    expect(series.task.next_occurrence).toBe("2026-03-02T08:00:00.000Z");
    const a = run(emptyUser(U), [[series.event]]);
    expect(a.applied.map((e) => e.event_type)).toEqual(["task.created"]);
  });

  it("completing the series spawns instance 1, then instance k+1 once when k is completed", () => {
    const a = withFirstInstance();
    expect(spawnedIds(a.applied)).toEqual([instanceId(series.task.id, first)]);
    expect(a.applied.find((e) => e.event_type === "recurring.spawned")?.data).toMatchObject({
      occurrence: first,
      task: { reminders: [{ before: "PT1H", remind_at: "2026-03-09T07:00:00.000Z" }] },
    });
    expect(a.state.tasks.get(series.task.id)?.next_occurrence).toBe(first);
    // The series reopened and completed again: it is not the current instance any more.
    const reopenSeries = newEvent("task.uncompleted", on(series.task.id, "2026-03-02T13:00:00.000Z"), {});
    expect(spawnedIds(run(a.state, [[reopenSeries, completed(series.task.id, "2026-03-02T13:01:00.000Z")]], a.seen).applied)).toEqual([]);

    // Completed late, on Wednesday 2026-03-11: the next is the Monday after that.
    const k = instanceId(series.task.id, first);
    const done = completed(k, "2026-03-11T12:00:00.000Z", "done");
    const b = run(a.state, [[done], [done]], a.seen);
    const next = "2026-03-16T08:00:00.000Z";
    expect(spawnedIds(b.applied)).toEqual([instanceId(series.task.id, next)]);
    expect(b.state.tasks.get(series.task.id)?.next_occurrence).toBe(next);
    // The same completion redelivered (above), or k reopened and completed again: nothing more.
    const reopen = newEvent("task.uncompleted", on(k, "2026-03-11T12:01:00.000Z"), {});
    const c = run(b.state, [[reopen, completed(k, "2026-03-11T12:02:00.000Z")]], b.seen);
    expect(spawnedIds(c.applied)).toEqual([]);
  });

  it("completed early, the next instance is the occurrence after the current one's own due date", () => {
    const a = run(emptyUser(U), [[series.event]]);
    const b = run(a.state, [[completed(series.task.id, "2026-02-28T12:00:00.000Z")]], a.seen);
    expect(b.applied.find((e) => e.event_type === "recurring.spawned")?.data).toMatchObject({ occurrence: first });
    const c = run(b.state, [[completed(instanceId(series.task.id, first), "2026-03-05T12:00:00.000Z")]], b.seen);
    expect(c.applied.find((e) => e.event_type === "recurring.spawned")?.data).toMatchObject({ occurrence: "2026-03-16T08:00:00.000Z" });
  });

  it("deleting the series before its first completion stops it; nothing is spawned", () => {
    const a = run(emptyUser(U), [[series.event]]);
    const b = run(a.state, [[newEvent("task.deleted", on(series.task.id, "2026-03-01T12:00:00.000Z"), {})]], a.seen);
    expect(spawnedIds(b.applied)).toEqual([]);
  });

  it("deleting the current instance (which can then never be completed) spawns the next; deleting an earlier one does not", () => {
    const a = withFirstInstance();
    const k = instanceId(series.task.id, first);
    const deleted = newEvent("task.deleted", on(k, "2026-03-05T12:00:00.000Z"), {});
    const b = run(a.state, [[deleted, deleted]], a.seen);
    const next = "2026-03-16T08:00:00.000Z";
    expect(spawnedIds(b.applied)).toEqual([instanceId(series.task.id, next)]);
    expect(b.state.tasks.get(series.task.id)?.next_occurrence).toBe(next);
    // Instance k+1 completed; deleting k+1 afterwards (no longer current) spawns nothing more.
    const k1 = instanceId(series.task.id, next);
    const gone = newEvent("task.deleted", on(k1, "2026-03-16T10:00:00.000Z"), {});
    const c = run(b.state, [[completed(k1, "2026-03-16T09:00:00.000Z")], [gone]], b.seen);
    expect(c.applied.filter((e) => e.event_type === "recurring.spawned").map((e) => e.data)).toMatchObject([
      { occurrence: "2026-03-23T08:00:00.000Z" },
    ]);
  });

  it("an edit of the rule leaves the current instance's occurrence alone; skipping is refused", () => {
    const a = withFirstInstance();
    const task = a.state.tasks.get(series.task.id) as Task;
    const d = updateTask(cmd("2026-03-03T10:00:00.000Z"), task, { recurrence_rule: "FREQ=DAILY" });
    expect(d.ok && d.event?.event_type === "task.updated" && d.event.data.changes).toEqual({
      recurrence_rule: { old: "FREQ=WEEKLY", new: "FREQ=DAILY" },
    });
    expect(skipOccurrence(cmd("2026-03-03T10:00:00.000Z"), task)).toMatchObject({ ok: false, refusal: { kind: "conflict" } });
  });

  it("before its first completion, moving the series' due date moves its next_occurrence (it is its own current instance)", () => {
    const a = run(emptyUser(U), [[series.event]]);
    const task = a.state.tasks.get(series.task.id) as Task;
    const d = updateTask(cmd("2026-02-28T10:00:00.000Z"), task, { due_date: "2026-03-03T08:00:00.000Z" });
    if (!d.ok || !d.event) throw new Error("refused");
    expect(d.event.event_type === "task.updated" && d.event.data.changes.next_occurrence).toEqual({
      old: "2026-03-02T08:00:00.000Z",
      new: "2026-03-03T08:00:00.000Z",
    });
    const b = run(a.state, [[d.event], [completed(series.task.id, "2026-03-03T09:00:00.000Z")]], a.seen);
    expect(b.applied.find((e) => e.event_type === "recurring.spawned")?.data).toMatchObject({ occurrence: "2026-03-10T08:00:00.000Z" });
  });

  it("a series due date moved past its current instance does not make the series current again (the instance stays current)", () => {
    const a = withFirstInstance(); // instance 1 due March 9 is current
    const moved = updateTask(cmd("2026-03-03T10:00:00.000Z"), a.state.tasks.get(series.task.id) as Task, {
      due_date: "2026-03-16T08:00:00.000Z",
    });
    if (!moved.ok || !moved.event) throw new Error("refused");
    const b = run(a.state, [[moved.event]], a.seen);
    const retitled = updateTask(cmd("2026-03-03T11:00:00.000Z"), b.state.tasks.get(series.task.id) as Task, { title: "Water them" });
    if (!retitled.ok || !retitled.event) throw new Error("refused");
    const c = run(b.state, [[retitled.event]], b.seen);
    expect(c.state.tasks.get(series.task.id)?.next_occurrence).toBe(first);
    const d = run(c.state, [[completed(instanceId(series.task.id, first), "2026-03-09T09:00:00.000Z")]], c.seen);
    expect(spawnedIds(d.applied)).toHaveLength(1);
  });

  it("a task.created written before series were their own first instance (next_occurrence past its start) still spawns its first instance", () => {
    const legacy = newEvent(
      "task.created",
      { ...on(id("legacy"), now), event_id: id("legacy-created") },
      { task: { ...(series.event.data as { task: TaskFields }).task, next_occurrence: first } },
    );
    const a = run(emptyUser(U), [[legacy]]);
    expect(spawnedIds(a.applied)).toEqual([instanceId(id("legacy"), first)]);
  });

  it("a plain task given an after_completion rule is its own first instance too", () => {
    const plain = created(now, { title: "Plain", due_date: "2026-03-02T08:00:00.000Z" });
    const a = run(emptyUser(U), [[plain.event]]);
    const d = updateTask(cmd(now), a.state.tasks.get(plain.task.id) as Task, {
      recurrence_rule: "FREQ=WEEKLY",
      recurrence_mode: "after_completion",
    });
    if (!d.ok || !d.event) throw new Error("refused");
    const b = run(a.state, [[d.event]], a.seen);
    expect(b.applied.map((e) => e.event_type)).toEqual(["task.updated"]);
    expect(b.state.tasks.get(plain.task.id)?.next_occurrence).toBe("2026-03-02T08:00:00.000Z");
    const c = run(b.state, [[completed(plain.task.id, "2026-03-02T09:00:00.000Z")]], b.seen);
    expect(spawnedIds(c.applied)).toEqual([instanceId(plain.task.id, first)]);
  });
});

describe("schedule mode edits", () => {
  it("moving the rule changes only the next occurrence (future instances), never into the past", () => {
    const s = created("2026-02-27T10:00:00.000Z", { title: "Sync", due_date: "2026-03-02T08:00:00.000Z", recurrence_rule: "FREQ=WEEKLY" });
    expect(s.task.recurrence_mode).toBe("schedule");
    expect(s.event.event_type === "task.created" && "recurrence_mode" in s.event.data.task).toBe(false);
    const a = run(emptyUser(U), [[s.event]]);
    // No after_completion spawn for a schedule series.
    expect(a.applied.map((e) => e.event_type)).toEqual(["task.created"]);
    const task = a.state.tasks.get(s.task.id) as Task;
    const d = updateTask(cmd("2026-03-10T10:00:00.000Z"), task, { recurrence_rule: "FREQ=WEEKLY;BYDAY=WE" });
    expect(d.ok && d.event?.event_type === "task.updated" && d.event.data.changes.next_occurrence).toEqual({
      old: "2026-03-09T08:00:00.000Z",
      new: "2026-03-11T08:00:00.000Z",
    });
    // Switched to after_completion: its first instance comes at once, in the same batch.
    const m = updateTask(cmd("2026-03-10T10:00:00.000Z"), task, { recurrence_mode: "after_completion" });
    if (!m.ok || !m.event) throw new Error("refused");
    const b = run(a.state, [[m.event]], a.seen);
    expect(b.applied.map((e) => e.event_type)).toEqual(["task.updated", "recurring.spawned"]);
  });
});

describe("deleting a series", () => {
  const withInstance = () => {
    const s = created("2026-02-27T10:00:00.000Z", {
      title: "Sync",
      due_date: "2026-03-02T08:00:00.000Z",
      recurrence_rule: "FREQ=WEEKLY",
      recurrence_mode: "after_completion",
      reminders: [{ before: "PT1H" }],
    });
    const made = run(emptyUser(U), [[s.event]]);
    const done = newEvent(
      "task.completed",
      { user_id: U, aggregate_id: s.task.id, correlation_id: CORR, timestamp: "2026-03-02T09:00:00.000Z" },
      { completed_at: "2026-03-02T09:00:00.000Z" },
    );
    const a = run(made.state, [[done]], made.seen);
    const k = instanceId(s.task.id, "2026-03-09T08:00:00.000Z");
    expect(a.state.tasks.get(k)?.reminders).toHaveLength(1);
    const deletion = (at: string) =>
      newEvent("task.deleted", { user_id: U, aggregate_id: s.task.id, correlation_id: CORR, timestamp: at }, {});
    return { s, a, k, deletion };
  };

  it("stops it and deletes its instance still to come by an event of its own (the same one when redelivered); nothing spawns", () => {
    const { s, a, k, deletion } = withInstance();
    const del = deletion("2026-03-03T10:00:00.000Z");
    const b = run(a.state, [[del]], new Set(a.seen));
    expect(b.applied.map((e) => [e.event_type, e.aggregate_id])).toEqual([
      ["task.deleted", s.task.id],
      ["task.deleted", k],
    ]);
    expect([b.state.tasks.get(s.task.id), b.state.tasks.get(k)]).toEqual([null, null]);
    const again = run(a.state, [[del]], new Set(a.seen));
    expect(again.applied.map((e) => e.event_id)).toEqual(b.applied.map((e) => e.event_id));
  });

  it("leaves an instance already due in place, without the reminders it has not fired (as logs from before replay)", () => {
    const { s, a, k, deletion } = withInstance();
    const b = run(a.state, [[deletion("2026-03-09T08:30:00.000Z")]], a.seen);
    expect(b.applied.map((e) => e.aggregate_id)).toEqual([s.task.id]);
    expect(b.state.tasks.get(k)).toMatchObject({ status: "pending", due_date: "2026-03-09T08:00:00.000Z", reminders: [] });
  });
});

describe("timezone move of an after_completion series", () => {
  it("moves its zone and anchor but keeps next_occurrence (its current instance's due date)", () => {
    const series = {
      id: id("s"),
      timezone: "Europe/Berlin",
      due_date: "2026-03-02T08:00:00.000Z",
      created_at: "2026-02-27T10:00:00.000Z",
      updated_at: "2026-02-27T10:00:00.000Z",
      recurrence_rule: "FREQ=WEEKLY",
      next_occurrence: "2026-03-09T08:00:00.000Z",
    };
    const settings = { event_id: id("settings"), user_id: U, correlation_id: CORR, timestamp: "2026-03-03T10:00:00.000Z" };
    const now = new Date("2026-03-03T10:00:00.000Z");
    const [byClock] = timezoneMoveEvents(settings, "Asia/Kolkata", [series], now);
    expect(byClock?.data.changes.next_occurrence).toBeDefined();
    const [afterCompletion] = timezoneMoveEvents(settings, "Asia/Kolkata", [{ ...series, recurrence_mode: "after_completion" }], now);
    expect(afterCompletion?.data.changes.timezone).toEqual({ old: "Europe/Berlin", new: "Asia/Kolkata" });
    expect(afterCompletion?.data.changes.next_occurrence).toBeUndefined();
    // Before its first completion it is its own current instance: next_occurrence is its due date, and moves with it.
    const own = { ...series, recurrence_mode: "after_completion" as const, next_occurrence: series.due_date };
    const [moved] = timezoneMoveEvents(settings, "Asia/Kolkata", [own], now);
    expect(moved?.data.changes.next_occurrence).toEqual({ old: series.due_date, new: moved?.data.changes.due_date?.new });
  });
});
