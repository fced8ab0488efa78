/** Recurrence modes and series edits, on the domain rules (issue 16). */
import { describe, expect, it } from "vitest";
import { newEvent } from "./contracts/envelope.ts";
import type { AppliedEvent, TaskEvent } from "./contracts/events.ts";
import { evolveBatch } from "./domain/batch.ts";
import { createTask, skipOccurrence, updateTask } from "./domain/decide.ts";
import { emptyUser, type Task, type UserState } from "./domain/model.ts";
import { nameBasedUuid } from "./ids.ts";
import { afterCompletionSpawns, instanceId, timezoneMoveEvents } from "./series.ts";

const U = "alice";
const id = (n: string) => nameBasedUuid("series-modes.test", n);
const CORR = id("corr");
let counter = 0;
const cmd = (now: string) => ({ user_id: U, correlation_id: CORR, now, newId: () => id(`new-${++counter}`) });
const followUps = (applied: AppliedEvent, state: UserState, was: Task | null): TaskEvent[] =>
  afterCompletionSpawns(applied, state.tasks, was);

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

  it("spawns the first instance with the series, then instance k+1 once when k is completed", () => {
    expect(series.task.recurrence_mode).toBe("after_completion");
    const first = "2026-03-09T08:00:00.000Z";
    expect(series.task.next_occurrence).toBe(first);
    const a = run(emptyUser(U), [[series.event]]);
    const spawned = a.applied.filter((e) => e.event_type === "recurring.spawned");
    expect(spawned.map((e) => e.aggregate_id)).toEqual([instanceId(series.task.id, first)]);
    expect(spawned[0]?.data).toMatchObject({
      occurrence: first,
      task: { reminders: [{ before: "PT1H", remind_at: "2026-03-09T07:00:00.000Z" }] },
    });
    expect(a.state.tasks.get(series.task.id)?.next_occurrence).toBe(first);

    // Completed late, on Wednesday 2026-03-11: the next is the Monday after that.
    const k = instanceId(series.task.id, first);
    const done = newEvent(
      "task.completed",
      { user_id: U, aggregate_id: k, correlation_id: CORR, event_id: id("done"), timestamp: "2026-03-11T12:00:00.000Z" },
      { completed_at: "2026-03-11T12:00:00.000Z" },
    );
    const b = run(a.state, [[done], [done]], a.seen);
    const next = "2026-03-16T08:00:00.000Z";
    expect(b.applied.filter((e) => e.event_type === "recurring.spawned").map((e) => e.aggregate_id)).toEqual([
      instanceId(series.task.id, next),
    ]);
    expect(b.state.tasks.get(series.task.id)?.next_occurrence).toBe(next);
    // The same completion redelivered (above), or k reopened and completed again: nothing more.
    const reopen = newEvent(
      "task.uncompleted",
      { user_id: U, aggregate_id: k, correlation_id: CORR, timestamp: "2026-03-11T12:01:00.000Z" },
      {},
    );
    const again = newEvent(
      "task.completed",
      { user_id: U, aggregate_id: k, correlation_id: CORR, timestamp: "2026-03-11T12:02:00.000Z" },
      { completed_at: "2026-03-11T12:02:00.000Z" },
    );
    const c = run(b.state, [[reopen, again]], b.seen);
    expect(c.applied.filter((e) => e.event_type === "recurring.spawned")).toEqual([]);
  });

  it("completed early, the next instance is the occurrence after the current one's own due date", () => {
    const a = run(emptyUser(U), [[series.event]]);
    const k = instanceId(series.task.id, "2026-03-09T08:00:00.000Z");
    const early = newEvent(
      "task.completed",
      { user_id: U, aggregate_id: k, correlation_id: CORR, timestamp: "2026-03-05T12:00:00.000Z" },
      { completed_at: "2026-03-05T12:00:00.000Z" },
    );
    const b = run(a.state, [[early]], a.seen);
    expect(b.applied.find((e) => e.event_type === "recurring.spawned")?.data).toMatchObject({ occurrence: "2026-03-16T08:00:00.000Z" });
  });

  it("deleting the current instance (which can then never be completed) spawns the next; deleting an earlier one does not", () => {
    const a = run(emptyUser(U), [[series.event]]);
    const k = instanceId(series.task.id, "2026-03-09T08:00:00.000Z");
    const deleted = newEvent(
      "task.deleted",
      { user_id: U, aggregate_id: k, correlation_id: CORR, timestamp: "2026-03-05T12:00:00.000Z" },
      {},
    );
    const b = run(a.state, [[deleted, deleted]], a.seen);
    const next = "2026-03-16T08:00:00.000Z";
    expect(b.applied.filter((e) => e.event_type === "recurring.spawned").map((e) => e.aggregate_id)).toEqual([
      instanceId(series.task.id, next),
    ]);
    expect(b.state.tasks.get(series.task.id)?.next_occurrence).toBe(next);
    // Instance k+1 completed; deleting k+1 afterwards (no longer current) spawns nothing more.
    const k1 = instanceId(series.task.id, next);
    const done = newEvent(
      "task.completed",
      { user_id: U, aggregate_id: k1, correlation_id: CORR, timestamp: "2026-03-16T09:00:00.000Z" },
      { completed_at: "2026-03-16T09:00:00.000Z" },
    );
    const gone = newEvent(
      "task.deleted",
      { user_id: U, aggregate_id: k1, correlation_id: CORR, timestamp: "2026-03-16T10:00:00.000Z" },
      {},
    );
    const c = run(b.state, [[done], [gone]], b.seen);
    expect(c.applied.filter((e) => e.event_type === "recurring.spawned").map((e) => e.data)).toMatchObject([
      { occurrence: "2026-03-23T08:00:00.000Z" },
    ]);
  });

  it("an edit of the rule leaves the current instance's occurrence alone; skipping is refused", () => {
    const a = run(emptyUser(U), [[series.event]]);
    const task = a.state.tasks.get(series.task.id) as Task;
    const d = updateTask(cmd("2026-03-03T10:00:00.000Z"), task, { recurrence_rule: "FREQ=DAILY" });
    expect(d.ok && d.event?.event_type === "task.updated" && d.event.data.changes).toEqual({
      recurrence_rule: { old: "FREQ=WEEKLY", new: "FREQ=DAILY" },
    });
    expect(skipOccurrence(cmd("2026-03-03T10:00:00.000Z"), task)).toMatchObject({ ok: false, refusal: { kind: "conflict" } });
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
  it("stops it and takes the reminders its pending instances have not fired yet", () => {
    const s = created("2026-02-27T10:00:00.000Z", {
      title: "Sync",
      due_date: "2026-03-02T08:00:00.000Z",
      recurrence_rule: "FREQ=WEEKLY",
      recurrence_mode: "after_completion",
      reminders: [{ before: "PT1H" }],
    });
    const a = run(emptyUser(U), [[s.event]]);
    const k = instanceId(s.task.id, "2026-03-09T08:00:00.000Z");
    expect(a.state.tasks.get(k)?.reminders).toHaveLength(1);
    const del = newEvent(
      "task.deleted",
      { user_id: U, aggregate_id: s.task.id, correlation_id: CORR, timestamp: "2026-03-03T10:00:00.000Z" },
      {},
    );
    const b = run(a.state, [[del]], a.seen);
    expect(b.state.tasks.get(s.task.id)).toBeNull();
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
  });
});
