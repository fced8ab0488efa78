/** Bad input as a hostile client sends it: always a clear 4xx, never a 5xx, nothing stored. */
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signLocalToken } from "../../common/auth.ts";
import { apiClient, eventually, startSystem, testConfig, uniqueId } from "../harness.ts";

const config = testConfig();
let system: Awaited<ReturnType<typeof startSystem>>;
const victim = uniqueId("victim");
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  system = await startSystem(config);
  api = apiClient(config, victim, await signLocalToken(config, victim));
});
afterAll(async () => {
  await system.stop();
});

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
const secret = new TextEncoder().encode(config.jwtSecret);

describe("request bodies", () => {
  it.each([
    ["malformed JSON", '{"title":', 400, "invalid_json", undefined],
    ["a bare array", "[]", 400, "validation_failed", "(body)"],
    ["a wrong type", { title: 5 }, 400, "validation_failed", "title"],
    ["an unknown field", { title: "x", admin: true }, 400, "validation_failed", "admin"],
    ["an empty title", { title: "" }, 400, "validation_failed", "title"],
    ["a 501-character title", { title: "x".repeat(501) }, 400, "validation_failed", "title"],
    ["a 1 MB title", { title: "x".repeat(1024 * 1024) }, 413, "payload_too_large", undefined],
    ["an unsupported RRULE", { title: "x", recurrence_rule: "FREQ=YEARLY" }, 400, "validation_failed", "recurrence_rule"],
    [
      "an RRULE part outside the subset",
      { title: "x", recurrence_rule: "FREQ=DAILY;BYSETPOS=1" },
      400,
      "validation_failed",
      "recurrence_rule",
    ],
    ["an unknown timezone", { title: "x", timezone: "Mars/Olympus_Mons" }, 400, "validation_failed", "timezone"],
    ["an impossible date", { title: "x", due_date: "2026-02-30T10:00:00Z" }, 400, "validation_failed", "due_date"],
    ["a date in words", { title: "x", due_date: "tomorrow" }, 400, "validation_failed", "due_date"],
    ["a bad priority", { title: "x", priority: "whenever" }, 400, "validation_failed", "priority"],
    ["a reminder without a due date", { title: "x", reminders: [{ before: "PT1H" }] }, 400, "validation_failed", "reminders[0].before"],
    [
      "a negative reminder",
      { title: "x", due_date: "2030-01-01T00:00:00Z", reminders: [{ before: "-PT1H" }] },
      400,
      "validation_failed",
      "reminders[0].before",
    ],
    ["nested junk", { title: "x", tags: [{ $gt: "" }] }, 400, "validation_failed", "tags[0]"],
  ])("rejects %s", async (_name, body, status, code, path) => {
    const res = await api("POST", "/tasks", body);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message.length).toBeGreaterThan(5);
    if (path) expect(res.body.error.details.map((d: any) => d.path)).toContain(path);
  });

  it("names every bad field at once", async () => {
    const res = await api("POST", "/tasks", { title: 1, priority: "x", extra: 1 });
    expect(res.body.error.details.map((d: any) => d.path).sort()).toEqual(["extra", "priority", "title"]);
  });

  it("refuses a body that is not JSON", async () => {
    const res = await api("POST", "/tasks", "title=x", { "content-type": "text/plain" });
    expect(res.status).toBe(415);
  });

  it("refuses a JSON body in another charset than UTF-8, or compressed, with 415 (it would be misread)", async () => {
    const refused: Record<string, string>[] = [
      { "content-type": "application/json; charset=utf-16" },
      { "content-type": 'application/json;charset="latin1"' },
      { "content-type": "application/json", "content-encoding": "gzip" },
    ];
    for (const headers of refused) {
      const res = await api("POST", "/tasks", { title: "x" }, headers);
      expect(res.status, JSON.stringify(headers)).toBe(415);
      expect(res.body.error.code).toBe("unsupported_media_type");
    }
    // UTF-8 said is read (and this body's mistake found).
    expect((await api("POST", "/tasks", { title: 1 }, { "content-type": "application/json; charset=UTF-8" })).status).toBe(400);
  });

  it("refuses an empty Idempotency-Key (uWS cuts a value at its first byte that is not ASCII), naming it", async () => {
    const res = await api("POST", "/tasks", { title: "x" }, { "idempotency-key": "" });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ path: "Idempotency-Key", message: expect.stringMatching(/printable ASCII/) }]);
  });

  it("refuses bad query parameters and cursors", async () => {
    for (const q of ["limit=abc", "limit=100000", "sort_by=evil", "status=maybe", "cursor=garbage", "unknown=1"]) {
      const res = await api("GET", `/tasks?${q}`);
      expect(res.status, q).toBe(400);
    }
  });

  it("treats SQL-looking input as data", async () => {
    expect((await api("GET", "/tasks/1'%20or%20'1'='1")).status).toBe(404);
    expect((await api("GET", "/tasks?search=%27%3B%20drop%20table%20tasks%3B--")).status).toBe(200);
    expect((await api("POST", "/tasks/'%3Bdrop/complete")).status).toBe(404);
  });

  it("answers any search, however many operators it strings together (PostgreSQL's tsquery stack overflowed at 33)", async () => {
    for (const unit of ["-", "- ", "-!", "!-", "-&", "-|", "-'", '-"', "or -", "--a ", '"', "!", "("]) {
      const search = unit.repeat(Math.ceil(200 / unit.length)).slice(0, 200);
      const res = await api("GET", `/tasks?search=${encodeURIComponent(search)}`);
      expect(res.status, `${JSON.stringify(unit)}: ${JSON.stringify(res.body)}`).toBe(200);
    }
  });
});

