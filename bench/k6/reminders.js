// Suite 4: reminder lateness. REMINDERS tasks, each with one reminder `{"at": ...}`, spread over
// USERS users, all due within one SPREAD-second window (default: one minute, aligned to the
// next whole minute with ALIGN=minute). Every user holds one WebSocket; for each
// `reminder.triggered` that arrives:
//   reminder_lateness   arrival on the socket - remind_at    (the target: p99 <= 1 s)
//   reminder_fire_lag   fired_at (scheduler)  - remind_at
// Missing reminders (created but never delivered before the window + WAIT_AFTER) are counted.
//
// env: REMINDERS(10000) USERS(100) SPREAD(60) ALIGN(minute|none) LEAD(s before the window, 20)
//      CREATE_RATE(150/s, the expected create throughput: places the window) WAIT_AFTER(30)
//      LATENESS_P99_MS(1000)
import { check } from "k6";
import exec from "k6/execution";
import http from "k6/http";
import { Counter, Trend } from "k6/metrics";
import { setTimeout } from "k6/timers";
import { WebSocket } from "k6/websockets";
import { env, INGEST, jsonHeaders, num, RUN_ID, token, userId, wsUrl } from "./lib/common.js";

const N = num("REMINDERS", 10000);
const USERS = num("USERS", 100);
const SPREAD = num("SPREAD", 60);
const ALIGN = env("ALIGN", "minute");
const CREATE_RATE = num("CREATE_RATE", 150); // expected creates/s, only to place the window
const LEAD = num("LEAD", 20);
const WAIT_AFTER = num("WAIT_AFTER", 30);
const P99 = num("LATENESS_P99_MS", 1000);
const createSeconds = Math.ceil(N / CREATE_RATE);

const lateness = new Trend("reminder_lateness", true);
const fireLag = new Trend("reminder_fire_lag", true);
const received = new Counter("reminders_received");
const duplicated = new Counter("reminders_duplicated");
const created = new Counter("reminders_created");
const createFailed = new Counter("reminders_create_failed");
const createdLate = new Counter("reminders_not_created_in_time");

// The window start is fixed when the script is loaded (same value in every VU: init runs once
// per VU, so it is derived from a common env value set by setup()'s caller or computed here).
const loadMs = Number(env("WINDOW_BASE_MS", String(Date.now())));
let windowStart = loadMs + (createSeconds + LEAD) * 1000;
if (ALIGN === "minute") windowStart = Math.ceil(windowStart / 60000) * 60000;
const closeAt = windowStart + (SPREAD + WAIT_AFTER) * 1000;
const totalSeconds = Math.ceil((closeAt - loadMs) / 1000) + 30;

export const options = {
  setupTimeout: "30s",
  scenarios: {
    listen: { executor: "per-vu-iterations", vus: USERS, iterations: 1, maxDuration: `${totalSeconds + 30}s`, exec: "listen" },
    // As fast as 50 clients can go; the window is placed after the estimated creation time.
    create: {
      executor: "shared-iterations",
      vus: 50,
      iterations: N,
      maxDuration: `${Math.max(10, Math.floor((windowStart - loadMs) / 1000) - 10)}s`,
      startTime: "5s",
      exec: "create",
    },
  },
  thresholds: {
    reminder_lateness: [`p(99)<${P99}`],
    reminders_create_failed: ["count==0"],
    reminders_not_created_in_time: ["count==0"],
    reminders_duplicated: ["count==0"],
    reminders_received: [`count>=${N}`],
  },
  summaryTrendStats: ["min", "med", "avg", "p(90)", "p(95)", "p(99)", "max", "count"],
};

export function setup() {
  if (Date.now() + createSeconds * 1000 + 5000 > windowStart) throw new Error("the window starts before creation can finish");
  return { windowStart };
}

/** @param {{ windowStart: number }} data */
export function listen(data) {
  const k = exec.scenario.iterationInTest;
  const user = userId(k);
  const seen = new Set();
  const ws = new WebSocket(wsUrl(user, token(user)));
  ws.onmessage = (m) => {
    const now = Date.now();
    const msg = JSON.parse(String(m?.data));
    if (msg.type !== "reminder.triggered") return;
    const id = msg.data?.reminder_id;
    if (seen.has(id)) {
      duplicated.add(1);
      return;
    }
    seen.add(id);
    received.add(1);
    const due = Date.parse(msg.data.remind_at);
    lateness.add(now - due);
    if (msg.data.fired_at) fireLag.add(Date.parse(msg.data.fired_at) - due);
  };
  setTimeout(() => ws.close(), Math.max(0, data.windowStart + (SPREAD + WAIT_AFTER) * 1000 - Date.now()));
}

/** @type {Record<string, string>} */
const tokens = {};
/** @param {{ windowStart: number }} data */
export function create(data) {
  const i = exec.scenario.iterationInTest;
  if (Date.now() > data.windowStart - 2000) {
    createdLate.add(1);
    return;
  }
  const user = userId(i % USERS);
  tokens[user] ??= token(user);
  const at = new Date(data.windowStart + Math.floor((i / N) * SPREAD * 1000)).toISOString();
  const r = http.post(`${INGEST}/api/${user}/tasks`, JSON.stringify({ title: `reminder ${i}`, timezone: "UTC", reminders: [{ at }] }), {
    headers: jsonHeaders(tokens[user]),
    tags: { name: "create_task_with_reminder" },
  });
  if (check(r, { 202: (x) => x.status === 202 })) created.add(1);
  else createFailed.add(1);
}

/** @param {{ metrics: Record<string, any>, state: unknown }} data */
export function handleSummary(data) {
  const dir = env("RESULTS_DIR", "bench/results");
  const m = data.metrics;
  const report = {
    suite: "reminders",
    run_id: RUN_ID,
    params: { N, USERS, SPREAD, ALIGN, window_start: new Date(windowStart).toISOString() },
    created: m.reminders_created?.values?.count ?? 0,
    create_failed: m.reminders_create_failed?.values?.count ?? 0,
    not_created_in_time: m.reminders_not_created_in_time?.values?.count ?? 0,
    received: m.reminders_received?.values?.count ?? 0,
    duplicated: m.reminders_duplicated?.values?.count ?? 0,
    missing: (m.reminders_created?.values?.count ?? 0) - (m.reminders_received?.values?.count ?? 0),
    lateness_ms: m.reminder_lateness?.values ?? null,
    fire_lag_ms: m.reminder_fire_lag?.values ?? null,
  };
  return {
    [`${dir}/summary.json`]: JSON.stringify({ report, metrics: m, state: data.state }, null, 1),
    [`${dir}/report.json`]: JSON.stringify(report, null, 1),
    stdout: `\n${JSON.stringify(report, null, 1)}\n`,
  };
}
