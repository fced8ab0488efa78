// Suites 1 and 2: end-to-end latency at a constant arrival rate, and the throughput ramp.
//
// USERS users each hold SOCKETS_PER_USER WebSockets (k6 VUs of the `sockets` scenario). Writers
// create tasks over HTTP at a constant arrival rate (MODE=latency) or in rising steps (MODE=ramp),
// each request tagged with a time-stamped correlation id (lib/common.js), so every socket that
// receives the event measures
//   e2e_http_to_ws   HTTP request sent  -> event arrives on the owner's socket
//   e2e_event_to_ws  envelope timestamp (set by ingest) -> arrival
// and checks `seq` (strictly +1 per user) for gaps (lost) and repeats (duplicated). When a socket
// closes it asks the polling endpoint for the latest seq, so events applied but never delivered
// count as lost too; teardown compares the accepted writes with what the processors applied.
//
// env: MODE=latency|ramp USERS SOCKETS_PER_USER RATE DURATION(s) WARMUP(s) DRAIN(s) DRAIN_MAX(s)
//      STEPS=comma list of events/s (ramp) STEP_SECONDS WRITE_VUS MAX_WRITE_VUS RUN_ID
import { check } from "k6";
import exec from "k6/execution";
import http from "k6/http";
import { Counter, Trend } from "k6/metrics";
import { setTimeout } from "k6/timers";
import { WebSocket } from "k6/websockets";
import { correlationTime, env, INGEST, jsonHeaders, num, RUN_ID, timedCorrelationId, token, userId, wsUrl } from "./lib/common.js";

const MODE = env("MODE", "latency");
const USERS = num("USERS", MODE === "ramp" ? 100 : 250);
const SOCKETS = num("SOCKETS_PER_USER", MODE === "ramp" ? 1 : 4);
const WARMUP = num("WARMUP", 15);
const DRAIN = num("DRAIN", 10);
const RATE = num("RATE", 1000);
const STEPS = env("STEPS", "100,200,300,400,600,800,1000,2000,5000,10000").split(",").map(Number);
const STEP_SECONDS = num("STEP_SECONDS", 20);
const DURATION = MODE === "ramp" ? STEPS.length * STEP_SECONDS : num("DURATION", 60);
const WRITE_VUS = num("WRITE_VUS", MODE === "ramp" ? 200 : 100);
const MAX_WRITE_VUS = num("MAX_WRITE_VUS", 1000);
const P95 = num("P95_MS", MODE === "ramp" ? 100 : 50);
const P99 = num("P99_MS", 100);
const DRAIN_MAX = num("DRAIN_MAX", 60);
const QUIET = 3000;
const PROCESSORS_METRICS = env("PROCESSORS_METRICS_URL", "http://127.0.0.1:48081/metrics");

const httpToWs = new Trend("e2e_http_to_ws", true);
const eventToWs = new Trend("e2e_event_to_ws", true);
const received = new Counter("ws_events_received");
const lost = new Counter("ws_events_lost");
const duplicated = new Counter("ws_events_duplicated");
const accepted = new Counter("writes_accepted");
const failed = new Counter("writes_failed");
const applied = new Counter("events_applied");
const wsOpened = new Counter("ws_opened");
const wsFailed = new Counter("ws_failed");
const wsUnexpectedClose = new Counter("ws_unexpected_close");
const drainTimeouts = new Counter("ws_drain_timeouts");

const writers =
  MODE === "ramp"
    ? {
        executor: "ramping-arrival-rate",
        startRate: STEPS[0],
        timeUnit: "1s",
        preAllocatedVUs: WRITE_VUS,
        maxVUs: MAX_WRITE_VUS,
        stages: STEPS.flatMap((/** @type {number} */ r) => [
          { target: r, duration: "1s" },
          { target: r, duration: `${STEP_SECONDS - 1}s` },
        ]),
        startTime: `${WARMUP}s`,
        exec: "write",
      }
    : {
        executor: "constant-arrival-rate",
        rate: RATE,
        timeUnit: "1s",
        duration: `${DURATION}s`,
        preAllocatedVUs: WRITE_VUS,
        maxVUs: MAX_WRITE_VUS,
        startTime: `${WARMUP}s`,
        exec: "write",
      };

/** @type {Record<string, string[]>} */
const thresholds = {
  // (no limit: declared so the summary has the create requests apart from the drain polling)
  "http_req_duration{name:create_task}": ["max>=0"],
  e2e_http_to_ws: [`p(95)<${P95}`, `p(99)<${P99}`],
  ws_events_lost: ["count==0"],
  ws_events_duplicated: ["count==0"],
  writes_failed: ["count==0"],
  ws_failed: ["count==0"],
  ws_unexpected_close: ["count==0"],
};
if (MODE === "ramp") {
  // One sub-metric per step so the summary shows where p95 crosses the line.
  delete thresholds.e2e_http_to_ws;
  STEPS.forEach((/** @type {number} */ _, /** @type {number} */ i) => {
    thresholds[`e2e_http_to_ws{step:${i}}`] = [`p(95)<${P95}`];
    thresholds[`e2e_event_to_ws{step:${i}}`] = [`p(95)<${P95}`];
    thresholds[`writes_accepted{step:${i}}`] = ["count>=0"];
    thresholds[`writes_failed{step:${i}}`] = ["count==0"];
    thresholds[`ws_events_received{step:${i}}`] = ["count>=0"];
  });
}

