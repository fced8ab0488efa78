/**
 * The processors' side of the scheduler's intake, on the real PostgreSQL: which applied events
 * record a schedule change (and which record nothing), and the timezone move applied in the
 * settings event's transaction. No scheduler runs for this file's scope, so the rows stay to be read.
 */
import { randomUUID } from "node:crypto";
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EventOf, newEvent, type TaskEvent, type TaskFields } from "../common/contracts/index.ts";
import { openDb } from "../common/deps.ts";
import type { Db } from "../common/postgres.ts";
import { timezoneMoveEventId } from "../common/series.ts";
import { takeScheduleChanges } from "../storage/queries/schedule-changes.ts";
import { taskFields, testConfig, uniqueId } from "../test/harness.ts";
import { applyBatch } from "./apply-batch.ts";

const config = testConfig();
const scope = config.topicPrefix;
let db: Db;

beforeAll(async () => {
  db = await openDb(config, 2);
});
afterAll(async () => {
  await db?.end();
});

const apply = (events: TaskEvent[]) => applyBatch(db, events, { scheduling: { scope } });
const rows = async () => new Map((await takeScheduleChanges(db, scope, 10_000)).map((r) => [r.task_id, r]));
const ctx = (user: string, aggregate: string) => ({ user_id: user, aggregate_id: aggregate, correlation_id: randomUUID() });
const created = (user: string, fields: Partial<TaskFields>, id = randomUUID()) =>
  newEvent("task.created", ctx(user, id), { task: taskFields(fields) });
const inHours = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();

