/**
 * CORS and browser safety on the real stack: preflights, the CORS headers on successes, errors,
 * 404s and 413s, the browser-safety headers, and the fan-out's Origin check at the upgrade.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signLocalToken } from "../common/auth.ts";
import { startSystem, testConfig, uniqueId } from "../test/harness.ts";

const ALLOWED = "http://localhost:5173";
const FOREIGN = "https://evil.example";
const config = testConfig({ CORS_ORIGINS: "http://localhost:*,https://app.example.com" });
let system: Awaited<ReturnType<typeof startSystem>>;
let user: string;
let token: string;
const base = `http://127.0.0.1:${config.ingestPort}`;

beforeAll(async () => {
  system = await startSystem(config, { CORS_ORIGINS: config.corsOrigins, BODY_LIMIT_BYTES: "1024" });
  user = uniqueId("cors");
  token = await signLocalToken(config, user);
});
afterAll(async () => {
  expect(await system.stop()).toBe(0);
});

const call = (method: string, path: string, headers: Record<string, string>, body?: string) =>
  fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });

function expectCors(res: Response, origin = ALLOWED) {
  expect(res.headers.get("access-control-allow-origin")).toBe(origin);
  expect(res.headers.get("vary")).toMatch(/origin/i);
  expect(res.headers.get("access-control-expose-headers")).toMatch(/retry-after/);
  expect(res.headers.get("access-control-expose-headers")).toMatch(/x-correlation-id/);
  expect(res.headers.get("access-control-allow-credentials")).toBeNull();
}

describe("CORS on the HTTP API", () => {
  it.each([
    ["POST", "/api/u/tasks"],
    ["PATCH", "/api/u/tasks/00000000-0000-4000-8000-000000000000"],
    ["DELETE", "/api/u/tags/00000000-0000-4000-8000-000000000000"],
    ["GET", "/api/u/events?since=3"],
    ["PUT", "/api/u/settings"],
    ["POST", "/no/such/route"],
  ])("answers the preflight of %s %s", async (method, path) => {
    const res = await call("OPTIONS", path, {
      origin: ALLOWED,
      "access-control-request-method": method,
      "access-control-request-headers": "authorization, content-type, idempotency-key",
    });
    expect(res.status).toBe(204);
    // RFC 9110 §8.6: none on a 204 (hyper-express's own 204 sent 2^63, which proxies refuse).
    expect(res.headers.get("content-length")).toBeNull();
    expectCors(res);
    expect(res.headers.get("access-control-allow-methods")).toContain(method);
    for (const h of ["authorization", "content-type", "idempotency-key", "x-correlation-id"])
      expect(res.headers.get("access-control-allow-headers")).toContain(h);
    expect(Number(res.headers.get("access-control-max-age"))).toBeGreaterThan(0);
  });

  it("refuses a foreign origin's preflight with the JSON error and no CORS grant", async () => {
    const res = await call("OPTIONS", `/api/${user}/tasks`, { origin: FOREIGN, "access-control-request-method": "POST" });
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(await res.json()).toMatchObject({ error: { code: "origin_not_allowed" } });
  });

  it("grants the allowed origin on a 202 write, with the safety headers and the correlation id", async () => {
    const res = await call(
      "POST",
      `/api/${user}/tasks`,
      { origin: ALLOWED, authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": uniqueId("k") },
      JSON.stringify({ title: "from a browser" }),
    );
    expect(res.status).toBe(202);
    expectCors(res);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const body = (await res.json()) as any;
    expect(res.headers.get("x-correlation-id")).toBe(body.correlation_id);
  });

  it("carries the headers on errors: 401, 403, 404, 413, 415", async () => {
    const auth = { origin: ALLOWED, authorization: `Bearer ${token}` };
    const cases: [number, Promise<Response>][] = [
      [401, call("GET", `/api/${user}/tasks`, { origin: ALLOWED })],
      [403, call("GET", `/api/someone-else/tasks`, auth)],
      [404, call("GET", "/nothing/here", { origin: ALLOWED })],
      [404, call("GET", `/api/${user}/tasks/00000000-0000-4000-8000-000000000000`, auth)],
      [
        413,
        call("POST", `/api/${user}/tasks`, { ...auth, "content-type": "application/json" }, JSON.stringify({ title: "x".repeat(2000) })),
      ],
      [415, call("POST", `/api/${user}/tasks`, { ...auth, "content-type": "text/plain" }, "hi")],
    ];
    for (const [status, pending] of cases) {
      const res = await pending;
      expect(res.status).toBe(status);
      expectCors(res);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(((await res.json()) as any).error.code).toBeTypeOf("string");
    }
    const unauth = await call("GET", `/api/${user}/tasks`, { origin: ALLOWED });
    expect(unauth.headers.get("cache-control")).toBe("no-store");
  });

  it("does not grant a foreign origin on a simple request (the browser then hides the answer)", async () => {
    const res = await call("GET", `/api/${user}/tasks`, { origin: FOREIGN, authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("vary")).toMatch(/origin/i);
  });
});

describe("Origin check at the WebSocket upgrade", () => {
  const open = async (origin?: string) => {
    const { default: WebSocket } = await import("ws");
    const ws = new WebSocket(`ws://127.0.0.1:${config.fanoutPort}/api/ws/${user}?token=${token}`, origin ? { origin } : {});
    return new Promise<{ status: number; body?: string }>((resolve, reject) => {
      ws.once("open", () => {
        ws.close();
        resolve({ status: 101 });
      });
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (d: Buffer) => {
          body += d.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.once("error", reject);
    });
  };

  it("refuses a foreign origin with 403 and the JSON error body", async () => {
    const r = await open(FOREIGN);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body!)).toMatchObject({ error: { code: "origin_not_allowed" } });
  });

  it("accepts an allowed origin and a client without Origin", async () => {
    expect((await open(ALLOWED)).status).toBe(101);
    expect((await open("https://app.example.com")).status).toBe(101);
    expect((await open()).status).toBe(101);
  });
});
