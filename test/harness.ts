/**
 * Helpers for integration tests on the real stack `make test` starts. Isolation is by name, not by
 * server: each test file gets its own topic prefix, Redis prefix and user ids.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { type Config, loadConfig } from "../common/config.ts";
import type { TaskFields } from "../common/contracts/index.ts";

export const uniqueId = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;

/** Config for one test file: unique topic and Redis prefixes on the shared test stack. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  const run = randomUUID().slice(0, 8);
  return loadConfig({
    // Tests sign tokens with the documented dev secret: the dev profile, unless a test says otherwise.
    TASKSTREAM_PROFILE: "dev",
    ...process.env,
    TOPIC_PREFIX: `t${run}.`,
    REDIS_PREFIX: `t${run}`,
    PROCESSORS_GROUP: `t${run}-processors`,
    LOG_LEVEL: "warn",
    ...overrides,
  });
}

/** The env a child process needs to run with `config`. */
export function envFor(config: Config, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const optional: Record<string, string | undefined> = {
    KAFKA_SASL_MECHANISM: config.kafkaSaslMechanism,
    KAFKA_SASL_USERNAME: config.kafkaSaslUsername,
    KAFKA_SASL_PASSWORD: config.kafkaSaslPassword,
    KAFKA_SSL_CA_FILE: config.kafkaSslCaFile,
  };
  return {
    ...process.env,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
    TASKSTREAM_PROFILE: config.profile,
    KAFKA_SSL: String(config.kafkaSsl),
    TOPIC_PREFIX: config.topicPrefix,
    REDIS_PREFIX: config.redisPrefix,
    KAFKA_BROKERS: config.kafkaBrokers,
    DATABASE_URL: config.databaseUrl,
    REDIS_URL: config.redisUrl,
    INGEST_PORT: String(config.ingestPort),
    PROCESSORS_PORT: String(config.processorsPort),
    SCHEDULER_PORT: String(config.schedulerPort),
    FANOUT_PORT: String(config.fanoutPort),
    PROCESSORS_GROUP: config.processorsGroup,
    ...extra,
  };
}

export interface RunningProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts `bin/taskstream.ts <args>` as a real OS process. */
export function startProcess(args: string[], env: NodeJS.ProcessEnv): RunningProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "bin/taskstream.ts", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Polls `fn` until it returns a truthy value or `ms` pass. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 10_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not reached within ${ms} ms${lastError ? `: ${(lastError as Error).message}` : ""}`);
}

/** The four services as one real OS process, with topics created for the config's prefix. */
export async function startSystem(
  config: Config,
  extra: Record<string, string> = {},
): Promise<RunningProcess & { stop: () => Promise<number | null> }> {
  const { createTopics } = await import("../redpanda/create-topics.ts");
  await createTopics(config);
  const proc = startProcess(["all"], envFor(config, { RATE_LIMIT_BURST: "100000", RATE_LIMIT_PER_SECOND: "100000", ...extra }));
  await eventually(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`system exited: ${proc.output()}`);
      const ready = await Promise.all(
        [config.ingestPort, config.fanoutPort, config.processorsPort].map((p) =>
          fetch(`http://127.0.0.1:${p}/readyz`).then(
            (r) => r.ok,
            () => false,
          ),
        ),
      );
      return ready.every(Boolean);
    },
    60_000,
    "system ready",
  );
  return {
    ...proc,
    stop: async () => {
      proc.child.kill("SIGTERM");
      return proc.exited;
    },
  };
}

/** A tiny API client bound to one user and token. */
/**
 * The ids of a user's applied events, read once a marker task created now is applied: one user's
 * events apply in order, so by then any write accepted before it is applied too. The marker's is last.
 */
export async function eventIdsThroughMarker(api: ReturnType<typeof apiClient>): Promise<string[]> {
  const marker = await api("POST", "/tasks", { title: "marker" });
  const ids = async () => ((await api("GET", "/events?since=0")).body.events as { event_id: string }[]).map((e) => e.event_id);
  return eventually(async () => {
    const seen = await ids();
    return seen.includes(marker.body.event_id) ? seen : undefined;
  });
}

export function apiClient(config: Config, userId: string, token: string) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`http://127.0.0.1:${config.ingestPort}/api/${userId}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, body: json, headers: res.headers };
  };
}

export interface WsClient {
  messages: any[];
  /** Resolves with the close code. */
  closed: Promise<number>;
  close(): void;
  /** Waits until `n` messages satisfying `pred` arrived. */
  waitFor(pred: (m: any) => boolean, n?: number, ms?: number): Promise<any[]>;
}

/** Opens a WebSocket like a browser would (token in the query); rejects with the HTTP status if refused. */
export async function wsConnect(config: Config, userId: string, token: string, since?: number): Promise<WsClient> {
  const { default: WebSocket } = await import("ws");
  const url = `ws://127.0.0.1:${config.fanoutPort}/api/ws/${userId}?token=${encodeURIComponent(token)}${since !== undefined ? `&since=${since}` : ""}`;
  const ws = new WebSocket(url);
  const messages: any[] = [];
  ws.on("message", (data: Buffer) => messages.push({ ...JSON.parse(data.toString()), _at: Date.now() }));
  const closed = new Promise<number>((resolve) => ws.on("close", (code: number) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req: unknown, res: { statusCode: number; headers: Record<string, string> }) =>
      reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode, headers: res.headers })),
    );
    ws.once("error", reject);
  });
  return {
    messages,
    closed,
    close: () => ws.close(),
    waitFor: (pred, n = 1, ms = 10_000) =>
      eventually(() => (messages.filter(pred).length >= n ? messages.filter(pred) : undefined), ms, `${n} WebSocket message(s)`),
  };
}

/** The fields of a plain task (no due date, tags, reminders or recurrence), with overrides. */
export function taskFields(overrides: Partial<TaskFields> = {}): TaskFields {
  return {
    title: "task",
    description: null,
    priority: "medium",
    due_date: null,
    timezone: "UTC",
    recurrence_rule: null,
    next_occurrence: null,
    parent_task_id: null,
    tags: [],
    reminders: [],
    ...overrides,
  };
}