describe("schedule changes recorded by the processors", () => {
  it("record nothing for a task that schedules nothing, and the schedule of one that does", async () => {
    const user = uniqueId("alice");
    const remindAt = inHours(2);
    const [plain, reminded, series] = [
      created(user, { title: "plain" }),
      created(user, { title: "reminded", reminders: [{ id: randomUUID(), at: remindAt, remind_at: remindAt }] }),
      created(user, { title: "series", due_date: inHours(1), recurrence_rule: "FREQ=DAILY", next_occurrence: inHours(25) }),
    ];
    await apply([plain, reminded, series]);
    const r = await rows();
    expect(r.has(plain.aggregate_id)).toBe(false);
    expect(r.get(reminded.aggregate_id)).toMatchObject({
      user_id: user,
      version: 1,
      schedule: { status: "pending", recurrence_rule: null, next_occurrence: null, reminders: [{ remind_at: remindAt }] },
    });
    expect(r.get(series.aggregate_id)?.schedule).toMatchObject({ recurrence_rule: "FREQ=DAILY", reminders: [] });
  });

  it("record a change only where the jobs change: completion and deletion of a task with jobs, never other edits", async () => {
    const user = uniqueId("alice");
    const remindAt = inHours(2);
    const plain = created(user, { title: "plain" });
    const reminded = created(user, { title: "reminded", reminders: [{ id: randomUUID(), at: remindAt, remind_at: remindAt }] });
    await apply([plain, reminded]);
    const before = (await rows()).get(reminded.aggregate_id);
    const completed_at = new Date().toISOString();
    await apply([
      newEvent("task.updated", ctx(user, reminded.aggregate_id), { changes: { title: { old: "reminded", new: "renamed" } } }),
      newEvent("task.completed", ctx(user, plain.aggregate_id), { completed_at }),
    ]);
    const afterEdits = await rows();
    expect(afterEdits.has(plain.aggregate_id)).toBe(false);
    expect(afterEdits.get(reminded.aggregate_id)?.revision).toBe(before?.revision);

    await apply([newEvent("task.completed", ctx(user, reminded.aggregate_id), { completed_at })]);
    // Completed without a series: no job is wanted (the reminder stays in the task, unnotified).
    expect((await rows()).get(reminded.aggregate_id)).toMatchObject({ version: 3, schedule: null });
    await apply([newEvent("task.uncompleted", ctx(user, reminded.aggregate_id), {})]);
    expect((await rows()).get(reminded.aggregate_id)).toMatchObject({ version: 4, schedule: { status: "pending" } });

    await apply([
      newEvent("task.deleted", ctx(user, reminded.aggregate_id), {}),
      newEvent("task.deleted", ctx(user, plain.aggregate_id), {}),
    ]);
    const afterDelete = await rows();
    expect(afterDelete.get(reminded.aggregate_id)).toMatchObject({ version: 5, schedule: null });
    // A task that had no job loses none: its deletion costs the scheduler nothing.
    expect(afterDelete.has(plain.aggregate_id)).toBe(false);
  });

  it("keep the latest of several changes of one task in one batch", async () => {
    const user = uniqueId("alice");
    const [first, second] = [inHours(2), inHours(3)];
    const task = created(user, { title: "t", reminders: [{ id: randomUUID(), at: first, remind_at: first }] });
    const reminder = { id: randomUUID(), at: second, remind_at: second };
    await apply([task, newEvent("reminder.created", ctx(user, task.aggregate_id), { reminder })]);
    const row = (await rows()).get(task.aggregate_id);
    expect(row?.version).toBe(2);
    expect(row?.schedule?.reminders.map((r) => r.remind_at).sort()).toEqual([first, second]);
  });

  it("move the user's recurring tasks that followed the old timezone right after the settings event, in its transaction, not those with their own", async () => {
    const user = uniqueId("alice");
    const settings = (old: string, next: string): EventOf<"settings.updated"> =>
      newEvent("settings.updated", ctx(user, user), { changes: { timezone: { old, new: next } } });
    const nine = DateTime.now().setZone("America/New_York").plus({ days: 2 }).set({ hour: 9, minute: 0, second: 0, millisecond: 0 });
    const anchor = nine.toUTC().toISO() as string;
    const inKolkata = nine.setZone("Asia/Kolkata", { keepLocalTime: true }).toUTC().toISO() as string;
    const follows = created(user, {
      title: "Gym",
      due_date: anchor,
      timezone: "America/New_York",
      recurrence_rule: "FREQ=DAILY",
      next_occurrence: anchor,
    });
    const pinned = created(user, {
      title: "Pinned",
      due_date: anchor,
      timezone: "UTC",
      recurrence_rule: "FREQ=DAILY",
      next_occurrence: anchor,
    });
    // In the user's zone, but given by its write: it keeps it (the events of `follows` and `pinned` do not say).
    const own = newEvent("task.created", ctx(user, randomUUID()), {
      task: taskFields({
        title: "Own",
        due_date: anchor,
        timezone: "America/New_York",
        recurrence_rule: "FREQ=DAILY",
        next_occurrence: anchor,
      }),
      timezone_defaulted: false,
    });
    // Created with the user's zone then, given New York by a later write of its own: it keeps it too.
    const patched = newEvent("task.created", ctx(user, randomUUID()), {
      task: taskFields({
        title: "Patched",
        due_date: anchor,
        timezone: "Europe/Berlin",
        recurrence_rule: "FREQ=DAILY",
        next_occurrence: anchor,
      }),
      timezone_defaulted: true,
    });
    const patch = newEvent("task.updated", ctx(user, patched.aggregate_id), {
      changes: { timezone: { old: "Europe/Berlin", new: "America/New_York" } },
      follows_user: false, // as ingest writes a timezone a writer chose
    });
    await apply([settings("UTC", "America/New_York"), follows, pinned, own, patched]);
    await apply([patch]); // a batch of its own: the stored task changes its mind

    const change = settings("America/New_York", "Asia/Kolkata");
    const result = await apply([change]);
    expect(result.applied.map((e) => [e.event_type, e.aggregate_id])).toEqual([
      ["settings.updated", user],
      ["task.updated", follows.aggregate_id],
    ]);
    const [applied, moved] = result.applied;
    expect(moved?.seq).toBe((applied?.seq ?? 0) + 1);
    expect(moved).toMatchObject({
      event_id: timezoneMoveEventId(change.event_id, follows.aggregate_id),
      correlation_id: change.correlation_id,
      data: {
        changes: {
          timezone: { old: "America/New_York", new: "Asia/Kolkata" },
          due_date: { old: anchor, new: inKolkata },
          next_occurrence: { old: anchor, new: inKolkata },
        },
        follows_user: true,
      },
    });
    // The scheduler learns the moved occurrence from the same transaction.
    expect((await rows()).get(follows.aggregate_id)).toMatchObject({ version: 2, schedule: { next_occurrence: inKolkata } });

    // Redelivered, the settings event is a duplicate and moves nothing again.
    const again = await apply([change]);
    expect(again.applied).toEqual([]);
    expect(again.duplicates.map((e) => e.event_id)).toEqual([change.event_id]);

    // Moved with the user's zone, it still follows it: the next change moves it again (and only it).
    const next = await apply([settings("Asia/Kolkata", "Asia/Tokyo")]);
    expect(next.applied.map((e) => [e.event_type, e.aggregate_id])).toEqual([
      ["settings.updated", user],
      ["task.updated", follows.aggregate_id],
    ]);
  });

  it("move a series created in the user's timezone that reaches the log after a change of it, and not one whose timezone was given", async () => {
    const user = uniqueId("late-create");
    const nine = DateTime.now().setZone("America/New_York").plus({ days: 2 }).set({ hour: 9, minute: 0, second: 0, millisecond: 0 });
    const anchor = nine.toUTC().toISO() as string;
    const series = { title: "Gym", due_date: anchor, timezone: "America/New_York", recurrence_rule: "FREQ=DAILY", next_occurrence: anchor };
    await apply([newEvent("settings.updated", ctx(user, user), { changes: { timezone: { old: "UTC", new: "America/New_York" } } })]);
    // Decided in New York (the user's zone then), produced after the change to Kolkata.
    const defaulted = newEvent("task.created", ctx(user, randomUUID()), { task: taskFields(series), timezone_defaulted: true });
    const given = created(user, series);
    const change = newEvent("settings.updated", ctx(user, user), {
      changes: { timezone: { old: "America/New_York", new: "Asia/Kolkata" } },
    });
    const result = await apply([change, defaulted, given]);
    expect(result.applied.map((e) => [e.event_type, e.aggregate_id])).toEqual([
      ["settings.updated", user],
      ["task.created", defaulted.aggregate_id],
      ["task.updated", defaulted.aggregate_id],
      ["task.created", given.aggregate_id],
    ]);
    const inKolkata = nine.setZone("Asia/Kolkata", { keepLocalTime: true }).toUTC().toISO() as string;
    expect(result.applied[2]).toMatchObject({
      event_id: timezoneMoveEventId(defaulted.event_id, defaulted.aggregate_id),
      data: { changes: { timezone: { old: "America/New_York", new: "Asia/Kolkata" }, due_date: { old: anchor, new: inKolkata } } },
    });
    expect((await rows()).get(defaulted.aggregate_id)).toMatchObject({ schedule: { next_occurrence: inKolkata } });
  });
});
