/**
 * Read your writes under load: right after a write's 202, a GET of the task, of its history and
 * of the lists (tasks, reminders, tags, activity) reflect it, whether or not the processors have applied it yet
 * — for many users writing at once; so do the tag writes that look a tag up, and a series read
 * right after a timezone change moved it.
 */
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signLocalToken } from "../../common/auth.ts";
import { apiClient, startSystem, testConfig, uniqueId } from "../harness.ts";

const config = testConfig();
let system: Awaited<ReturnType<typeof startSystem>>;

beforeAll(async () => {
  system = await startSystem(config);
}, 90_000);
afterAll(async () => {
  await system?.stop();
});

const USERS = 30;
const ROUNDS = 15;

async function oneUser(): Promise<string[]> {
  const id = uniqueId("ryw");
  const api = apiClient(config, id, await signLocalToken(config, id));
  const misses: string[] = [];
  const check = (what: string, ok: boolean) => {
    if (!ok) misses.push(`${id}: ${what}`);
  };
  // A series in the user's timezone: each settings change moves it, keeping its wall-clock time.
  const series = await api("POST", "/tasks", { title: "daily at 09:00", due_date: "2030-01-01T09:00:00Z", recurrence_rule: "FREQ=DAILY" });
  expect(series.status).toBe(202);
  const inZone = (task: { timezone?: string; due_date?: string } | undefined, timezone: string) =>
    task?.timezone === timezone && DateTime.fromISO(task.due_date ?? "", { zone: timezone }).toFormat("HH:mm") === "09:00";
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 5 === 1) {
      // A task created right after a settings change takes the new timezone, applied or not.
      const timezone = ["Asia/Tokyo", "America/Chicago", "Europe/Paris"][(i - 1) / 5] as string;
      expect((await api("PUT", "/settings", { timezone })).status).toBe(202);
      check(`series right after settings ${i}`, inZone((await api("GET", `/tasks/${series.body.task.id}`)).body.task, timezone));
      const listed = (await api("GET", "/tasks?limit=100")).body.tasks.find((t: { id: string }) => t.id === series.body.task.id);
      check(`series in the list right after settings ${i}`, inZone(listed, timezone));
      const next = await api("POST", "/tasks", { title: `in ${timezone}` });
      check(`timezone of a task created after settings ${i}`, next.status === 202 && next.body.task.timezone === timezone);
    }
    const created = await api("POST", "/tasks", { title: `t${i}`, tags: ["load"] });
    expect(created.status).toBe(202);
    const taskId: string = created.body.task.id;
    const got = await api("GET", `/tasks/${taskId}`);
    check(`GET after create ${i}`, got.status === 200 && got.body.task.title === `t${i}`);
    expect((await api("PATCH", `/tasks/${taskId}`, { title: `t${i} edited` })).status).toBe(202);
    const edited = await api("GET", `/tasks/${taskId}`);
    check(`GET after edit ${i}`, edited.body.task?.title === `t${i} edited`);
    const list = await api("GET", "/tasks?limit=100");
    check(
      `list after edit ${i}`,
      list.body.tasks.some((t: { id: string; title: string }) => t.id === taskId && t.title === `t${i} edited`),
    );
    expect((await api("POST", `/tasks/${taskId}/complete`)).status).toBe(202);
    const done = await api("GET", `/tasks/${taskId}`);
    check(`GET after complete ${i}`, done.body.task?.status === "completed");
    const history = await api("GET", `/tasks/${taskId}/history`);
    const types = history.body.events?.map((e: { event_type: string }) => e.event_type);
    check(`history after complete ${i}: ${history.status} ${types}`, types?.join() === "task.created,task.updated,task.completed");
    if (i % 3 === 0) {
      expect((await api("DELETE", `/tasks/${taskId}`)).status).toBe(202);
      check(`GET after delete ${i}`, (await api("GET", `/tasks/${taskId}`)).status === 404);
      const after = await api("GET", "/tasks?limit=100");
      check(`list after delete ${i}`, !after.body.tasks.some((t: { id: string }) => t.id === taskId));
      // A write on the task ingest knows to be deleted is refused at once, not accepted and rejected later.
      check(`edit after delete ${i}`, (await api("PATCH", `/tasks/${taskId}`, { title: "gone" })).status === 404);
    }
  }
  return misses;
}

