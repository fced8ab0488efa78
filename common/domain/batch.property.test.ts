/**
 * Property tests of evolveBatch over arbitrary sequences of valid events (built with newEvent
 * and checked by the event schema) on a small pool of users, tasks, tags, reminders and instants,
 * so that events on deleted or never-created tasks, name clashes, stale updates, late spawns and
 * redelivered duplicates are frequent. The invariants are those the old SQL handlers kept.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { taskFields } from "../../test/harness.ts";
import { eventProblems, newEvent } from "../contracts/envelope.ts";
import type { AppliedEvent, EventOf, EventType, ReminderSpec, TaskEvent, TaskFields } from "../contracts/events.ts";
import { nameBasedUuid } from "../ids.ts";
import { type BatchOutcome, evolveBatch, rejectionId } from "./batch.ts";
import { evolve } from "./evolve.ts";
import { emptyUser, instant, type UserState } from "./model.ts";

const SYSTEM = new Set<EventType>(["reminder.triggered", "recurring.spawned", "write.rejected"]);
const CORR = nameBasedUuid("batch.property", "correlation");
const uuid = (...parts: string[]): string => nameBasedUuid("batch.property", parts.join("/"));

/** 2026-01-10 12:00Z plus `min` minutes. */
const minute = (min: number): string => new Date(Date.UTC(2026, 0, 10, 12, min)).toISOString();
const DUE = ["2026-02-01T09:00:00.000Z", "2026-02-02T18:30:00.000Z"];
const BEFORE: Record<string, number> = { PT1H: 3_600_000, P1D: 86_400_000 }; // no DST change near DUE
const AT = [minute(30), minute(45)];
/** Every instant a reminder of the pool can fire at, so that triggers often match. */
const REMIND_AT = [...DUE.flatMap((d) => Object.values(BEFORE).map((ms) => new Date(Date.parse(d) - ms).toISOString())), ...AT];
const OCCURRENCES = ["2026-01-12T09:00:00.000Z", "2026-01-13T09:00:00.000Z", "2026-01-14T09:00:00.000Z"];
const TIMEZONES = ["UTC", "Europe/Berlin"];
const NAMES = ["work", "Work", "home", "HOME", "x"];

interface Pool {
  users: string[];
  tasks: number;
  tags: number;
  /** Timestamps are minute(0..minutes): few enough that stale and same-instant writes are common. */
  minutes: number;
}
const SMALL: Pool = { users: ["u1", "u2"], tasks: 4, tags: 3, minutes: 20 };

const taskId = (user: string, i: number) => uuid(user, "task", String(i));
const tagId = (user: string, i: number) => uuid(user, "tag", String(i));
const reminderId = (task: string, i: number) => uuid(task, "reminder", String(i));

/** An event, given the id it gets (ids are unique per position; duplicates repeat an earlier event). */
type Build = (eventId: string) => TaskEvent;

