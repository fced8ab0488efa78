/**
 * Fault-test tooling: the four services as separate OS processes that can be SIGKILLed and
 * restarted, the stack's dependencies stopped and started, a bounded write load, and clients that
 * resume with `since` like a real client would.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { signLocalToken } from "../../common/auth.ts";
import type { Config } from "../../common/config.ts";
import { envFor, eventually, type RunningProcess, startProcess, uniqueId } from "../harness.ts";

const run = promisify(execFile);
export type ServiceName = "ingest" | "processors" | "scheduler" | "fanout";
const portOf = (config: Config, name: ServiceName) =>
  ({ ingest: config.ingestPort, processors: config.processorsPort, scheduler: config.schedulerPort, fanout: config.fanoutPort })[name];

export class Cluster {
  private readonly procs = new Map<ServiceName, RunningProcess>();
  constructor(
    readonly config: Config,
    private readonly extraEnv: Record<string, string> = {},
  ) {}

  async start(name: ServiceName) {
    const proc = startProcess(
      [name],
      envFor(this.config, { RATE_LIMIT_BURST: "100000", RATE_LIMIT_PER_SECOND: "100000", ...this.extraEnv }),
    );
    this.procs.set(name, proc);
    await eventually(
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`${name} exited: ${proc.output().slice(-2000)}`);
        return (await fetch(`http://127.0.0.1:${portOf(this.config, name)}/readyz`).catch(() => null))?.ok;
      },
      60_000,
      `${name} ready`,
    );
  }

  async startAll() {
    for (const name of ["processors", "scheduler", "fanout", "ingest"] as const) await this.start(name);
  }

  /** SIGKILL: no drain, no commit, no goodbye. */
  async kill(name: ServiceName) {
    const proc = this.procs.get(name);
    proc?.child.kill("SIGKILL");
    await proc?.exited;
  }

  async stopAll(): Promise<(number | null)[]> {
    const exits = [...this.procs.values()].map((p) => {
      p.child.kill("SIGTERM");
      return p.exited;
    });
    return Promise.all(exits);
  }

  output(name: ServiceName) {
    return this.procs.get(name)?.output() ?? "";
  }
}

/** Stops or starts one dependency of the running test stack (same STACK_PROFILE as the tests). */
export async function dependency(which: "kafka" | "redis" | "postgres", action: "stop" | "start") {
  await run(`stack/${which}.sh`, [action], { env: process.env });
}

/** A user's WebSocket that reconnects with `since` after any close, counting what arrives. */
export class ResumingClient {
  readonly received: any[] = [];
  lastSeq = 0;
  duplicates = 0;
  gaps = 0;
  private ws: any;
  private stopped = false;
  reconnects = 0;

  constructor(
    private readonly config: Config,
    readonly userId: string,
    private readonly token: string,
  ) {}

  async connect(): Promise<void> {
    const { default: WebSocket } = await import("ws");
    const url = `ws://127.0.0.1:${this.config.fanoutPort}/api/ws/${this.userId}?token=${this.token}&since=${this.lastSeq}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.on("message", (data: Buffer) => {
      const m = JSON.parse(data.toString());
      if (typeof m.seq !== "number" || m.type === "ready" || m.type === "resync_required") return;
      if (m.seq <= this.lastSeq) this.duplicates++;
      else {
        if (m.seq !== this.lastSeq + 1) this.gaps++;
        this.lastSeq = m.seq;
        this.received.push(m);
      }
    });
    ws.on("error", () => {});
    ws.on("close", () => {
      if (this.stopped) return;
      this.reconnects++;
      setTimeout(() => void this.connect().catch(() => setTimeout(() => void this.reconnectLater(), 500)), 200);
    });
  }

  private async reconnectLater() {
    if (this.stopped) return;
    await this.connect().catch(() => setTimeout(() => void this.reconnectLater(), 500));
  }

  close() {
    this.stopped = true;
    this.ws?.close();
  }
}

export interface LoadResult {
  /** event_id → user, in the order each user's writes were accepted. */
  accepted: Map<string, string[]>;
  queued: number;
  refused: Map<number | string, number>;
  /** The slowest answer to any write, in ms. */
  slowestMs: number;
}

/**
 * Each user writes tasks one after another (so per-user accept order is well defined) until
 * `stop()`; the whole load is bounded by `maxMs`.
 */
export function writeLoad(config: Config, users: { id: string; token: string }[], perUserIntervalMs: number, maxMs: number) {
  const result: LoadResult = { accepted: new Map(users.map((u) => [u.id, []])), queued: 0, refused: new Map(), slowestMs: 0 };
  let stopped = false;
  const deadline = Date.now() + maxMs;
  const loops = users.map(async (u, ui) => {
    let i = 0;
    while (!stopped && Date.now() < deadline) {
      const sent = performance.now();
      try {
        const res = await fetch(`http://127.0.0.1:${config.ingestPort}/api/${u.id}/tasks`, {
          method: "POST",
          headers: { authorization: `Bearer ${u.token}`, "content-type": "application/json" },
          body: JSON.stringify({ title: `load ${ui}.${i++}` }),
          signal: AbortSignal.timeout(10_000),
        });
        const body: any = await res.json().catch(() => ({}));
        result.slowestMs = Math.max(result.slowestMs, performance.now() - sent);
        if (res.status === 202) {
          result.accepted.get(u.id)!.push(body.event_id);
          if (body.queued) result.queued++;
        } else result.refused.set(res.status, (result.refused.get(res.status) ?? 0) + 1);
      } catch (err) {
        const key = (err as Error).name;
        result.refused.set(key, (result.refused.get(key) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, perUserIntervalMs));
    }
  });
  return {
    result,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return result;
    },
  };
}

export async function makeUsers(config: Config, n: number, label: string) {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const id = uniqueId(label);
      return { id, token: await signLocalToken(config, id) };
    }),
  );
}

/**
 * Waits until every accepted event reached its owner's client, then checks: each exactly once,
 * in the order the writes were accepted, no gap in seq.
 */
export async function expectAllDelivered(clients: ResumingClient[], load: LoadResult, ms = 120_000) {
  const total = [...load.accepted.values()].reduce((n, ids) => n + ids.length, 0);
  const started = Date.now();
  await eventually(
    () =>
      clients.every((c) => {
        const want = new Set(load.accepted.get(c.userId));
        return c.received.filter((m) => want.has(m.event_id)).length === want.size;
      }),
    ms,
    `all ${total} accepted events delivered`,
  );
  const report = { accepted: total, delivered: 0, duplicates: 0, gaps: 0, outOfOrder: 0, catchUpMs: Date.now() - started };
  for (const c of clients) {
    const want = load.accepted.get(c.userId)!;
    const got = c.received.filter((m) => m.type === "task.created").map((m) => m.event_id);
    report.delivered += got.filter((id) => want.includes(id)).length;
    report.duplicates += c.duplicates + (got.length - new Set(got).size);
    report.gaps += c.gaps;
    if (JSON.stringify(got.filter((id) => want.includes(id))) !== JSON.stringify(want)) report.outOfOrder++;
  }
  return report;
}
