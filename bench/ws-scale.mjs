#!/usr/bin/env node
// Suite 3: connection scale of ONE fan-out process. A light Node client (the `ws` package; one
// Gatling virtual user per socket costs far more memory and CPU than the server side we want to measure) opens
// sockets in steps of STEP up to CONNECTIONS, holds each step, and keeps a steady stream of
// STREAM_RATE writes/s going to random connected users the whole time. It measures, per step:
// sockets open, connect failures and unexpected closes, delivery latency (HTTP request sent ->
// event arrives, via the time-stamped correlation id) and lost deliveries; at the peak it holds
// HOLD seconds (longer than the server's idle timeout, so every socket must answer heartbeats).
//
// env: CONNECTIONS(20000) STEP(2500) STEP_HOLD(5) HOLD(45) SOCKETS_PER_USER(2) STREAM_RATE(20)
//      CONNECT_CONCURRENCY(200) INGEST_URL FANOUT_URL FANOUT_METRICS_URL RESULTS_DIR RUN_ID
//      FANOUT_PID (to read the fan-out's RSS) JWT_SECRET TARGET_CONNECTIONS (exit 99 below it; default CONNECTIONS)
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import WebSocket from "ws";

const e = (k, d) => (process.env[k] === undefined || process.env[k] === "" ? d : process.env[k]);
const CONNECTIONS = Number(e("CONNECTIONS", 20000));
const STEP = Number(e("STEP", 2500));
const STEP_HOLD = Number(e("STEP_HOLD", 5));
const HOLD = Number(e("HOLD", 45));
const PER_USER = Number(e("SOCKETS_PER_USER", 2));
const STREAM_RATE = Number(e("STREAM_RATE", 20));
const CONCURRENCY = Number(e("CONNECT_CONCURRENCY", 200));
const INGEST = e("INGEST_URL", "http://127.0.0.1:48080");
const FANOUT = e("FANOUT_URL", "ws://127.0.0.1:48090");
const FANOUT_METRICS = e("FANOUT_METRICS_URL", FANOUT.replace(/^ws/, "http") + "/metrics");
const DIR = e("RESULTS_DIR", "bench/results");
const RUN_ID = e("RUN_ID", `s${Date.now().toString(36)}`);
const SECRET = e("JWT_SECRET", "taskstream-local-dev-secret-do-not-use-in-production");
const FANOUT_PID = e("FANOUT_PID", "");
// Past ~28k sockets one source address runs out of ephemeral ports: spread over 127.0.0.x.
const SOURCES = Array.from({ length: Math.max(1, Math.ceil(CONNECTIONS / 25000)) }, (_, i) => `127.0.0.${i + 1}`);
const DEADLINE = Date.now() + (Math.ceil(CONNECTIONS / STEP) * (STEP_HOLD + 60) + HOLD + 120) * 1000;

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
function token(sub) {
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub, iss: "taskstream-local", aud: "taskstream", iat: now, exp: now + 6 * 3600 })}`;
  return `${body}.${createHmac("sha256", SECRET).update(body).digest("base64url")}`;
}
function timedId(ms = Date.now()) {
  const t = ms.toString(16).padStart(12, "0");
  const r = randomBytes(10).toString("hex");
  return `${t.slice(0, 8)}-${t.slice(8)}-7${r.slice(0, 3)}-${((parseInt(r.slice(3, 5), 16) & 0x3f) | 0x80).toString(16)}${r.slice(5, 7)}-${r.slice(7, 19)}`;
}
const sentTime = (id) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

const users = Math.ceil(CONNECTIONS / PER_USER);
const userIds = Array.from({ length: users }, (_, i) => `${RUN_ID}-u${i}`);
const tokens = userIds.map(token);
const sockets = []; // { ws, user, open, last, pings, received }
const openByUser = new Map(); // user index -> count of ready sockets
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

let phase = "connect";
const stats = { connectFailures: 0, unexpectedCloses: 0, closeCodes: {}, duplicates: 0, gaps: 0 };
let latencies = [];
const steps = [];
const timeline = [];
let writesOk = 0;
let writesFailed = 0;
let expectedDeliveries = 0;
let received = 0;

function openOne(i) {
  return new Promise((resolve) => {
    const u = i % users;
    const started = Date.now();
    const ws = new WebSocket(`${FANOUT}/api/ws/${userIds[u]}?token=${tokens[u]}`, {
      localAddress: SOURCES[i % SOURCES.length],
      perMessageDeflate: false,
      handshakeTimeout: 30000,
    });
    const s = { ws, user: u, ready: false, closing: false, last: null, pings: 0 };
    ws.on("ping", () => s.pings++);
    ws.on("message", (buf) => {
      const now = Date.now();
      const msg = JSON.parse(buf.toString());
      if (msg.type === "ready") {
        s.ready = true;
        s.last = msg.seq;
        openByUser.set(u, (openByUser.get(u) ?? 0) + 1);
        sockets.push(s);
        resolve(now - started);
        return;
      }
      // Live frames that reached the server during the socket's start are sent before `ready`
      // (whose seq covers them): nothing to check yet.
      if (typeof msg.seq !== "number" || s.last === null) return;
      if (msg.seq <= s.last) stats.duplicates++;
      else {
        if (msg.seq > s.last + 1) stats.gaps += msg.seq - s.last - 1;
        s.last = msg.seq;
        received++;
        if (msg.correlation_id?.[14] === "7") latencies.push(now - sentTime(msg.correlation_id));
      }
    });
    ws.on("error", () => {});
    ws.on("close", (code) => {
      if (!s.ready) {
        stats.connectFailures++;
        stats.closeCodes[code] = (stats.closeCodes[code] ?? 0) + 1;
        resolve(null);
        return;
      }
      if (!s.closing) {
        stats.unexpectedCloses++;
        stats.closeCodes[code] = (stats.closeCodes[code] ?? 0) + 1;
        openByUser.set(u, openByUser.get(u) - 1);
      }
    });
  });
}

function post(u) {
  return new Promise((resolve) => {
    const req = http.request(
      `${INGEST}/api/${userIds[u]}/tasks`,
      {
        method: "POST",
        agent,
        headers: { authorization: `Bearer ${tokens[u]}`, "content-type": "application/json", "x-correlation-id": timedId() },
        timeout: 10000,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      },
    );
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end(JSON.stringify({ title: "scale stream", timezone: "UTC" }));
  });
}

// The steady stream: STREAM_RATE writes/s to random users that have every socket open.
let streamTimer;
function startStream() {
  const tickMs = 50;
  const perTick = STREAM_RATE / (1000 / tickMs);
  let carry = 0;
  streamTimer = setInterval(() => {
    carry += perTick;
    while (carry >= 1) {
      carry--;
      const ready = sockets.length;
      if (ready === 0) break;
      const u = sockets[Math.floor(Math.random() * ready)].user;
      const n = openByUser.get(u) ?? 0;
      void post(u).then((code) => {
        if (code === 202) {
          writesOk++;
          expectedDeliveries += n;
        } else writesFailed++;
      });
    }
  }, tickMs);
}

const pct = (arr, p) => {
  if (arr.length === 0) return null;
  const s = [...arr].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const rssMb = () => {
  try {
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${FANOUT_PID}/status`, "utf8"))[1]) / 1024);
  } catch {
    return null;
  }
};
const fanoutGauge = () =>
  new Promise((resolve) => {
    http
      .get(FANOUT_METRICS, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve(Number(/^taskstream_ws_connections (\S+)/m.exec(body)?.[1] ?? NaN)));
      })
      .on("error", () => resolve(null));
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const alive = () => sockets.filter((s) => s.ws.readyState === WebSocket.OPEN).length;

