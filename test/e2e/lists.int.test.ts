/**
 * The lists other than the task list (activity feed, tags, reminders) on the real stack: keyset
 * pages that nothing arriving between them shifts, opaque cursors (a forged or altered one is a 400
 * naming `cursor`), and query parameters checked like the task list's.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signLocalToken } from "../../common/auth.ts";
import { apiClient, eventually, startSystem, testConfig, uniqueId } from "../harness.ts";

const config = testConfig();
let system: Awaited<ReturnType<typeof startSystem>>;

beforeAll(async () => {
  system = await startSystem(config);
}, 90_000);
afterAll(async () => {
  await system?.stop();
});

const user = async () => {
  const id = uniqueId("lists");
  return apiClient(config, id, await signLocalToken(config, id));
};
type Api = Awaited<ReturnType<typeof user>>;

/** Every page of `path` (`?limit=` given), following next_cursor. */
async function allPages(api: Api, path: string, list: string): Promise<unknown[][]> {
  const pages: unknown[][] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: any } = await api("GET", `${path}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    pages.push(res.body[list]);
    cursor = res.body.next_cursor;
  } while (cursor && pages.length < 20);
  return pages;
}

/** The cursor with one character of its payload changed, its signature kept. */
const altered = (cursor: string) => {
  const [body, mac] = cursor.split(".") as [string, string];
  const json = Buffer.from(body, "base64url").toString("utf8");
  return `${Buffer.from(json.replace(/\d(?=\D*$)/, (d) => String((Number(d) + 1) % 10))).toString("base64url")}.${mac}`;
};

const paths = (res: { body: any }) => res.body.error?.details?.map((d: { path: string }) => d.path);

describe("the activity feed", () => {
  it("pages by an opaque keyset cursor: activity arriving between pages shifts nothing", async () => {
    const api = await user();
    for (let i = 0; i < 6; i++) expect((await api("POST", "/tasks", { title: `t${i}` })).status).toBe(202);
    await eventually(async () => (await api("GET", "/activity-logs")).body.activity.length === 6);

    const first = await api("GET", "/activity-logs?limit=3");
    expect(first.body.activity.map((a: { seq: number }) => a.seq)).toEqual([6, 5, 4]);
    // New activity before the next page is asked for.
    for (let i = 0; i < 2; i++) expect((await api("POST", "/tasks", { title: `later${i}` })).status).toBe(202);
    await eventually(async () => (await api("GET", "/activity-logs")).body.activity.length === 8);
    const second = await api("GET", `/activity-logs?limit=3&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    expect(second.status).toBe(200);
    expect(second.body.activity.map((a: { seq: number }) => a.seq)).toEqual([3, 2, 1]);
    expect(second.body.next_cursor).toBeNull();
    expect(second.body).not.toHaveProperty("next_offset");

    // Offset paging, as old clients use it, goes on as before, and also hands out a cursor.
    const byOffset = await api("GET", "/activity-logs?limit=3&offset=3");
    expect(byOffset.body.activity.map((a: { seq: number }) => a.seq)).toEqual([5, 4, 3]);
    expect(byOffset.body.next_offset).toBe(6);
    const after = await api("GET", `/activity-logs?limit=10&cursor=${encodeURIComponent(byOffset.body.next_cursor)}`);
    expect(after.body.activity.map((a: { seq: number }) => a.seq)).toEqual([2, 1]);
    const last = await api("GET", "/activity-logs?limit=3&offset=6");
    expect(last.body.activity.map((a: { seq: number }) => a.seq)).toEqual([2, 1]);
    expect(last.body).toMatchObject({ next_offset: null, next_cursor: null });
  });

  it("refuses a forged, altered or foreign cursor, and a cursor with an offset, with a 400 naming cursor", async () => {
    const api = await user();
    for (let i = 0; i < 3; i++) expect((await api("POST", "/tasks", { title: `t${i}` })).status).toBe(202);
    await eventually(async () => (await api("GET", "/activity-logs")).body.activity.length === 3);
    const real: string = (await api("GET", "/activity-logs?limit=1")).body.next_cursor;
    expect(real).toEqual(expect.any(String));
    expect((await api("GET", `/activity-logs?cursor=${encodeURIComponent(real)}`)).status).toBe(200);
    expect((await api("POST", "/tags", { name: "a" })).status).toBe(202);
    expect((await api("POST", "/tags", { name: "b" })).status).toBe(202);
    await eventually(async () => (await api("GET", "/tags")).body.tags.length === 2);
    const tagCursor: string = (await api("GET", "/tags?limit=1")).body.next_cursor;
    const taskCursor: string = (await api("GET", "/tasks?limit=1")).body.next_cursor;
    expect([tagCursor, taskCursor]).toEqual([expect.any(String), expect.any(String)]);
    for (const cursor of ["4", "0", "x", altered(real), `${real}x`, real.split(".")[0] as string, tagCursor, taskCursor]) {
      const res = await api("GET", `/activity-logs?cursor=${encodeURIComponent(cursor)}`);
      expect(res.status, cursor).toBe(400);
      expect(paths(res), cursor).toEqual(["cursor"]);
    }
    const both = await api("GET", `/activity-logs?offset=1&cursor=${encodeURIComponent(real)}`);
    expect(both.status).toBe(400);
    expect(paths(both)).toEqual(["cursor"]);
  });
});