export const options = {
  setupTimeout: "60s",
  teardownTimeout: "120s",
  scenarios: {
    sockets: {
      executor: "per-vu-iterations",
      vus: USERS * SOCKETS,
      iterations: 1,
      maxDuration: `${WARMUP + DURATION + DRAIN + DRAIN_MAX + 30}s`,
      exec: "listen",
    },
    writers,
  },
  thresholds,
  summaryTrendStats: ["min", "med", "avg", "p(90)", "p(95)", "p(99)", "max", "count"],
  discardResponseBodies: false,
};

export function setup() {
  return { t0: Date.now(), runId: RUN_ID };
}

/** @type {(t0: number, ms: number) => string} */
const stepOf = (t0, ms) => {
  const s = Math.floor((ms - t0 - WARMUP * 1000) / (STEP_SECONDS * 1000));
  return String(Math.max(0, Math.min(STEPS.length - 1, s)));
};

/** @param {{ t0: number }} data */
export function listen(data) {
  const k = exec.scenario.iterationInTest;
  const user = userId(k % USERS);
  const tok = token(user);
  const closeAt = data.t0 + (WARMUP + DURATION + DRAIN) * 1000;
  // Stagger the connects over the first third of the warm-up.
  const delay = (((k * 37) % (USERS * SOCKETS)) / (USERS * SOCKETS)) * (WARMUP * 333);
  /** @type {number | null} */
  let last = null;
  let closing = false;
  let lastMessageAt = Date.now();
  setTimeout(() => {
    const ws = new WebSocket(wsUrl(user, tok));
    ws.onopen = () => wsOpened.add(1);
    ws.onerror = () => {
      if (last === null) wsFailed.add(1);
    };
    ws.onmessage = (m) => {
      const now = Date.now();
      const msg = JSON.parse(String(m?.data));
      lastMessageAt = now;
      if (msg.type === "ready") {
        last = msg.seq;
        return;
      }
      if (typeof msg.seq !== "number" || last === null) return;
      if (msg.seq <= last) {
        duplicated.add(1);
        return;
      }
      if (msg.seq > last + 1) lost.add(msg.seq - last - 1);
      last = msg.seq;
      const sent = correlationTime(msg.correlation_id);
      /** @type {Record<string, string>} */
      const tags = MODE === "ramp" ? { step: stepOf(data.t0, Number.isNaN(sent) ? now : sent) } : {};
      received.add(1, tags);
      if (!Number.isNaN(sent)) httpToWs.add(now - sent, tags);
      eventToWs.add(now - Date.parse(msg.timestamp), tags);
    };
    ws.onclose = () => {
      if (!closing) wsUnexpectedClose.add(1);
      if (last === null) return;
      // Anything applied after the last event this socket saw never reached it.
      const r = http.get(`${INGEST}/api/${user}/events?since=${last}&limit=1`, {
        headers: jsonHeaders(tok),
        tags: { name: "events_tail" },
      });
      if (r.status === 200) {
        const latest = Number(r.json("seq"));
        if (latest > last) lost.add(latest - last);
      }
    };
    // After the writes (+ DRAIN), close once this socket has everything the processors applied
    // for its user and nothing arrived for QUIET ms, or at DRAIN_MAX: a slow pipeline shows as
    // latency, and only what never arrives counts as lost.
    const finish = () => {
      const now = Date.now();
      const caughtUp = () => {
        const r = http.get(`${INGEST}/api/${user}/events?since=${last ?? 0}&limit=1`, {
          headers: jsonHeaders(tok),
          tags: { name: "events_tail" },
        });
        return r.status === 200 && Number(r.json("seq")) <= (last ?? 0);
      };
      if (now >= closeAt + DRAIN_MAX * 1000 || (now - lastMessageAt >= QUIET && pipelineDrained() && caughtUp())) {
        if (now >= closeAt + DRAIN_MAX * 1000) drainTimeouts.add(1);
        closing = true;
        ws.close();
        return;
      }
      setTimeout(finish, 1000 + Math.random() * 2000); // jittered: 1,000 sockets poll /metrics
    };
    setTimeout(finish, Math.max(0, closeAt - Date.now()));
  }, delay);
}

// The pipeline is drained when the processors have handled every write ingest accepted (both
// services are fresh per suite run, so their counters cover this run only).
/** @type {(url: string, re: RegExp) => number} */
const counter = (url, re) => {
  const r = http.get(url, { tags: { name: "metrics" } });
  if (r.status !== 200) return NaN;
  let n = 0;
  for (const m of String(r.body).matchAll(re)) n += Number(m[1]);
  return n;
};
function pipelineDrained() {
  const accepted = counter(
    `${INGEST}/metrics`,
    /^taskstream_http_requests_total\{[^}]*route="POST \/api\/:user_id\/tasks"[^}]*status="202"[^}]*\} (\S+)$/gm,
  );
  const handled = counter(PROCESSORS_METRICS, /^taskstream_processor_events_total\{outcome="(?:applied|dead_letter)"\} (\S+)$/gm);
  return handled >= accepted;
}