describe("tokens", () => {
  const path = `/api/${victim}/tasks`;
  const call = (token?: string) =>
    fetch(`http://127.0.0.1:${config.ingestPort}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it.each([
    ["missing", async () => undefined],
    ["garbage", async () => "abc.def.ghi"],
    [
      "expired",
      async () =>
        new SignJWT({})
          .setProtectedHeader({ alg: "HS256" })
          .setSubject(victim)
          .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
          .sign(secret),
    ],
    ["without exp", async () => new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(victim).sign(secret)],
    ["alg none", async () => `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: victim, exp: Math.floor(Date.now() / 1000) + 600 })}.`],
    [
      "signed with another secret",
      async () =>
        new SignJWT({})
          .setProtectedHeader({ alg: "HS256" })
          .setSubject(victim)
          .setExpirationTime("1h")
          .sign(new TextEncoder().encode("another-secret-another-secret-another-secret")),
    ],
    [
      "HS512 (not allowed)",
      async () => new SignJWT({}).setProtectedHeader({ alg: "HS512" }).setSubject(victim).setExpirationTime("1h").sign(secret),
    ],
  ])("refuses a %s token with 401", async (_name, make) => {
    const res = await call(await make());
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe("unauthorized");
  });

  it("refuses a huge token with 431", async () => {
    const res = await call(`${b64({ alg: "HS256" })}.${b64({ sub: victim, pad: "x".repeat(20000) })}.sig`);
    expect(res.status).toBe(431);
    expect(((await res.json()) as any).error.code).toBe("headers_too_large");
  });
});

describe("after all of that", () => {
  it("stored nothing for the victim", async () => {
    // A valid write now gets seq 1: nothing before it was applied.
    await api("POST", "/tasks", { title: "'); drop table tasks; --" });
    const events = await eventually(async () => {
      const r = await api("GET", "/events?since=0");
      return r.body.events.length > 0 ? r.body.events : undefined;
    });
    expect(events.map((e: any) => e.seq)).toEqual([1]);
    expect(events[0].data.task.title).toBe("'); drop table tasks; --");
  });
});