function eventArb(pool: Pool): fc.Arbitrary<Build> {
  const user = fc.constantFrom(...pool.users);
  const ts = fc.integer({ min: 0, max: pool.minutes }).map(minute);
  const task = (u: string) => fc.integer({ min: 0, max: pool.tasks - 1 }).map((i) => taskId(u, i));
  const tagOf = (u: string) => fc.integer({ min: 0, max: pool.tags - 1 }).map((i) => tagId(u, i));
  const names = fc.array(fc.constantFrom(...NAMES), { maxLength: 3 });
  const due = fc.option(fc.constantFrom(...DUE), { freq: 3 });
  const occurrence = fc.constantFrom(...OCCURRENCES);
  const reminder = (t: string, dueDate: string | null): fc.Arbitrary<ReminderSpec> =>
    fc
      .record({
        i: fc.integer({ min: 0, max: 2 }),
        before: fc.constantFrom(...Object.keys(BEFORE)),
        at: fc.constantFrom(...AT),
        rel: fc.boolean(),
      })
      .map(({ i, before, at, rel }) =>
        rel && dueDate !== null
          ? { id: reminderId(t, i), before, remind_at: new Date(Date.parse(dueDate) - (BEFORE[before] ?? 0)).toISOString() }
          : { id: reminderId(t, i), at, remind_at: at },
      );
  const taskFields = (t: string, parent: string | null): fc.Arbitrary<TaskFields> =>
    due.chain((dueDate) =>
      fc.record({
        title: fc.constantFrom("a", "b", "Pay rent"),
        description: fc.constantFrom(null, "d"),
        priority: fc.constantFrom("low" as const, "medium" as const, "urgent" as const),
        due_date: fc.constant(dueDate),
        timezone: fc.constantFrom(...TIMEZONES),
        recurrence_rule: fc.constantFrom(null, "FREQ=DAILY"),
        next_occurrence: fc.option(occurrence),
        parent_task_id: fc.constant(parent),
        tags: names,
        reminders: fc.array(reminder(t, dueDate), { maxLength: 2 }),
      }),
    );
  const make =
    <K extends EventType>(type: K, u: string, aggregate: string, at: string, data: EventOf<K>["data"]): Build =>
    (eventId) =>
      newEvent(type, { user_id: u, aggregate_id: aggregate, correlation_id: CORR, timestamp: at, event_id: eventId }, data) as TaskEvent;

  const onTask = <T>(f: (u: string, t: string, at: string) => fc.Arbitrary<T>) =>
    fc.tuple(user, ts).chain(([u, at]) => task(u).chain((t) => f(u, t, at)));

  return fc.oneof(
    { weight: 4, arbitrary: onTask((u, t, at) => taskFields(t, null).map((f) => make("task.created", u, t, at, { task: f }))) },
    {
      weight: 5,
      arbitrary: onTask((u, t, at) =>
        fc
          .record(
            {
              title: fc.constantFrom("a", "b", "c").map((v) => ({ old: "?", new: v })),
              priority: fc.constantFrom("low" as const, "high" as const).map((v) => ({ old: "medium" as const, new: v })),
              due_date: fc.option(fc.constantFrom(...DUE)).map((v) => ({ old: null, new: v })),
              timezone: fc.constantFrom(...TIMEZONES).map((v) => ({ old: "UTC", new: v })),
              next_occurrence: fc.option(occurrence).map((v) => ({ old: null, new: v })),
              tags: names.map((v) => ({ old: [], new: v })),
            },
            { requiredKeys: [] },
          )
          .map((changes) => make("task.updated", u, t, at, { changes })),
      ),
    },
    { weight: 2, arbitrary: onTask((u, t, at) => fc.constant(make("task.completed", u, t, at, { completed_at: at }))) },
    { weight: 1, arbitrary: onTask((u, t, at) => fc.constant(make("task.uncompleted", u, t, at, {}))) },
    { weight: 1, arbitrary: onTask((u, t, at) => fc.constant(make("task.deleted", u, t, at, {}))) },
    {
      weight: 2,
      arbitrary: onTask((u, instance, at) =>
        fc
          .tuple(task(u), occurrence, fc.option(occurrence), fc.boolean())
          .chain(([parent, occ, next, late]) =>
            taskFields(instance, parent).map((f) =>
              make("recurring.spawned", u, instance, at, { occurrence: occ, parent_next_occurrence: next, late, task: f }),
            ),
          ),
      ),
    },
    {
      weight: 1,
      arbitrary: onTask((u, t, at) =>
        fc
          .tuple(occurrence, fc.option(occurrence))
          .map(([occ, next]) => make("recurring.skipped", u, t, at, { occurrence: occ, next_occurrence: next })),
      ),
    },
    {
      weight: 1,
      // A skip as ingest writes it now.
      arbitrary: onTask((u, t, at) =>
        fc
          .tuple(occurrence, fc.option(occurrence))
          .map(([occ, next]) => make("task.updated", u, t, at, { changes: { next_occurrence: { old: occ, new: next } }, skip: true })),
      ),
    },
    {
      weight: 2,
      arbitrary: onTask((u, t, at) => due.chain((d) => reminder(t, d)).map((r) => make("reminder.created", u, t, at, { reminder: r }))),
    },
    {
      weight: 1,
      arbitrary: onTask((u, t, at) =>
        fc.integer({ min: 0, max: 2 }).map((i) => make("reminder.deleted", u, t, at, { reminder_id: reminderId(t, i) })),
      ),
    },
    {
      weight: 3,
      arbitrary: onTask((u, t, at) =>
        fc
          .tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom(...REMIND_AT), fc.boolean())
          .map(([i, remindAt, late]) =>
            make("reminder.triggered", u, t, at, { reminder_id: reminderId(t, i), remind_at: remindAt, fired_at: at, late, title: "t" }),
          ),
      ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(user, ts)
        .chain(([u, at]) =>
          fc
            .tuple(tagOf(u), fc.constantFrom(...NAMES), fc.constantFrom(null, "red"))
            .map(([g, name, color]) => make("tag.created", u, g, at, { name, color })),
        ),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(user, ts).chain(([u, at]) =>
        fc
          .tuple(
            tagOf(u),
            fc.record(
              {
                name: fc.constantFrom(...NAMES).map((v) => ({ old: "?", new: v })),
                color: fc.constantFrom(null, "blue").map((v) => ({ old: null, new: v })),
              },
              { requiredKeys: [] },
            ),
          )
          .map(([g, changes]) => make("tag.updated", u, g, at, { changes })),
      ),
    },
    { weight: 1, arbitrary: fc.tuple(user, ts).chain(([u, at]) => tagOf(u).map((g) => make("tag.deleted", u, g, at, {}))) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(user, ts, fc.constantFrom(...TIMEZONES))
        .map(([u, at, tz]) => make("settings.updated", u, u, at, { changes: { timezone: { old: "UTC", new: tz } } })),
    },
    {
      // A write.rejected already on the log (redelivered from elsewhere): applies like any event.
      weight: 1,
      arbitrary: onTask((u, t, at) =>
        fc.constant(
          make("write.rejected", u, t, at, {
            event_id: uuid("elsewhere", t, at),
            event_type: "task.updated",
            correlation_id: CORR,
            reason: "superseded",
            message: "m",
          }),
        ),
      ),
    },
    {
      // Names nothing that could exist: refused as invalid.
      weight: 1,
      arbitrary: fc
        .tuple(user, ts)
        .map(([u, at]) => make("task.updated", u, "not-a-uuid", at, { changes: { title: { old: "?", new: "x" } } })),
    },
  );
}

