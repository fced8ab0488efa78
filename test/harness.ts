/**
 * Helpers for integration tests on the real stack `make test` starts. Isolation is by name, not by
 * server: each test file gets its own topic prefix, Redis prefix and user ids.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { type Config, loadConfig } from "../common/config.ts";

export const uniqueId = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;

/** Config for one test file: unique topic and Redis prefixes on the shared test stack. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  const run = randomUUID().slice(0, 8);
  return loadConfig({
    ...process.env,
    TOPIC_PREFIX: `t${run}.`,
    REDIS_PREFIX: `t${run}`,
    PROCESSORS_GROUP: `t${run}-processors`,
    SCHEDULER_GROUP: `t${run}-scheduler`,
    LOG_LEVEL: "warn",
    ...overrides,
  });
}

/** The env a child process needs to run with `config`. */
export function envFor(config: Config, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
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
    SCHEDULER_GROUP: config.schedulerGroup,
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
