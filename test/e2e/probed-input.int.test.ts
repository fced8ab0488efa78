/**
 * Input an adversarial probe of c011d8a found mishandled (a 500, a reminder that never fires, a
 * stalled event loop, a duplicate tag): each is now a 4xx naming the field, or applied as answered.
 */
import { describe, expect, it } from "vitest";
import { signLocalToken } from "../../common/auth.ts";
import { apiClient, eventually, testConfig, uniqueId, wsConnect } from "../harness.ts";
import { systemForThisFile } from "../system-per-file.ts";

const config = testConfig();
systemForThisFile(config);

const user = async () => {
  const id = uniqueId("probed");
  return apiClient(config, id, await signLocalToken(config, id));
};
const paths = (res: { body: any }): string[] => (res.body.error?.details ?? []).map((d: { path: string }) => d.path);
const DUE = "2030-01-01T00:00:00Z";

describe("reminder `before` durations", () => {
  it.each(["P0.0000001D", "PT0.0000001S", "PT1.0001S"])(
    "%s (finer than a millisecond) is a 400 naming reminders[0].before",
    async (before) => {
      const api = await user();
      const res = await api("POST", "/tasks", { title: "t", due_date: DUE, reminders: [{ before }] });
      expect(res.status).toBe(400);
      expect(paths(res)).toEqual(["reminders[0].before"]);
    },
  );

  it("a tiny but whole-millisecond one is stored in a form that reads back the same", async () => {
    const api = await user();
    const res = await api("POST", "/tasks", { title: "t", due_date: DUE, reminders: [{ before: "P0.0000005Y" }] });
    expect(res.status).toBe(202);
    expect(res.body.task.reminders).toMatchObject([{ before: "P0.0000005Y", remind_at: "2029-12-31T23:59:44.232Z" }]);
    const stored = await eventually(async () => (await api("GET", `/tasks/${res.body.task.id}`)).body.task);
    expect(stored.reminders).toEqual(res.body.task.reminders.map((r: object) => ({ ...r, notified: false })));
  });
});

describe("a due date that would move a reminder out of range", () => {
  it("PATCH is a 400 naming due_date, and the task stays as it was", async () => {
    const api = await user();
    const created = await api("POST", "/tasks", { title: "t", due_date: DUE, reminders: [{ before: "PT1H" }] });
    expect(created.status).toBe(202);
    const id = created.body.task.id;
    await eventually(async () => (await api("GET", `/tasks/${id}`)).status === 200);
    const res = await api("PATCH", `/tasks/${id}`, { due_date: "1970-01-01T00:10:00Z" });
    expect(res.status).toBe(400);
    expect(paths(res)).toEqual(["due_date"]);
    const task = (await api("GET", `/tasks/${id}`)).body.task;
    expect(task.due_date).toBe("2030-01-01T00:00:00.000Z");
    expect(task.reminders.map((r: { remind_at: string }) => r.remind_at)).toEqual(["2029-12-31T23:00:00.000Z"]);
  });
});

describe("PATCH with reminders (a create field)", () => {
  it("replaces the task's reminders: the answer, the stored task and the schedule follow (the new one fires, the old one does not)", async () => {
    const id = uniqueId("patch-reminders");
    const token = await signLocalToken(config, id);
    const api = apiClient(config, id, token);
    const ws = await wsConnect(config, id, token);
    await ws.waitFor((m) => m.type === "ready");
    const due = new Date(Date.now() + 3600_000).toISOString();
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    const created = await api("POST", "/tasks", { title: "t", due_date: due, reminders: [{ at: at(3500) }] });
    expect(created.status).toBe(202);
    const taskId = created.body.task.id;
    // Replaced by two: one before the old one's time, and a marker after it.
    const res = await api("PATCH", `/tasks/${taskId}`, { reminders: [{ at: at(2000) }, { at: at(5000) }] });
    expect(res.status).toBe(202);
    expect(res.body.task.reminders).toHaveLength(2);
    expect((await api("GET", `/tasks/${taskId}`)).body.task.reminders).toEqual(res.body.task.reminders);
    const fired = await ws.waitFor((m) => m.type === "reminder.triggered", 2, 20_000);
    // Once the marker (after the old one's time) fired, the old one would have too, had it been kept.
    expect(fired.map((m) => m.data.reminder_id)).toEqual(res.body.task.reminders.map((r: { id: string }) => r.id));
    expect(ws.messages.filter((m) => m.type === "reminder.triggered")).toHaveLength(2);
    ws.close();
  });
});

