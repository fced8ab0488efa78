/**
 * Secured dependencies by configuration alone: the whole pipeline (HTTP → Kafka → processors →
 * PostgreSQL/Redis → WebSocket, and a BullMQ reminder) through the local broker's SASL/SCRAM-SHA-256
 * listener (stack/kafka.sh) and a real Redis that requires a password. Wrong credentials and a
 * production start without a JWT secret are one line naming the setting, exit 1.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signLocalToken } from "../../common/auth.ts";
import { LOCAL_JWT_SECRET } from "../../common/config.ts";
import { apiClient, envFor, eventually, startProcess, startSystem, testConfig, uniqueId, wsConnect } from "../harness.ts";

const scram = {
  brokers: process.env.TEST_KAFKA_SCRAM_BROKERS,
  username: process.env.TEST_KAFKA_SCRAM_USERNAME,
  password: process.env.TEST_KAFKA_SCRAM_PASSWORD,
};
if (!scram.brokers || !scram.username || !scram.password) {
  throw new Error("TEST_KAFKA_SCRAM_BROKERS/USERNAME/PASSWORD are not set: run through stack/test.sh (stack/up.sh exports them)");
}
const REDIS_PASSWORD = "taskstream-test-redis-password";

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

let redisProc: ChildProcess | undefined;
let redisDir = "";
let redisPort = 0;
let system: Awaited<ReturnType<typeof startSystem>> | undefined;
let config: ReturnType<typeof testConfig>;
const publicPort = () => config.ingestPort + 5;

beforeAll(async () => {
  // A second, real Redis with `requirepass` and protected mode, as k8s and compose run it.
  redisDir = mkdtempSync(join(tmpdir(), "ts-redis-auth-"));
  redisPort = await freePort();
  redisProc = spawn(
    "redis-server",
    ["--bind", "127.0.0.1", "--port", String(redisPort), "--dir", redisDir, "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  redisProc.stdin?.end();
  const probe = new Redis({ port: redisPort, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  probe.on("error", () => {});
  await eventually(async () => (await probe.ping()) === "PONG", 10_000, "password Redis up");
  await probe.config("SET", "requirepass", REDIS_PASSWORD);
  await probe.config("SET", "protected-mode", "yes");
  probe.disconnect();

  config = testConfig({
    KAFKA_BROKERS: scram.brokers as string,
    KAFKA_SASL_MECHANISM: "SCRAM-SHA-256",
    KAFKA_SASL_USERNAME: scram.username as string,
    KAFKA_SASL_PASSWORD: scram.password as string,
    REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:${redisPort}`,
  });
  // As on Render: `all` behind one public port (PUBLIC_PORT) for HTTP and WebSocket.
  system = await startSystem(config, { PUBLIC_PORT: String(publicPort()) });
  await eventually(async () => (await fetch(`http://127.0.0.1:${config.schedulerPort}/readyz`)).ok, 30_000, "scheduler ready");
});

afterAll(async () => {
  if (system) expect(await system.stop()).toBe(0);
  redisProc?.kill("SIGTERM");
  if (redisProc && redisProc.exitCode === null) await new Promise((r) => redisProc?.once("exit", r));
  rmSync(redisDir, { recursive: true, force: true });
});

describe("SASL/SCRAM-SHA-256 broker and a password-protected Redis", () => {
  it("runs the pipeline: a write over HTTP reaches the WebSocket, a reminder fires through BullMQ", async () => {
    const id = uniqueId("scram");
    const token = await signLocalToken(config, id);
    const api = apiClient(config, id, token);
    const ws = await wsConnect(config, id, token);
    await ws.waitFor((m) => m.type === "ready");

    const res = await api("POST", "/tasks", { title: "over SCRAM", reminders: [{ at: new Date(Date.now() + 1500).toISOString() }] });
    expect(res.status).toBe(202);
    expect(res.body.queued).toBe(false); // the broker took it, not the fallback queue
    const [created] = await ws.waitFor((m) => m.type === "task.created", 1, 30_000);
    expect(created).toMatchObject({ event_id: res.body.event_id, aggregate_id: res.body.task.id, user_id: id });
    expect(created.seq).toBe(1);
    const [fired] = await ws.waitFor((m) => m.type === "reminder.triggered", 1, 30_000);
    expect(fired).toMatchObject({ aggregate_id: res.body.task.id, seq: 2 });
    ws.close();

    // Nothing reached Redis without the password.
    const anon = new Redis({ port: redisPort, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    anon.on("error", () => {});
    await expect(anon.ping()).rejects.toThrow(/NOAUTH|Authentication required/);
    anon.disconnect();
  });
});

describe("one public port (PUBLIC_PORT, for Render)", () => {
  it("serves the HTTP API, /readyz and the WebSocket on one port", async () => {
    const front = { ...config, ingestPort: publicPort(), fanoutPort: publicPort() };
    expect((await fetch(`http://127.0.0.1:${publicPort()}/readyz`)).status).toBe(200);
    const id = uniqueId("front");
    const token = await signLocalToken(config, id);
    const ws = await wsConnect(front, id, token);
    await ws.waitFor((m) => m.type === "ready");
    const res = await apiClient(front, id, token)("POST", "/tasks", { title: "through one port" });
    expect(res.status).toBe(202);
    const [created] = await ws.waitFor((m) => m.type === "task.created", 1, 30_000);
    expect(created).toMatchObject({ event_id: res.body.event_id, seq: 1 });
    const listed = await apiClient(front, id, token)("GET", `/tasks/${res.body.task.id}`);
    expect([200, 404]).toContain(listed.status); // JSON either way, through the front
    ws.close();
    await expect(wsConnect(front, id, "not-a-token")).rejects.toMatchObject({ status: 401 });
  });
});

describe("wrong credentials and secrets: one line naming the setting, exit 1", () => {
  const oneLine = async (args: string[], env: Record<string, string>, message: RegExp) => {
    const proc = startProcess(args, { ...envFor(config), DEPENDENCY_TIMEOUT_MS: "20000", ...env });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toMatch(message);
    expect(proc.output()).not.toMatch(/\n\s+at /); // no stack trace
  };

  it("a wrong KAFKA_SASL_PASSWORD", async () => {
    await oneLine(["processors"], { KAFKA_SASL_PASSWORD: "not-the-password" }, /^taskstream: KAFKA_SASL_PASSWORD .*refused by the broker/m);
  });

  it("a wrong Redis password in REDIS_URL", async () => {
    await oneLine(
      ["fanout"],
      { REDIS_URL: `redis://:wrong@127.0.0.1:${redisPort}`, DEPENDENCY_TIMEOUT_MS: "3000" },
      /^taskstream: REDIS_URL: cannot use redis:\/\/:\*\*\*@127\.0\.0\.1/m,
    );
  });

  it.each([[{ JWT_SECRET: "" }], [{ JWT_SECRET: LOCAL_JWT_SECRET }]])("a production start with %o", async (env) => {
    await oneLine(
      ["ingest"],
      { TASKSTREAM_PROFILE: "production", ...env },
      /^taskstream: JWT_SECRET is unset or the documented dev secret/m,
    );
  });
});