/** @type {Record<string, string>} */
const tokens = {};
/** @param {{ t0: number }} data */
export function write(data) {
  const i = Math.floor(Math.random() * USERS);
  const user = userId(i);
  tokens[user] ??= token(user);
  const sentAt = Date.now();
  /** @type {Record<string, string>} */
  const tags = MODE === "ramp" ? { step: stepOf(data.t0, sentAt) } : {};
  const r = http.post(
    `${INGEST}/api/${user}/tasks`,
    JSON.stringify({ title: `bench ${exec.scenario.iterationInTest}`, priority: "medium", timezone: "UTC" }),
    { headers: jsonHeaders(tokens[user], { "X-Correlation-Id": timedCorrelationId(sentAt) }), tags: { name: "create_task", ...tags } },
  );
  if (check(r, { "202 accepted": (x) => x.status === 202 })) accepted.add(1, tags);
  else failed.add(1, tags);
}

export function teardown() {
  // Events applied by the processors for this run's users, against the writes ingest accepted.
  let total = 0;
  for (let i = 0; i < USERS; i++) {
    const user = userId(i);
    const r = http.get(`${INGEST}/api/${user}/events?since=0&limit=1`, {
      headers: jsonHeaders(token(user)),
      tags: { name: "events_tail" },
    });
    if (r.status === 200) total += Number(r.json("seq"));
  }
  applied.add(total);
}

/** @param {{ metrics: Record<string, any>, state: unknown }} data */
export function handleSummary(data) {
  const dir = env("RESULTS_DIR", "bench/results");
  const m = data.metrics;
  /** @type {(name: string, field?: string) => number} */
  const v = (name, field = "count") => m[name]?.values?.[field] ?? 0;
  /** @type {Record<string, any>} */
  const report = {
    suite: MODE === "ramp" ? "throughput-ramp" : "e2e-latency",
    run_id: RUN_ID,
    params: { USERS, SOCKETS, RATE, DURATION, WARMUP, DRAIN, STEPS: MODE === "ramp" ? STEPS : undefined, STEP_SECONDS },
    writes_accepted: v("writes_accepted"),
    writes_failed: v("writes_failed"),
    events_applied: v("events_applied"),
    pipeline_lost: v("writes_accepted") - v("events_applied"),
    ws_events_received: v("ws_events_received"),
    ws_expected: v("writes_accepted") * SOCKETS,
    ws_events_lost: v("ws_events_lost"),
    ws_events_duplicated: v("ws_events_duplicated"),
    // expected - received - lost: deliveries neither seen nor detected as gaps (should be 0)
    ws_unaccounted: v("writes_accepted") * SOCKETS - v("ws_events_received") - v("ws_events_lost"),
    ws_opened: v("ws_opened"),
    ws_drain_timeouts: v("ws_drain_timeouts"),
    dropped_iterations: v("dropped_iterations"),
    http_to_ws_ms: m.e2e_http_to_ws?.values,
    event_to_ws_ms: m.e2e_event_to_ws?.values,
    http_req_ms: m["http_req_duration{name:create_task}"]?.values ?? m.http_req_duration?.values,
  };
  if (MODE === "ramp") {
    report.steps = STEPS.map((rate, i) => {
      const acc = v(`writes_accepted{step:${i}}`);
      const lat = m[`e2e_http_to_ws{step:${i}}`]?.values ?? {};
      const ok =
        lat["p(95)"] !== undefined &&
        lat["p(95)"] <= P95 &&
        v(`writes_failed{step:${i}}`) === 0 &&
        v(`ws_events_received{step:${i}}`) >= acc * SOCKETS * 0.999;
      return {
        target_rate: rate,
        accepted_per_s: acc / STEP_SECONDS,
        delivered_events_per_s: v(`ws_events_received{step:${i}}`) / SOCKETS / STEP_SECONDS,
        failed: v(`writes_failed{step:${i}}`),
        http_to_ws_p50: lat.med,
        http_to_ws_p95: lat["p(95)"],
        http_to_ws_p99: lat["p(99)"],
        ok,
      };
    });
    // Highest step that held (and every step below it held too).
    let best = null;
    for (const s of report.steps) {
      if (!s.ok) break;
      best = s;
    }
    report.max_sustained_events_per_s = best ? Math.min(best.accepted_per_s, best.delivered_events_per_s) : 0;
  }
  return {
    [`${dir}/summary.json`]: JSON.stringify({ report, metrics: m, state: data.state }, null, 1),
    [`${dir}/report.json`]: JSON.stringify(report, null, 1),
    stdout: `\n${JSON.stringify(report, null, 1)}\n`,
  };
}