async function main() {
  const t0 = Date.now();
  const sampler = setInterval(async () => {
    timeline.push({ t: (Date.now() - t0) / 1000, open: alive(), rss_mb: rssMb(), phase });
  }, 1000);
  startStream();
  let opened = 0;
  let stopReason = "target reached";
  while (opened < CONNECTIONS && Date.now() < DEADLINE) {
    const target = Math.min(CONNECTIONS, opened + STEP);
    const connectTimes = [];
    const failuresBefore = stats.connectFailures;
    const stepStart = Date.now();
    let next = opened;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < target) {
          const i = next++;
          const ms = await openOne(i);
          if (ms !== null) connectTimes.push(ms);
        }
      }),
    );
    opened = target;
    const connectSeconds = (Date.now() - stepStart) / 1000;
    latencies = [];
    const gapsBefore = stats.gaps;
    await sleep(STEP_HOLD * 1000);
    const step = {
      target,
      open: alive(),
      server_gauge: await fanoutGauge(),
      connect_failures: stats.connectFailures - failuresBefore,
      connect_seconds: connectSeconds,
      connect_ms_p95: pct(connectTimes, 0.95),
      delivery_ms_p50: pct(latencies, 0.5),
      delivery_ms_p95: pct(latencies, 0.95),
      delivery_ms_p99: pct(latencies, 0.99),
      deliveries: latencies.length,
      gaps: stats.gaps - gapsBefore,
      unexpected_closes: stats.unexpectedCloses,
      fanout_rss_mb: rssMb(),
    };
    steps.push(step);
    console.log(JSON.stringify(step));
    if (step.connect_failures > STEP * 0.01) {
      stopReason = `more than 1% of connects failed at ${target}`;
      break;
    }
    // Delivery latency is reported, not a stop rule: it includes the whole write pipeline
    // (ingest, broker, processors), which is not what this suite measures.
    if (stats.unexpectedCloses > target * 0.01) {
      stopReason = `more than 1% of open sockets closed unexpectedly at ${target}`;
      break;
    }
  }
  // Hold the peak past the idle timeout: only sockets that keep answering heartbeats stay open.
  phase = "hold";
  latencies = [];
  const deliveredBefore = received;
  const expectedBefore = expectedDeliveries;
  const closesBefore = stats.unexpectedCloses;
  const pingsBefore = sockets.reduce((n, s) => n + s.pings, 0);
  await sleep(HOLD * 1000);
  clearInterval(streamTimer);
  await sleep(3000); // in-flight writes arrive
  const held = alive();
  const pingsDuringHold = sockets.reduce((n, s) => n + s.pings, 0) - pingsBefore;
  const report = {
    suite: "ws-scale",
    run_id: RUN_ID,
    params: { CONNECTIONS, STEP, STEP_HOLD, HOLD, PER_USER, STREAM_RATE, SOURCES },
    stop_reason: stopReason,
    max_held_connections: held,
    server_gauge_at_end: await fanoutGauge(),
    unexpected_closes_during_hold: stats.unexpectedCloses - closesBefore,
    close_codes: stats.closeCodes,
    heartbeats_during_hold: pingsDuringHold,
    sockets_with_a_ping: sockets.filter((s) => s.pings > 0).length,
    writes_ok: writesOk,
    writes_failed: writesFailed,
    hold: {
      expected_deliveries: expectedDeliveries - expectedBefore,
      delivered: received - deliveredBefore,
      delivery_ms_p50: pct(latencies, 0.5),
      delivery_ms_p95: pct(latencies, 0.95),
      delivery_ms_p99: pct(latencies, 0.99),
    },
    duplicates: stats.duplicates,
    seq_gaps: stats.gaps,
    fanout_rss_mb_at_peak: rssMb(),
    steps,
  };
  clearInterval(sampler);
  phase = "close";
  for (const s of sockets) {
    s.closing = true;
    s.ws.terminate();
  }
  writeFileSync(`${DIR}/report.json`, JSON.stringify(report, null, 1));
  writeFileSync(`${DIR}/summary.json`, JSON.stringify({ report, timeline }, null, 1));
  writeFileSync(`${DIR}/dashboard.html`, html(report));
  console.log(JSON.stringify(report, null, 1));
  agent.destroy();
  const target = Number(e("TARGET_CONNECTIONS", CONNECTIONS));
  process.exit(held >= target && report.unexpected_closes_during_hold === 0 ? 0 : 99);
}