describe("tags and reminders", () => {
  it("page tags by name (case-insensitive) with limit and cursor; without them, the whole list as before", async () => {
    const api = await user();
    for (const name of ["b", "A", "e", "D", "c"]) expect((await api("POST", "/tags", { name })).status).toBe(202);
    await eventually(async () => (await api("GET", "/tags")).body.tags.length === 5);
    const whole = await api("GET", "/tags");
    expect(whole.body.tags.map((t: { name: string }) => t.name)).toEqual(["A", "b", "c", "D", "e"]);
    expect(whole.body.next_cursor).toBeNull();
    const pages = await allPages(api, "/tags?limit=2", "tags");
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(whole.body.tags);
    // A page asked for by cursor alone has the default size (the task list's, 50).
    const first = await api("GET", "/tags?limit=1");
    expect((await api("GET", `/tags?cursor=${encodeURIComponent(first.body.next_cursor)}`)).body.tags).toHaveLength(4);
  });

  it("page reminders by remind_at, then id (reminders due at the same instant are neither lost nor repeated)", async () => {
    const api = await user();
    const due = "2031-05-01T09:00:00.000Z";
    for (let i = 0; i < 3; i++) {
      const created = await api("POST", "/tasks", { title: `t${i}`, due_date: due, reminders: [{ before: "PT1H" }, { before: "PT2H" }] });
      expect(created.status).toBe(202);
    }
    await eventually(async () => (await api("GET", "/reminders")).body.reminders.length === 6);
    const whole = await api("GET", "/reminders");
    expect(whole.body.next_cursor).toBeNull();
    const order = whole.body.reminders.map((r: { remind_at: string; id: string }) => [r.remind_at, r.id]);
    expect(order).toEqual([...order].sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1)));
    for (const limit of [1, 2, 4]) {
      const pages = await allPages(api, `/reminders?limit=${limit}`, "reminders");
      expect(pages.flat(), String(limit)).toEqual(whole.body.reminders);
      expect(pages.every((p) => p.length <= limit)).toBe(true);
    }
  });

  it.each(["tags", "reminders"])("/%s refuses forged, altered and foreign cursors, unknown parameters and bad limits", async (list) => {
    const api = await user();
    const task = await api("POST", "/tasks", { title: "t", due_date: "2031-05-01T09:00:00Z", reminders: [{ before: "PT1H" }] });
    expect(task.status).toBe(202);
    expect((await api("POST", `/tasks/${task.body.task.id}/reminders`, { before: "PT2H" })).status).toBe(202);
    for (const name of ["a", "b"]) expect((await api("POST", "/tags", { name })).status).toBe(202);
    for (const l of ["tags", "reminders"]) await eventually(async () => (await api("GET", `/${l}`)).body[l].length === 2);
    const real: string = (await api("GET", `/${list}?limit=1`)).body.next_cursor;
    const other: string = (await api("GET", `/${list === "tags" ? "reminders" : "tags"}?limit=1`)).body.next_cursor;
    expect([real, other]).toEqual([expect.any(String), expect.any(String)]);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const forged = [
      "garbage",
      "4",
      altered(real),
      `${real}x`,
      real.split(".")[0] as string,
      `${b64([list, "asc", "a", randomUUID()])}.AAAAAAAAAAAAAAAAAAAAAA`,
      other,
    ];
    for (const cursor of forged) {
      const res = await api("GET", `/${list}?limit=1&cursor=${encodeURIComponent(cursor)}`);
      expect(res.status, cursor).toBe(400);
      expect(paths(res), cursor).toEqual(["cursor"]);
    }
    for (const [query, field] of [
      ["unknown=1", "unknown"],
      ["offset=1", "offset"],
      ["limit=0", "limit"],
      ["limit=201", "limit"],
      ["limit=abc", "limit"],
      ["limit=1&limit=2", "query.limit"],
    ]) {
      const res = await api("GET", `/${list}?${query}`);
      expect(res.status, query).toBe(400);
      expect(paths(res), query).toEqual([field]);
    }
  });
});

describe("the task list by title", () => {
  it("sorts titles case-insensitively (as the tag list), page after page, ties by id", async () => {
    const api = await user();
    const titles = ["Bravo", "alpha", "charlie", "Delta", "ALPHA", "echo", "bravo 2"];
    for (const title of titles) expect((await api("POST", "/tasks", { title })).status).toBe(202);
    await eventually(async () => ((await api("GET", "/tasks?limit=50")).body.tasks.length === titles.length ? true : undefined));
    const pages = await allPages(api, "/tasks?sort_by=title&sort_order=asc&limit=2", "tasks");
    const listed = pages.flat().map((t) => (t as { title: string }).title);
    expect(listed.map((t) => t.toLowerCase())).toEqual(["alpha", "alpha", "bravo", "bravo 2", "charlie", "delta", "echo"]);
    const descending = (await allPages(api, "/tasks?sort_by=title&sort_order=desc&limit=3", "tasks")).flat();
    expect(descending.map((t) => (t as { title: string }).title)).toEqual([...listed].reverse());
  });
});