/** A sequence of valid events, about one in eight a redelivery of an earlier one (same event, same id). */
function eventsArb(pool: Pool, maxLength: number, minLength = 0): fc.Arbitrary<TaskEvent[]> {
  return fc
    .array(fc.oneof({ weight: 7, arbitrary: eventArb(pool) }, { weight: 1, arbitrary: fc.nat() }), { minLength, maxLength })
    .map((steps) => {
      const events: TaskEvent[] = [];
      steps.forEach((step, i) => {
        if (typeof step === "number") {
          const earlier = events[step % Math.max(events.length, 1)];
          if (earlier) events.push(earlier);
          return;
        }
        const e = step(uuid("event", String(i)));
        const problems = eventProblems(e);
        if (problems.length > 0) throw new Error(`generated an invalid event: ${problems.join("; ")} ${JSON.stringify(e)}`);
        events.push(e);
      });
      return events;
    });
}

const seqsArb = (pool: Pool) => fc.tuple(...pool.users.map(() => fc.integer({ min: 0, max: 5 })));

/**
 * Empty users sharing one versions map, as the processors load them (one map for every aggregate of
 * the batch), holding a version of each user's settings already.
 */
function initial(pool: Pool, seqList: number[]): { states: Map<string, UserState>; seqs: Map<string, number> } {
  const versions = new Map(pool.users.map((u, i) => [u, i + 2]));
  return {
    states: new Map(pool.users.map((u) => [u, { ...emptyUser(u), versions }])),
    seqs: new Map(pool.users.map((u, i) => [u, seqList[i] ?? 0])),
  };
}

