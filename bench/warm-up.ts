/**
 * Warms the freshly started services up before a suite is measured: writes at WARM_RATE per
 * second for WARM_SECONDS through ingest (users of their own), then waits until the processors
 * have applied all of them. The JITs (V8's in each service, C2 in the broker) compile the hot
 * paths here, outside the measured window, as they would have long before in a running
 * deployment. Exits non-zero if a write is refused or not applied in time.
 *
 * The rate matters, not only the time: a JIT compiles a method after so many calls. At 200/s the
 * broker was still compiling in the first ~7 s of the measured window (it took 35-50 % of a core
 * there against 16-25 % after, and the 30 s e2e suite read p95 95 ms; at 600/s, 39).
 *
 *   node --import tsx bench/warm-up.ts        # INGEST_URL, PROCESSORS_METRICS_URL, WARM_RATE 600, WARM_SECONDS 20
 */
import { randomUUID } from "node:crypto";
import { signLocalToken } from "../common/auth.ts";
import { loadConfig } from "../common/config.ts";

const RATE = Number(process.env.WARM_RATE ?? 600);
const SECONDS = Number(process.env.WARM_SECONDS ?? 20);
const USERS = 50;
const ingest = process.env.INGEST_URL ?? "http://127.0.0.1:48080";
const metricsUrl = process.env.PROCESSORS_METRICS_URL ?? "http://127.0.0.1:48081/metrics";

const config = loadConfig();
const users = Array.from({ length: USERS }, (_, i) => `warm-up-${i}`);
const tokens = await Promise.all(users.map((u) => signLocalToken(config, u, "1h")));

async function appliedSoFar(): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split("\n").find((l) => l.startsWith('taskstream_processor_events_total{outcome="applied"}'));
  return Number(line?.split(" ")[1] ?? 0);
}

const before = await appliedSoFar();
let sent = 0;
let refused = 0;
const inFlight = new Set<Promise<void>>();
const started = Date.now();
while (Date.now() - started < SECONDS * 1000) {
  const due = Math.floor(((Date.now() - started) / 1000) * RATE);
  for (; sent < due; sent++) {
    const i = sent % USERS;
    const write = fetch(`${ingest}/api/${users[i]}/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens[i]}`, "content-type": "application/json", "x-correlation-id": randomUUID() },
      body: JSON.stringify({ title: `warm-up ${sent}`, priority: "medium", timezone: "UTC" }), // the suites' writes
    }).then(
      async (r) => {
        if (r.status !== 202) refused++;
        await r.arrayBuffer();
      },
      () => void refused++,
    );
    inFlight.add(write);
    void write.finally(() => inFlight.delete(write));
  }
  await new Promise((r) => setTimeout(r, 5));
}
await Promise.all(inFlight);
const deadline = Date.now() + 60_000;
while ((await appliedSoFar()) - before < sent - refused && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
const applied = (await appliedSoFar()) - before;
console.log(JSON.stringify({ warm_up: { rate: RATE, seconds: SECONDS, sent, refused, applied } }));
if (refused > 0 || applied < sent) process.exit(1);