function html(r) {
  const w = 800;
  const h = 200;
  const maxT = Math.max(1, ...timeline.map((p) => p.t));
  const maxO = Math.max(1, ...timeline.map((p) => p.open));
  const pts = timeline.map((p) => `${((p.t / maxT) * w).toFixed(1)},${(h - (p.open / maxO) * h).toFixed(1)}`).join(" ");
  const rows = r.steps
    .map(
      (s) =>
        `<tr>${Object.values(s)
          .map((v) => `<td>${v ?? ""}</td>`)
          .join("")}</tr>`,
    )
    .join("");
  return `<!doctype html><meta charset="utf-8"><title>taskstream ws-scale ${r.run_id}</title>
<style>body{font:14px sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:2px 6px}table{border-collapse:collapse}</style>
<h1>WebSocket connection scale (one fan-out process)</h1>
<p>held: <b>${r.max_held_connections}</b> sockets for ${r.params.HOLD}s · stop: ${r.stop_reason} · fan-out RSS at peak ${r.fanout_rss_mb_at_peak} MB</p>
<svg width="${w}" height="${h}" style="border:1px solid #ccc"><polyline fill="none" stroke="#36c" stroke-width="2" points="${pts}"/></svg>
<p>open sockets over ${maxT.toFixed(0)} s (max ${maxO})</p>
<table><tr>${Object.keys(r.steps[0] ?? {})
    .map((k) => `<th>${k}</th>`)
    .join("")}</tr>${rows}</table>
<pre>${JSON.stringify({ ...r, steps: undefined }, null, 1)}</pre>`;
}

const guard = setTimeout(
  () => {
    console.error("ws-scale: deadline passed, stopping");
    process.exit(98);
  },
  DEADLINE - Date.now() + 30000,
);
guard.unref();
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