/**
 * The applied events with the timestamps of the write.rejected events the batch made blanked: a
 * batch stamps those with the clock (rejectionOf calls newEvent without a timestamp), so two runs
 * differ there and only there.
 */
const unclocked = (applied: readonly AppliedEvent[], made: ReadonlySet<string>) =>
  applied.map((e) => (made.has(e.event_id) ? { ...e, timestamp: "(clock)" } : e));
const unclockedActivity = (activity: BatchOutcome["activity"], made: ReadonlySet<string>) =>
  activity.map((a) => (made.has(a.event_id) ? { ...a, created_at: "(clock)" } : a));

/** Plain data for deep comparison (Maps become sorted entry lists). */
function plain(states: ReadonlyMap<string, UserState>) {
  return [...states]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, s]) => ({
      id,
      timezone: s.timezone,
      tasks: [...s.tasks].sort(([a], [b]) => a.localeCompare(b)),
      tags: s.tags ? [...s.tags].sort(([a], [b]) => a.localeCompare(b)) : null,
      versions: [...s.versions].sort(([a], [b]) => a.localeCompare(b)),
    }));
}

/** The invariants of one batch's outcome, given what it started from. */
function checkInvariants(
  states: ReadonlyMap<string, UserState>,
  seqs: ReadonlyMap<string, number>,
  events: TaskEvent[],
  out: BatchOutcome,
) {
  // Seqs per user: contiguous, strictly by one, in applied order; the final seq is the last one.
  const lastSeq = new Map(seqs);
  for (const e of out.applied) {
    const next = (lastSeq.get(e.user_id) ?? 0) + 1;
    expect(e.seq).toBe(next);
    lastSeq.set(e.user_id, next);
  }
  expect(new Map([...out.seqs].filter(([, s]) => s > 0))).toEqual(new Map([...lastSeq].filter(([, s]) => s > 0)));

  // Versions per aggregate strictly by one; the state's versions and each task's version agree.
  const lastVersion = new Map<string, number>();
  for (const e of out.applied) {
    const key = `${e.user_id}\u0000${e.aggregate_id}`;
    const start = lastVersion.get(key) ?? states.get(e.user_id)?.versions.get(e.aggregate_id) ?? 0;
    expect(e.version).toBe(start + 1);
    lastVersion.set(key, e.version);
  }
  for (const [key, v] of lastVersion) {
    const [user = "", aggregate = ""] = key.split("\u0000");
    expect(out.states.get(user)?.versions.get(aggregate)).toBe(v);
  }
  for (const s of out.states.values())
    for (const [id, task] of s.tasks) if (task) expect(task.version, `version of task ${id}`).toBe(s.versions.get(id));

  // No event applied twice; every rejected write answered by exactly one write.rejected, system events never.
  const appliedIds = out.applied.map((e) => e.event_id);
  expect(new Set(appliedIds).size).toBe(appliedIds.length);
  const rejectedIds = new Set(out.rejected.map((r) => r.event.event_id));
  // A write is rejected once however often it comes (its write.rejected is then seen); a system event
  // leaves no trace when it does not apply, so each delivery of it is evaluated (and refused) again.
  const rejectedWrites = out.rejected.filter((r) => !SYSTEM.has(r.event.event_type)).map((r) => r.event.event_id);
  expect(new Set(rejectedWrites).size).toBe(rejectedWrites.length);
  for (const r of out.rejected) {
    const notices = out.applied.filter((e) => e.event_type === "write.rejected" && e.data.event_id === r.event.event_id);
    if (SYSTEM.has(r.event.event_type)) {
      expect(notices).toEqual([]);
      continue;
    }
    expect(appliedIds).not.toContain(r.event.event_id);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({
      event_id: rejectionId(r.event.event_id),
      user_id: r.event.user_id,
      aggregate_id: r.event.aggregate_id,
      correlation_id: r.event.correlation_id,
      data: { event_type: r.event.event_type, reason: r.code, correlation_id: r.event.correlation_id },
    });
  }
  // Every write.rejected the batch made answers a rejection of this batch.
  const inputIds = new Set(events.map((e) => e.event_id));
  for (const e of out.applied)
    if (!inputIds.has(e.event_id)) expect(e.event_type === "write.rejected" && rejectedIds.has(e.data.event_id)).toBe(true);

  // Tags: unique per user case-insensitively; a task carries each at most once, by the tag's spelling, sorted.
  for (const s of out.states.values()) {
    if (!s.tags) continue;
    const names = [...s.tags.values()].map((t) => t.name);
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(names.length);
    for (const task of s.tasks.values()) {
      if (!task) continue;
      for (const name of task.tags) expect(names, `tag "${name}" of task ${task.id}`).toContain(name);
      expect(new Set(task.tags.map((n) => n.toLowerCase())).size).toBe(task.tags.length);
      expect(task.tags).toEqual([...task.tags].sort());
      expect(new Set(task.reminders.map((r) => r.id)).size, `reminder ids of task ${task.id}`).toBe(task.reminders.length);
    }
  }
}

