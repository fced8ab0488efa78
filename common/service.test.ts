import { describe, expect, it, vi } from "vitest";
import { Health, runServices, type Service } from "./service.ts";

const ok = () => Promise.resolve();
const down = () => Promise.reject(new Error("connection refused"));
const service = (checks: Service["checks"], degradedWithout?: Service["degradedWithout"]): Service => ({
  name: "svc",
  start: ok,
  stop: ok,
  checks,
  ...(degradedWithout ? { degradedWithout } : {}),
});

async function readyz(s: Service, state: Health["state"] = "running") {
  const health = new Health(() => [s]);
  health.state = state;
  const r = await health.respond("/readyz");
  return { status: r?.status, body: JSON.parse(r?.body ?? "{}") };
}

describe("/readyz", () => {
  it("is not ready when a dependency the service needs is down, naming it", async () => {
    expect(await readyz(service({ broker: down, db: ok }))).toEqual({
      status: 503,
      body: { status: "not ready", state: "running", checks: { "svc.broker": "connection refused", "svc.db": "ok" } },
    });
  });

  it("stays ready without a dependency the service answers without, reporting it degraded", async () => {
    expect(await readyz(service({}, { redis: down, postgres: ok }))).toEqual({
      status: 200,
      body: { status: "ready", state: "running", checks: { "svc.redis": "degraded: connection refused", "svc.postgres": "ok" } },
    });
  });

  it("is not ready while starting or draining, whatever its dependencies", async () => {
    expect((await readyz(service({ db: ok }), "draining")).status).toBe(503);
    expect((await readyz(service({}, { redis: ok }), "starting")).status).toBe(503);
  });
});

describe("runServices", () => {
  const config = { shutdownTimeoutMs: 2_000 } as Parameters<typeof runServices>[0];
  const quiet = { info: () => {}, error: () => {} } as unknown as Parameters<typeof runServices>[3];

  it("stops a service whose start was under way when the signal came, and starts none after it", async () => {
    const calls: string[] = [];
    let signal: (s: string) => void = () => {};
    let finishStart: () => void = () => {};
    const first: Service = {
      name: "first",
      start: () =>
        new Promise<void>((resolve) => {
          calls.push("start first");
          finishStart = resolve;
        }),
      stop: async () => void calls.push("stop first"),
      checks: {},
    };
    const second: Service = { name: "second", start: async () => void calls.push("start second"), stop: ok, checks: {} };
    const health = new Health(() => [first, second]);
    const run = runServices(config, [first, second], health, quiet, (stop) => {
      signal = stop;
    });
    await vi.waitFor(() => expect(calls).toEqual(["start first"]));
    signal("SIGTERM");
    finishStart();
    expect(await run).toBe(0);
    expect(calls).toEqual(["start first", "stop first"]);
    expect(health.state).toBe("stopped");
  });
});