/** Reminders, tags and the activity feed right after each write, no waiting in between. */
async function oneUserOfTheOtherLists(): Promise<string[]> {
  const id = uniqueId("ryw-lists");
  const api = apiClient(config, id, await signLocalToken(config, id));
  const misses: string[] = [];
  const check = (what: string, ok: boolean) => {
    if (!ok) misses.push(`${id}: ${what}`);
  };
  const reminders = async () => (await api("GET", "/reminders")).body.reminders as { id: string; task_id: string }[];
  for (let i = 0; i < ROUNDS; i++) {
    const created = await api("POST", "/tasks", { title: `r${i}`, due_date: "2031-05-01T09:00:00Z", reminders: [{ before: "PT1H" }] });
    expect(created.status).toBe(202);
    const taskId: string = created.body.task.id;
    const [first] = created.body.task.reminders as { id: string }[];
    check(
      `reminders after create ${i}`,
      (await reminders()).some((r) => r.id === first?.id),
    );
    const added = await api("POST", `/tasks/${taskId}/reminders`, { before: "PT2H" });
    expect(added.status).toBe(202);
    check(
      `reminders after add ${i}`,
      (await reminders()).some((r) => r.id === added.body.reminder.id),
    );
    expect((await api("DELETE", `/tasks/${taskId}/reminders/${added.body.reminder.id}`)).status).toBe(202);
    check(`reminders after delete ${i}`, !(await reminders()).some((r) => r.id === added.body.reminder.id));
    const completed = await api("POST", `/tasks/${taskId}/complete`);
    expect(completed.status).toBe(202);
    check(`reminders after complete ${i}`, !(await reminders()).some((r) => r.task_id === taskId));
    const activity = await api("GET", "/activity-logs?limit=10");
    check(
      `activity after complete ${i}`,
      activity.body.activity.some((a: { event_id: string }) => a.event_id === completed.body.event_id),
    );
    const tag = await api("POST", "/tags", { name: `tag ${i}` });
    expect(tag.status).toBe(202);
    check(
      `tags after create ${i}`,
      (await api("GET", "/tags")).body.tags.some((t: { id: string }) => t.id === tag.body.tag.id),
    );
    // Tag writes right after the tag's creation: it exists for them, and its name is taken.
    const fresh = await api("POST", "/tags", { name: `fresh ${i}` });
    expect(fresh.status).toBe(202);
    const taken = await api("POST", "/tags", { name: `FRESH ${i}` });
    check(`duplicate name right after create ${i}: ${taken.status}`, taken.status === 409);
    const renamed = await api("PATCH", `/tags/${fresh.body.tag.id}`, { name: `renamed ${i}` });
    check(`rename right after create ${i}: ${renamed.status}`, renamed.status === 202);
    const attached = await api("POST", `/tasks/${taskId}/tags`, { tag_id: fresh.body.tag.id });
    check(
      `attach by id right after rename ${i}: ${attached.status}`,
      attached.status === 202 && attached.body.task.tags.includes(`renamed ${i}`),
    );
    const deleted = await api("DELETE", `/tags/${fresh.body.tag.id}`);
    check(`delete right after attach ${i}: ${deleted.status}`, deleted.status === 202);
  }
  return misses;
}

describe("read your writes", () => {
  it("GET /reminders, /tags and /activity-logs right after each 202 reflect that write, for many users at once", async () => {
    const misses = (await Promise.all(Array.from({ length: USERS }, oneUserOfTheOtherLists))).flat();
    expect(misses).toEqual([]);
  }, 120_000);

  it("a GET of the task and the list right after each 202 reflect that write, for many users at once", async () => {
    const misses = (await Promise.all(Array.from({ length: USERS }, oneUser))).flat();
    expect(misses).toEqual([]);
  }, 120_000);
});