/**
 * Replays the applied events alone (as replay does from the event store) over the states the batch
 * started from: each applies again with the same version and data, and the states end the same.
 * On the way: a task's updated_at never moves back, and a reminder notifies only while its task is
 * pending (by an oracle of its own, from the applied events) and only once until it is moved.
 */
function checkReplay(states: ReadonlyMap<string, UserState>, applied: AppliedEvent[], final: ReadonlyMap<string, UserState>) {
  const replayed = new Map(states);
  const status = new Map<string, "pending" | "completed">();
  const notified = new Set<string>();
  const forgetReminders = (task: string) => {
    for (const key of notified) if (key.startsWith(`${task}/`)) notified.delete(key);
  };
  for (const e of applied) {
    const before = replayed.get(e.user_id) as UserState;
    const outcome = evolve(before, e);
    if (outcome.kind !== "applied") throw new Error(`replay of ${e.event_type} ${e.event_id}: ${JSON.stringify(outcome)}`);
    expect(outcome.version).toBe(e.version);
    expect(outcome.data ?? e.data).toEqual(e.data);
    for (const [id, was] of before.tasks) {
      const now = outcome.state.tasks.get(id);
      if (was && now && now.created_at === was.created_at && !(e.event_type === "task.created"))
        expect(instant(now.updated_at), `updated_at of ${id} after ${e.event_type}`).toBeGreaterThanOrEqual(instant(was.updated_at));
    }
    replayed.set(e.user_id, outcome.state);

    const key = (reminder: string) => `${e.aggregate_id}/${reminder}`;
    switch (e.event_type) {
      case "task.created":
      case "recurring.spawned":
      case "task.deleted":
        forgetReminders(e.aggregate_id);
        if (e.event_type === "task.deleted") status.delete(e.aggregate_id);
        else status.set(e.aggregate_id, "pending");
        break;
      case "task.completed":
        status.set(e.aggregate_id, "completed");
        break;
      case "task.uncompleted":
        status.set(e.aggregate_id, "pending");
        break;
      case "task.updated":
        if ("due_date" in e.data.changes) forgetReminders(e.aggregate_id);
        break;
      case "reminder.deleted":
        notified.delete(key(e.data.reminder_id));
        break;
      case "reminder.triggered":
        expect(status.get(e.aggregate_id), `status of ${e.aggregate_id} when its reminder notified`).toBe("pending");
        expect(notified.has(key(e.data.reminder_id)), `reminder ${e.data.reminder_id} notified twice`).toBe(false);
        notified.add(key(e.data.reminder_id));
        break;
      default:
        break;
    }
  }
  expect(plain(replayed)).toEqual(plain(final));
}

