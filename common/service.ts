/**
 * The lifecycle every process shares: explicit states, readiness checks, health endpoints and a
 * bounded graceful shutdown on SIGTERM/SIGINT (stop intake, drain, commit, close).
 */
import { createServer, type Server } from "node:http";
import type { Config } from "./config.ts";
import { type Logger, logger } from "./log.ts";
import { registry } from "./metrics.ts";

export type ServiceState = "starting" | "running" | "draining" | "stopped";
export type Check = () => Promise<unknown>;

export interface Service {
  readonly name: string;
  /** Connects to dependencies and starts intake; resolves once the service does its job. */
  start(): Promise<void>;
  /** Stops intake, drains in-flight work, commits and closes. Must be safe to call once after start. */
  stop(): Promise<void>;
  /** Named dependency checks for /readyz; each rejects when the dependency is unusable. */
  readonly checks: Record<string, Check>;
  /**
   * Dependencies the service answers without, degraded: /readyz reports them but stays ready. A
   * dependency every replica shares (a Redis restart) would otherwise take all of them out of the
   * load balancer at once, and clients would get the proxy's 503 instead of the service's answers.
   */
  readonly degradedWithout?: Record<string, Check>;
}

/** A failure to start that the operator can act on; printed as one line, no stack trace. */
export class StartupError extends Error {
  override name = "StartupError";
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `connect` and turns any failure into a StartupError naming the setting to fix. */
export async function dependency<T>(setting: string, value: string, ms: number, connect: () => Promise<T>): Promise<T> {
  try {
    return await withTimeout(connect(), ms, "connect");
  } catch (err) {
    throw new StartupError(`${setting}: cannot use ${value} (${(err as Error).message})`);
  }
}

export interface HealthResponse {
  status: number;
  contentType: string;
  body: string;
}

/** Answers /healthz, /readyz and /metrics for a set of services; null for any other path. */
export class Health {
  state: ServiceState = "starting";
  constructor(private readonly services: () => Service[]) {}

  async respond(path: string): Promise<HealthResponse | null> {
    if (path === "/healthz") return json(200, { status: "ok", state: this.state });
    if (path === "/metrics") return { status: 200, contentType: registry.contentType, body: await registry.metrics() };
    if (path !== "/readyz") return null;
    const results: Record<string, string> = {};
    let ok = this.state === "running";
    const all = this.services().flatMap((service) => [
      ...Object.entries(service.checks).map(([name, check]) => ({ key: `${service.name}.${name}`, name, check, needed: true })),
      ...Object.entries(service.degradedWithout ?? {}).map(([name, check]) => ({
        key: `${service.name}.${name}`,
        name,
        check,
        needed: false,
      })),
    ]);
    // At once, so dependencies that hang (not refuse) answer within one timeout, under a probe's.
    await Promise.all(
      all.map(async ({ key, name, check, needed }) => {
        try {
          await withTimeout(check(), 2000, name);
          results[key] = "ok";
        } catch (err) {
          if (needed) ok = false;
          results[key] = needed ? (err as Error).message : `degraded: ${(err as Error).message}`;
        }
      }),
    );
    return json(ok ? 200 : 503, { status: ok ? "ready" : "not ready", state: this.state, checks: results });
  }
}

const json = (status: number, body: unknown): HealthResponse => ({ status, contentType: "application/json", body: JSON.stringify(body) });

/** A plain HTTP server for processes without their own (processors, scheduler). */
export function healthServer(health: Health, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    health.respond((req.url ?? "/").split("?")[0] ?? "/").then(
      (r) => {
        const out = r ?? json(404, { error: { code: "not_found", message: "no such route" } });
        res.writeHead(out.status, { "content-type": out.contentType }).end(out.body);
      },
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", (err) => reject(new StartupError(`cannot listen on ${host}:${port} (${err.message})`)));
    server.listen(port, host, () => resolve(server));
  });
}

/**
 * Starts services in order and stops them in reverse on SIGTERM/SIGINT, within
 * SHUTDOWN_TIMEOUT_MS. Resolves when everything stopped; the exit code says whether it was clean.
 */
export async function runServices(
  config: Config,
  services: Service[],
  health: Health,
  log: Logger = logger("lifecycle"),
  onSignal: (stop: (signal: string) => void) => void = (stop) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => stop(signal));
  },
): Promise<number> {
  const started: Service[] = [];
  let starting: Promise<void> | undefined;
  let stopping: Promise<number> | undefined;
  const stopAll = (reason: string): Promise<number> => {
    stopping ??= (async () => {
      health.state = "draining";
      log.info({ reason }, "shutting down");
      const drain = (async () => {
        // A signal during start-up: the service starting now finishes (or fails) first, so it is
        // stopped with the others rather than left running.
        await starting?.catch(() => {});
        for (const s of [...started].reverse()) {
          try {
            await s.stop();
            log.info({ service: s.name }, "stopped");
          } catch (err) {
            log.error({ service: s.name, err }, "stop failed");
          }
        }
      })();
      try {
        await withTimeout(drain, config.shutdownTimeoutMs, "graceful shutdown");
        health.state = "stopped";
        return 0;
      } catch (err) {
        log.error({ err: (err as Error).message }, "drain exceeded SHUTDOWN_TIMEOUT_MS, exiting anyway");
        return 1;
      }
    })();
    return stopping;
  };
  const done = new Promise<number>((resolve) => {
    onSignal((signal) => void stopAll(signal).then(resolve));
  });
  try {
    for (const s of services) {
      if (stopping) return done;
      starting = s.start().then(() => {
        started.push(s);
      });
      await starting;
      log.info({ service: s.name }, "started");
    }
  } catch (err) {
    if (stopping) return done;
    await stopAll("start-up failed");
    throw err;
  }
  if (!stopping) health.state = "running";
  return done;
}
