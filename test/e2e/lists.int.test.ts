/**
 * The lists other than the task list on the real stack: keyset pages that nothing arriving between
 * them shifts, opaque cursors (a forged or altered one is a 400 naming `cursor`).
 */
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
    const taskCursor: string = (await api("GET", "/tasks?limit=1")).body.next_cursor;
    expect(taskCursor).toEqual(expect.any(String));
    for (const cursor of ["4", "0", "x", altered(real), `${real}x`, real.split(".")[0] as string, taskCursor]) {
      const res = await api("GET", `/activity-logs?cursor=${encodeURIComponent(cursor)}`);
      expect(res.status, cursor).toBe(400);
      expect(paths(res), cursor).toEqual(["cursor"]);
    }
    const both = await api("GET", `/activity-logs?offset=1&cursor=${encodeURIComponent(real)}`);
    expect(both.status).toBe(400);
    expect(paths(both)).toEqual(["cursor"]);
  });
});