// Generous timeouts: the properties run hundreds of sequences, and CI boxes are shared.
describe("evolveBatch over any valid event sequence", { timeout: 60_000 }, () => {
  it("keeps seqs and versions contiguous, answers every rejected write once, keeps tags and reminders consistent", () => {
    fc.assert(
      fc.property(seqsArb(SMALL), eventsArb(SMALL, 60), (seqList, events) => {
        const { states, seqs } = initial(SMALL, seqList);
        const out = evolveBatch(states, seqs, events, new Set());
        checkInvariants(states, seqs, events, out);
        expect(plain(states)).toEqual(plain(initial(SMALL, seqList).states));
      }),
      { numRuns: 300 },
    );
  });

  it("with the users' tags not loaded, task events take names as written (each once, sorted) and leave tags unloaded", () => {
    // The processors load a user's tags for every batch with a tag event (batchKeys), so only task events come here.
    fc.assert(
      fc.property(seqsArb(SMALL), eventsArb(SMALL, 60), (seqList, all) => {
        const events = all.filter((e) => !e.event_type.startsWith("tag."));
        const { seqs } = initial(SMALL, seqList);
        const states = new Map(SMALL.users.map((u) => [u, { ...emptyUser(u), tags: null }]));
        const out = evolveBatch(states, seqs, events, new Set());
        checkInvariants(states, seqs, events, out);
        for (const s of out.states.values()) {
          expect(s.tags).toBeNull();
          for (const task of s.tasks.values()) {
            if (!task) continue;
            expect(new Set(task.tags.map((n) => n.toLowerCase())).size).toBe(task.tags.length);
            expect(task.tags).toEqual([...task.tags].sort());
          }
        }
        checkReplay(states, out.applied, out.states);
      }),
      { numRuns: 200 },
    );
  });

  it("replay of the applied events alone equals live (same versions, data and states; updated_at monotonic; reminders once, only pending)", () => {
    fc.assert(
      fc.property(seqsArb(SMALL), eventsArb(SMALL, 60), (seqList, events) => {
        const { states, seqs } = initial(SMALL, seqList);
        const out = evolveBatch(states, seqs, events, new Set());
        checkReplay(states, out.applied, out.states);
      }),
      { numRuns: 300 },
    );
  });

  it("the same events in two consecutive batches (states, seqs and applied ids carried over) give the same result as one", () => {
    fc.assert(
      fc.property(
        seqsArb(SMALL),
        eventsArb(SMALL, 60).chain((events) => fc.tuple(fc.constant(events), fc.integer({ min: 0, max: events.length }))),
        (seqList, [events, cut]) => {
          const { states, seqs } = initial(SMALL, seqList);
          const whole = evolveBatch(states, seqs, events, new Set());
          const first = evolveBatch(states, seqs, events.slice(0, cut), new Set());
          const snapshot = plain(first.states);
          const second = evolveBatch(first.states, first.seqs, events.slice(cut), new Set(first.applied.map((e) => e.event_id)));
          // A batch changes nothing it was given (it copies what it changes first).
          expect(plain(first.states)).toEqual(snapshot);
          const made = new Set(events.map((e) => rejectionId(e.event_id)));
          expect(unclocked([...first.applied, ...second.applied], made)).toEqual(unclocked(whole.applied, made));
          expect(unclockedActivity([...first.activity, ...second.activity], made)).toEqual(unclockedActivity(whole.activity, made));
          expect([...first.rejected, ...second.rejected]).toEqual(whole.rejected);
          expect(first.skipped + second.skipped).toBe(whole.skipped);
          expect(plain(second.states)).toEqual(plain(whole.states));
          expect(second.seqs).toEqual(whole.seqs);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("evolving the same events again with every id seen applies nothing and changes nothing", () => {
    fc.assert(
      fc.property(seqsArb(SMALL), eventsArb(SMALL, 60), (seqList, events) => {
        const { states, seqs } = initial(SMALL, seqList);
        const once = evolveBatch(states, seqs, events, new Set());
        const again = evolveBatch(once.states, once.seqs, events, new Set(events.map((e) => e.event_id)));
        expect(again.applied).toEqual([]);
        expect(again.rejected).toEqual([]);
        expect(again.skipped).toBe(0);
        expect(plain(again.states)).toEqual(plain(once.states));
        expect(again.seqs).toEqual(once.seqs);
      }),
      { numRuns: 300 },
    );
  });

  it("a redelivered batch (seen = what the first delivery stored) applies no write it answered, and answers none twice", () => {
    fc.assert(
      fc.property(seqsArb(SMALL), eventsArb(SMALL, 60), (seqList, events) => {
        const { states, seqs } = initial(SMALL, seqList);
        const once = evolveBatch(states, seqs, events, new Set());
        const again = evolveBatch(once.states, once.seqs, events, new Set(once.applied.map((e) => e.event_id)));
        const answered = new Set(once.rejected.filter((r) => !SYSTEM.has(r.event.event_type)).map((r) => r.event.event_id));
        for (const e of again.applied)
          expect(answered.has(e.event_id), `${e.event_type} ${e.event_id} applied after its rejection`).toBe(false);
        // Only a write skipped the first time (a no-op: nothing of it is stored) is evaluated again, against the newer
        // state, and may then be answered (e.g. a reminder.deleted that found nothing, redelivered after its task went).
        const appliedOnce = new Set(once.applied.map((e) => e.event_id));
        for (const e of again.applied)
          if (e.event_type === "write.rejected") expect(appliedOnce.has(e.data.event_id) || answered.has(e.data.event_id)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe("evolveBatch examples", () => {
  const u = "u1";
  const t = taskId(u, 0);
  const at = minute(0);
  const fields: TaskFields = taskFields({ title: "t", priority: "low" });
  const ctx = (aggregate: string, name: string) => ({
    user_id: u,
    aggregate_id: aggregate,
    correlation_id: CORR,
    timestamp: at,
    event_id: uuid(name),
  });

  it("a rejected write becomes a write.rejected with the deterministic id, seq and version; its duplicate nothing", () => {
    const update = newEvent("task.updated", ctx(t, "update"), { changes: { title: { old: "", new: "x" } } });
    const out = evolveBatch(new Map([[u, emptyUser(u)]]), new Map([[u, 7]]), [update, update], new Set());
    expect(out.rejected).toEqual([{ event: update, code: "not_found", reason: `task ${t} does not exist (deleted or never created)` }]);
    expect(out.applied).toEqual([
      {
        event_id: rejectionId(update.event_id),
        event_type: "write.rejected",
        schema_version: update.schema_version,
        user_id: u,
        aggregate_id: t,
        timestamp: expect.any(String),
        correlation_id: CORR,
        data: {
          event_id: update.event_id,
          event_type: "task.updated",
          correlation_id: CORR,
          reason: "not_found",
          message: `task ${t} does not exist (deleted or never created)`,
        },
        seq: 8,
        version: 1,
      },
    ]);
    expect(out.activity).toEqual([
      {
        event_id: rejectionId(update.event_id),
        user_id: u,
        seq: 8,
        task_id: null,
        action: "write.rejected",
        summary: `task.updated not applied (not_found): task ${t} does not exist (deleted or never created)`,
        created_at: expect.any(String),
      },
    ]);
    expect(out.seqs.get(u)).toBe(8);
  });

  it("a rejected write redelivered after its task was created does not apply (its write.rejected is seen)", () => {
    const update = newEvent("task.updated", ctx(t, "early update"), { changes: { title: { old: "", new: "x" } } });
    const create = newEvent("task.created", ctx(t, "create"), { task: fields });
    const first = evolveBatch(new Map([[u, emptyUser(u)]]), new Map(), [update, create], new Set());
    expect(first.applied.map((e) => e.event_type)).toEqual(["write.rejected", "task.created"]);
    const again = evolveBatch(first.states, first.seqs, [update, create], new Set(first.applied.map((e) => e.event_id)));
    expect(again.applied).toEqual([]);
    expect(again.rejected).toEqual([]);
  });

  it("a system event that does not apply is skipped or rejected without any write.rejected", () => {
    const trigger = newEvent("reminder.triggered", ctx(t, "trigger"), {
      reminder_id: reminderId(t, 0),
      remind_at: at,
      fired_at: at,
      late: false,
      title: "t",
    });
    const spawn = newEvent("recurring.spawned", ctx(taskId(u, 1), "spawn"), {
      occurrence: at,
      parent_next_occurrence: null,
      late: false,
      task: { ...fields, parent_task_id: t },
    });
    const out = evolveBatch(new Map([[u, emptyUser(u)]]), new Map(), [trigger, spawn], new Set());
    expect(out.applied).toEqual([]);
    expect(out.skipped).toBe(1);
    expect(out.rejected.map((r) => [r.event.event_type, r.code])).toEqual([["recurring.spawned", "not_found"]]);
  });

  it("seen events are skipped silently (the caller republishes them) and use no seq", () => {
    const create = newEvent("task.created", ctx(t, "create"), { task: fields });
    const out = evolveBatch(new Map([[u, emptyUser(u)]]), new Map([[u, 3]]), [create], new Set([create.event_id]));
    expect(out).toMatchObject({ applied: [], activity: [], skipped: 0, rejected: [] });
    expect(out.seqs.get(u)).toBe(3);
  });

  it("refuses an event of a user it was given no state for", () => {
    const create = newEvent("task.created", ctx(t, "create"), { task: fields });
    expect(() => evolveBatch(new Map(), new Map(), [create], new Set())).toThrow(/no state loaded for user u1/);
  });
});

describe("evolveBatch cost", { timeout: 60_000 }, () => {
  // Not a timed assertion: the time is printed so a regression to per-event copies of big maps shows.
  it("evolves 2,000 events of one user over hundreds of tasks in one batch", () => {
    const pool: Pool = { users: ["u1"], tasks: 1000, tags: 20, minutes: 600 };
    const [events] = fc.sample(eventsArb(pool, 2000, 2000), { numRuns: 1, seed: 14 });
    const creates = Array.from({ length: 2000 }, (_, i) =>
      newEvent(
        "task.created",
        {
          user_id: "u1",
          aggregate_id: taskId("u1", 10_000 + i),
          correlation_id: CORR,
          timestamp: minute(i),
          event_id: uuid("create", String(i)),
        },
        { task: { ...fieldsOf(i), tags: [`tag${i % 50}`] } },
      ),
    );
    for (const [label, batch] of [
      ["mixed", events ?? []],
      ["2,000 creates", creates],
    ] as const) {
      const { states, seqs } = initial(pool, [0]);
      const started = performance.now();
      const out = evolveBatch(states, seqs, batch, new Set());
      const ms = performance.now() - started;
      console.log(`evolveBatch, ${label}: ${batch.length} events, ${out.applied.length} applied, ${ms.toFixed(0)} ms`);
      checkInvariants(states, seqs, [...batch], out);
    }
  });
});

function fieldsOf(i: number): TaskFields {
  return {
    title: `task ${i}`,
    description: null,
    priority: "medium",
    due_date: DUE[i % 2] ?? null,
    timezone: "UTC",
    recurrence_rule: null,
    next_occurrence: null,
    parent_task_id: null,
    tags: [],
    reminders: [],
  };
}
