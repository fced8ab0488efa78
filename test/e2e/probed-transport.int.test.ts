/**
 * Requests a hostile-input probe of a8b0112 found mishandled: a declared length no JavaScript
 * number holds (no answer at all), the API's own cursor refused, a correlation id the events
 * refuse, a task's history read past its end, bytes beyond ASCII in a one-value header, and
 * requests on the WebSocket path that are no upgrade it speaks. Since: answers decided before a
 * declared body has arrived (they were held until it had).
 */
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { signLocalToken } from "../../common/auth.ts";
import { apiClient, eventually, testConfig, uniqueId } from "../harness.ts";
import { systemForThisFile } from "../system-per-file.ts";

const config = testConfig();
systemForThisFile(config);

const user = async () => {
  const id = uniqueId("transport");
  const token = await signLocalToken(config, id);
  return { id, token, api: apiClient(config, id, token) };
};

/** Sends `request` as it is on a new connection; the answer's status and body (or "closed"). */
function raw(port: number, request: string | Buffer): Promise<{ status: number; body: string } | "closed"> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let got = "";
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error(`no answer within 5 s; got ${JSON.stringify(got)}`));
    });
    socket.on("data", (d) => {
      got += d.toString("latin1");
      const head = got.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(got)?.[1];
      if (head >= 0 && length !== undefined && got.length >= head + 4 + Number(length)) {
        socket.destroy();
        resolve({ status: Number(got.slice(9, 12)), body: got.slice(head + 4, head + 4 + Number(length)) });
      }
    });
    socket.on("close", () => resolve("closed"));
    socket.on("error", reject);
    socket.write(request);
  });
}
const codeOf = (r: Awaited<ReturnType<typeof raw>>) => (r === "closed" ? r : { status: r.status, ...JSON.parse(r.body).error });

describe("a declared body length beyond 2^53", () => {
  it.each(["9007199254740992", "999999999999999999"])("Content-Length: %s is a 413 at once", async (length) => {
    const u = await user();
    const answer = await raw(
      config.ingestPort,
      `POST /api/${u.id}/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${u.token}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n{}`,
    );
    expect(codeOf(answer)).toMatchObject({ status: 413, code: "payload_too_large" });
  });
});

describe("an answer decided before the body has arrived", () => {
  it.each([
    ["a bad token", "POST", "tasks", "Bearer not-a-jwt", 401, "unauthorized"],
    ["an unknown route", "POST", "nope", "", 404, "not_found"],
    ["a method the path does not take", "PATCH", "tasks", "", 405, "method_not_allowed"],
    ["another user's path", "POST", "tasks", "other-user", 403, "forbidden"],
  ])("%s is answered whole at once, not held until the declared body is complete", async (_, method, path, auth, status, code) => {
    const u = await user();
    const owner = auth === "other-user" ? uniqueId("other") : u.id;
    const authorization = auth.startsWith("Bearer") ? auth : `Bearer ${u.token}`;
    const answer = await raw(
      config.ingestPort,
      `${method} /api/${owner}/${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"ti`,
    );
    expect(codeOf(answer)).toMatchObject({ status, code });
  });
});

describe("list cursors", () => {
  it("page on through titles whose cursor is long (100 CJK characters) and tags named with control characters", async () => {
    const u = await user();
    const title = "題".repeat(100);
    for (const t of [`${title}a`, `${title}b`]) expect((await u.api("POST", "/tasks", { title: t })).status).toBe(202);
    await eventually(async () => (await u.api("GET", "/tasks")).body.tasks.length === 2);
    const first = await u.api("GET", "/tasks?sort_by=title&sort_order=desc&limit=1");
    expect(first.body.next_cursor.length).toBeGreaterThan(500);
    const second = await u.api("GET", `/tasks?sort_by=title&sort_order=desc&limit=1&cursor=${first.body.next_cursor}`);
    expect(second.status).toBe(200);
    expect(second.body.tasks.map((t: { title: string }) => t.title)).toEqual([`${title}a`]);

    for (const name of ["\u0001".repeat(63) + "a", "\u0001".repeat(63) + "b"])
      expect((await u.api("POST", "/tags", { name })).status).toBe(202);
    await eventually(async () => (await u.api("GET", "/tags")).body.tags.length === 2);
    const tags = await u.api("GET", "/tags?limit=1");
    const rest = await u.api("GET", `/tags?limit=1&cursor=${tags.body.next_cursor}`);
    expect(rest.status).toBe(200);
    expect(rest.body.tags).toHaveLength(1);
  });
});

describe("X-Correlation-Id", () => {
  it("shaped like a UUID but not one (the nil UUID) is replaced, never a 400 on a field the client did not send", async () => {
    const u = await user();
    const res = await u.api("POST", "/tasks", { title: "t" }, { "x-correlation-id": "00000000-0000-0000-0000-000000000000" });
    expect(res.status).toBe(202);
    expect(res.body.correlation_id).not.toBe("00000000-0000-0000-0000-000000000000");
  });
});

describe("a task's history", () => {
  it("read after its last event is an empty page; a task with none is a 404; an `after` past 2^53 a 400 naming it", async () => {
    const u = await user();
    const id = (await u.api("POST", "/tasks", { title: "t" })).body.task.id;
    const history = await eventually(async () => {
      const r = await u.api("GET", `/tasks/${id}/history`);
      return r.status === 200 ? r.body : undefined;
    });
    const last = history.events.at(-1).seq;
    expect(await u.api("GET", `/tasks/${id}/history?after=${last}`)).toMatchObject({ status: 200, body: { events: [], next_after: null } });
    expect((await u.api("GET", `/tasks/${crypto.randomUUID()}/history?after=5`)).status).toBe(404);
    const huge = await u.api("GET", `/tasks/${id}/history?after=9223372036854775807`);
    expect(huge.status).toBe(400);
    expect(huge.body.error.details.map((d: { path: string }) => d.path)).toEqual(["after"]);
  });
});

describe("one-value headers with bytes beyond ASCII", () => {
  it("are a 400 naming the header, not one 'given twice'", async () => {
    const u = await user();
    const request = Buffer.concat([
      Buffer.from(`POST /api/${u.id}/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${u.token}\r\nIdempotency-Key: k`),
      Buffer.from([0xc3, 0xa9]),
      Buffer.from('x\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"title":"t"}'),
    ]);
    const answer = codeOf(await raw(config.ingestPort, request));
    expect(answer).toMatchObject({ status: 400, code: "validation_failed" });
    expect(answer.details).toEqual([{ path: "Idempotency-Key", message: "must be printable ASCII" }]);
  });
});

describe("the WebSocket path", () => {
  it("answers 426 to a plain GET and to another WebSocket version, naming version 13", async () => {
    const u = await user();
    const plain = await fetch(`http://127.0.0.1:${config.fanoutPort}/api/ws/${u.id}?token=${u.token}`);
    expect(plain.status).toBe(426);
    expect(plain.headers.get("upgrade")).toBe("websocket");
    expect(((await plain.json()) as { error: { code: string } }).error.code).toBe("upgrade_required");
    const version8 = await raw(
      config.fanoutPort,
      `GET /api/ws/${u.id}?token=${u.token} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n`,
    );
    expect(codeOf(version8)).toMatchObject({ status: 426, code: "upgrade_required" });
  });
});
