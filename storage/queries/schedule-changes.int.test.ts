/**
 * The outbox of schedule changes on the real PostgreSQL: one row per task with its latest change,
 * settle keeps what arrived meanwhile, notifications per scope after commit, one intake per scope.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ScheduleChange, TaskSchedule } from "../../common/contracts/schedule.ts";
import { openDb } from "../../common/deps.ts";
import type { Db } from "../../common/postgres.ts";
import { testConfig, uniqueId } from "../../test/harness.ts";
import { listenForScheduleChanges, type ScheduleListener } from "../schedule-listener.ts";
import { pendingScheduleChanges, recordScheduleChanges, settleScheduleChanges, takeScheduleChanges } from "./schedule-changes.ts";

const config = testConfig();
let db: Db;
const listeners: ScheduleListener[] = [];

const schedule = (remindAt: string): TaskSchedule => ({
  status: "pending",
  recurrence_rule: null,
  next_occurrence: null,
  reminders: [{ id: randomUUID(), remind_at: remindAt }],
});
const change = (taskId: string, version: number, s: TaskSchedule | null): ScheduleChange => ({
  task_id: taskId,
  user_id: "alice",
  version,
  schedule: s,
});
const record = (scope: string, ...changes: ScheduleChange[]) => db.transaction((tx) => recordScheduleChanges(tx, changes, scope));

beforeAll(async () => {
  db = await openDb(config, 2);
});

afterAll(async () => {
  await Promise.all(listeners.map((l) => l.close()));
  await db?.end();
});

describe("schedule changes", () => {
  it("keep one row per task: a lower version never replaces a higher one, an equal one does", async () => {
    const scope = uniqueId("scope");
    const task = randomUUID();
    const [a, b, c] = [schedule("2030-01-01T09:00:00.000Z"), schedule("2030-01-02T09:00:00.000Z"), schedule("2030-01-03T09:00:00.000Z")];
    await record(scope, change(task, 2, a));
    await record(scope, change(task, 1, b));
    expect(await takeScheduleChanges(db, scope, 10)).toMatchObject([{ task_id: task, version: 2, schedule: a, readable: true }]);
    await record(scope, change(task, 2, c));
    expect(await takeScheduleChanges(db, scope, 10)).toMatchObject([{ task_id: task, version: 2, schedule: c }]);
    // Several changes of one task in one statement: the highest version (the last of equal ones).
    await record(scope, change(task, 4, a), change(task, 3, b), change(task, 4, null));
    expect(await takeScheduleChanges(db, scope, 10)).toMatchObject([{ task_id: task, version: 4, schedule: null, readable: true }]);
  });

  it("settle deletes only what was taken; a change recorded meanwhile stays and is taken next", async () => {
    const scope = uniqueId("scope");
    const [one, two] = [randomUUID(), randomUUID()];
    await record(scope, change(one, 1, schedule("2030-01-01T09:00:00.000Z")), change(two, 1, null));
    const taken = await takeScheduleChanges(db, scope, 10);
    expect(taken.map((t) => t.task_id).sort()).toEqual([one, two].sort());
    const later = schedule("2030-02-01T09:00:00.000Z");
    await record(scope, change(one, 2, later));
    expect(await settleScheduleChanges(db, scope, taken)).toBe(1);
    const next = await takeScheduleChanges(db, scope, 10);
    expect(next).toMatchObject([{ task_id: one, version: 2, schedule: later }]);
    expect(await settleScheduleChanges(db, scope, next)).toBe(1);
    expect(await pendingScheduleChanges(db, scope)).toBe(0);
  });

  it("are taken oldest first, at most `limit`, and only the scope's own", async () => {
    const scope = uniqueId("scope");
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of ids) await record(scope, change(id, 1, null));
    await record(uniqueId("other"), change(randomUUID(), 1, null));
    expect((await takeScheduleChanges(db, scope, 2)).map((t) => t.task_id)).toEqual(ids.slice(0, 2));
    expect(await pendingScheduleChanges(db, scope)).toBe(3);
  });

  it("notify the listeners of their scope once a recording transaction commits", async () => {
    const scope = uniqueId("scope");
    const other = uniqueId("other");
    let woken = 0;
    const listener = await listenForScheduleChanges({
      databaseUrl: config.databaseUrl,
      scope,
      connectTimeoutMs: 5000,
      onChange: () => {
        woken += 1;
      },
      onLost: () => {},
    });
    listeners.push(listener);
    // Another scope's change first: notifications arrive in commit order, so had it woken this
    // listener, the count would be 2 once this scope's own arrived.
    await record(other, change(randomUUID(), 1, null));
    await db.transaction(async (tx) => {
      await recordScheduleChanges(tx, [change(randomUUID(), 1, null), change(randomUUID(), 1, null)], scope);
      await recordScheduleChanges(tx, [change(randomUUID(), 1, null)], scope);
    });
    await vi.waitFor(() => expect(woken).toBeGreaterThan(0), { timeout: 5000 });
    // PostgreSQL folds identical notifications of one transaction into one.
    expect(woken).toBe(1);
  });

  it("let one session per scope hold the intake lock, and another take it when that one ends", async () => {
    const scope = uniqueId("scope");
    const open = async () => {
      const l = await listenForScheduleChanges({
        databaseUrl: config.databaseUrl,
        scope,
        connectTimeoutMs: 5000,
        onChange: () => {},
        onLost: () => {},
      });
      listeners.push(l);
      return l;
    };
    const [first, second] = [await open(), await open()];
    expect(await first.tryLock()).toBe(true);
    expect(await first.tryLock()).toBe(true);
    expect(await second.tryLock()).toBe(false);
    await first.close();
    await vi.waitFor(async () => expect(await second.tryLock()).toBe(true), { timeout: 5000 });
  });
});