describe("GET /reminders", () => {
  it("lists the reminders still to fire: a completed task's leave the list, and come back when it is reopened", async () => {
    const api = await user();
    const created = await api("POST", "/tasks", { title: "t", due_date: DUE, reminders: [{ before: "PT1H" }] });
    const id = created.body.task.id;
    const taskIds = async () => (await api("GET", "/reminders")).body.reminders.map((r: { task_id: string }) => r.task_id);
    await eventually(async () => (await taskIds()).length === 1);
    expect(await taskIds()).toEqual([id]);
    expect((await api("POST", `/tasks/${id}/complete`)).status).toBe(202);
    await eventually(async () => (await taskIds()).length === 0);
    expect((await api("POST", `/tasks/${id}/uncomplete`)).status).toBe(202);
    await eventually(async () => (await taskIds()).length === 1);
  });
});

describe("a recurrence rule that never matches", () => {
  it("is a 400 naming recurrence_rule", async () => {
    const api = await user();
    const res = await api("POST", "/tasks", {
      title: "t",
      due_date: "2030-02-01T00:00:00Z",
      recurrence_rule: "FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=30",
    });
    expect(res.status).toBe(400);
    expect(paths(res)).toEqual(["recurrence_rule"]);
  });
});

describe("tag names", () => {
  it("are unique however they are spaced, never blank, and stored trimmed", async () => {
    const api = await user();
    const home = await api("POST", "/tags", { name: "Home" });
    expect(home.status).toBe(202);
    await eventually(async () => (await api("GET", "/tags")).body.tags.length === 1);
    expect((await api("POST", "/tags", { name: " HOME " })).status).toBe(409);
    const blank = await api("POST", "/tags", { name: " " });
    expect(blank.status).toBe(400);
    expect(paths(blank)).toEqual(["name"]);
    const work = await api("POST", "/tags", { name: "  Work " });
    expect(work.status).toBe(202);
    expect(work.body.tag.name).toBe("Work");
    await eventually(async () => (await api("GET", "/tags")).body.tags.length === 2);
    expect((await api("PATCH", `/tags/${work.body.tag.id}`, { name: " home" })).status).toBe(409);
    expect(paths(await api("PATCH", `/tags/${work.body.tag.id}`, { name: "\t" }))).toEqual(["name"]);
    const task = await api("POST", "/tasks", { title: "t", tags: ["ok", " "] });
    expect(task.status).toBe(400);
    expect(paths(task)).toEqual(["tags[1]"]);
    const names = (await api("GET", "/tags")).body.tags.map((t: { name: string }) => t.name).sort();
    expect(names).toEqual(["Home", "Work"]);
  });

  it("a spaced duplicate that wins the race to ingest is refused where it is applied, with write.rejected", async () => {
    const api = await user();
    const [first, second] = await Promise.all([api("POST", "/tags", { name: "Home" }), api("POST", "/tags", { name: " home " })]);
    const accepted = [first, second].filter((r) => r.status === 202);
    if (accepted.length < 2) return; // ingest saw the first applied already: its 409 is the refusal
    const rejected = await eventually(async () =>
      ((await api("GET", "/events?since=0")).body.events as any[]).find((e) => e.event_type === "write.rejected"),
    );
    expect(rejected.data).toMatchObject({ event_type: "tag.created", reason: "conflict" });
    expect((await api("GET", "/tags")).body.tags).toHaveLength(1);
  });

  it("are one tag whatever the case in any script (İ and i, Σ and σ as PostgreSQL folds them): a task reuses it, a filter finds it", async () => {
    const api = await user();
    expect((await api("POST", "/tags", { name: "ix" })).status).toBe(202);
    const tasks = [
      await api("POST", "/tasks", { title: "dotted", tags: ["İX"] }),
      await api("POST", "/tasks", { title: "two in one", tags: ["İy", "iy"] }),
      await api("POST", "/tasks", { title: "sigma", tags: ["ΣΑΣ", "σασ"] }),
      await api("POST", "/tasks", { title: "city", tags: ["İstanbul"] }),
    ];
    for (const t of tasks) expect(t.status).toBe(202);
    const applied = async () => (await api("GET", "/tasks?limit=50")).body.tasks as { id: string; title: string; tags: string[] }[];
    await eventually(async () => ((await applied()).length === tasks.length ? true : undefined));
    const events = (await api("GET", "/events?since=0")).body.events as { event_type: string }[];
    expect(events.filter((e) => e.event_type === "write.rejected")).toEqual([]);
    const byTitle = new Map((await applied()).map((t) => [t.title, t.tags]));
    expect(byTitle.get("dotted")).toEqual(["ix"]);
    expect(byTitle.get("two in one")).toHaveLength(1);
    expect(byTitle.get("sigma")).toHaveLength(1);
    const filtered = await api("GET", `/tasks?tags=${encodeURIComponent("İstanbul")}`);
    expect(filtered.body.tasks.map((t: { title: string }) => t.title)).toEqual(["city"]);
  });
});
