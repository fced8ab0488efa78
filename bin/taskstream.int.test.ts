/** The CLI as operators run it: all four processes ready, clean SIGTERM, one-line config errors. */
import { describe, expect, it } from "vitest";
import { envFor, eventually, startProcess, testConfig } from "../test/harness.ts";

const config = testConfig();

describe("npm start -- all", () => {
  it("serves /healthz, /readyz and /metrics on every port and stops cleanly on SIGTERM", async () => {
    const proc = startProcess(["all"], envFor(config));
    try {
      for (const port of [config.ingestPort, config.processorsPort, config.schedulerPort, config.fanoutPort]) {
        await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 30_000, `readyz on ${port}`);
        expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
        expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toContain("taskstream_process_cpu");
      }
    } finally {
      proc.child.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
  });
});

describe("bad configuration", () => {
  it.each([
    [{ DATABASE_URL: "not-a-url" }, /^taskstream: DATABASE_URL="not-a-url" is invalid/m],
    [{ REDIS_URL: "redis://127.0.0.1:1", DEPENDENCY_TIMEOUT_MS: "2000" }, /^taskstream: REDIS_URL: cannot use redis:\/\/127\.0\.0\.1:1/m],
  ])("%o exits non-zero with one line naming the setting", async (env, message) => {
    const proc = startProcess(["processors"], envFor(config, env));
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toMatch(message);
    expect(proc.output()).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe("an unreachable broker", () => {
  it("is an outage, not a configuration error: the process stays up, not ready, names KAFKA_BROKERS, and stops cleanly", async () => {
    const proc = startProcess(["processors"], envFor(config, { KAFKA_BROKERS: "127.0.0.1:1", DEPENDENCY_TIMEOUT_MS: "2000" }));
    try {
      const body = await eventually(
        async () => {
          const r = await fetch(`http://127.0.0.1:${config.processorsPort}/readyz`);
          return r.status === 503 ? await r.text() : undefined;
        },
        30_000,
        "processors answering not ready",
      );
      expect(body).toMatch(/KAFKA_BROKERS/);
      await eventually(() => /broker not reachable \(KAFKA_BROKERS\)/.test(proc.output()), 30_000, "a warning naming KAFKA_BROKERS");
    } finally {
      proc.child.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
  });
});
