#!/usr/bin/env node
// Fan-out scale-out: USERS users × SOCKETS_PER_USER sockets spread over the fan-out instances of
// FANOUT_URLS (PLACEMENT=user: all of a user's sockets on instance user % n, as a load balancer
// with user affinity would; PLACEMENT=socket: socket i on instance i % n, so most users sit on
// several), a steady RATE writes/s to random users for DURATION s, then per fan-out instance:
// inbound pub/sub messages/s (taskstream_fanout_pubsub_messages_total; absent before per-user
// channels), messages handed to sockets, CPU (utime+stime from /proc over the window), and the
// deliveries the client counted (lost, duplicated). Prints one JSON object.
//
// DIRECT=1 bypasses ingest and the processors: the events are published straight to Redis as the
// processors would (FRAME=channel: the user's channel; FRAME=legacy: the single channel and frame
// of before, to measure the old fan-out the same way), so the fan-out can be driven far beyond
// what the pipeline delivers on this box.
//
// env: INGEST_URL FANOUT_URLS (comma list of ws://host:port) FANOUT_PIDS (comma list, same order)
//      USERS(200) SOCKETS_PER_USER(2) RATE(200) DURATION(30) PLACEMENT(user) JWT_SECRET
//      DIRECT(0) FRAME(channel) REDIS_URL REDIS_PREFIX(ts)
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { Redis } from "ioredis";
import WebSocket from "ws";

const e = (k, d) => (process.env[k] === undefined || process.env[k] === "" ? d : process.env[k]);
const INGEST = e("INGEST_URL", "http://127.0.0.1:58080");
const FANOUTS = e("FANOUT_URLS", "ws://127.0.0.1:58090").split(",");
const PIDS = e("FANOUT_PIDS", "").split(",").filter(Boolean).map(Number);
const USERS = Number(e("USERS", 200));
const PER_USER = Number(e("SOCKETS_PER_USER", 2));
const RATE = Number(e("RATE", 200));
const DURATION = Number(e("DURATION", 30));
const PLACEMENT = e("PLACEMENT", "user");
const SECRET = e("JWT_SECRET", "taskstream-local-dev-secret-do-not-use-in-production");
const RUN = `fs${Date.now().toString(36)}`;
const DIRECT = e("DIRECT", "0") === "1";
const FRAME = e("FRAME", "channel");
const PREFIX = e("REDIS_PREFIX", "ts");
const redis = DIRECT ? new Redis(e("REDIS_URL", "redis://127.0.0.1:56379")) : null;

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
function token(sub) {
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub, iss: "taskstream-local", aud: "taskstream", iat: now, exp: now + 3600 })}`;
  return `${body}.${createHmac("sha256", SECRET).update(body).digest("base64url")}`;
}
const users = Array.from({ length: USERS }, (_, i) => ({ id: `${RUN}-u${i}`, token: token(`${RUN}-u${i}`), sockets: 0, seq: 0 }));
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const stats = {
  connectFailures: 0,
  closeCodes: {},
  received: 0,
  duplicates: 0,
  gaps: 0,
  unexpectedCloses: 0,
  writesOk: 0,
  writesFailed: 0,
  expected: 0,
};
const latencies = [];
const sockets = [];

function open(i) {
  const u = users[Math.floor(i / PER_USER)];
  const uIndex = Math.floor(i / PER_USER);
  const instance = PLACEMENT === "user" ? uIndex % FANOUTS.length : i % FANOUTS.length;
  return new Promise((resolve) => {
    const ws = new WebSocket(`${FANOUTS[instance]}/api/ws/${u.id}?token=${u.token}`, { perMessageDeflate: false, handshakeTimeout: 10000 });
    const s = { ws, last: null, closing: false };
    const notReady = setTimeout(() => {
      stats.connectFailures++;
      ws.terminate();
      resolve();
    }, 15000);
    ws.on("message", (buf) => {
      const msg = JSON.parse(buf.toString());
      if (msg.type === "ready") {
        clearTimeout(notReady);
        s.last = msg.seq;
        u.sockets++;
        sockets.push(s);
        resolve();
        return;
      }
      if (typeof msg.seq !== "number" || s.last === null) return;
      if (msg.seq <= s.last) stats.duplicates++;
      else {
        if (msg.seq > s.last + 1) stats.gaps += msg.seq - s.last - 1;
        s.last = msg.seq;
        stats.received++;
        latencies.push(Date.now() - Date.parse(msg.timestamp));
      }
    });
    ws.on("error", () => {});
    ws.on("close", (code) => {
      if (s.last === null) {
        clearTimeout(notReady);
        stats.connectFailures++;
        stats.closeCodes[code] = (stats.closeCodes[code] ?? 0) + 1;
        resolve();
      } else if (!s.closing) stats.unexpectedCloses++;
    });
  });
}

/** What the processors' publish script sends, for one new event of `u`. */
function publishDirect(u, pipeline) {
  const seq = ++u.seq;
  const ts = Date.now();
  const wire = JSON.stringify({
    type: "task.created",
    event_id: `00000000-0000-7000-8000-${String(seq).padStart(12, "0")}`,
    event_type: "task.created",
    schema_version: "1.0.0",
    user_id: u.id,
    aggregate_id: "00000000-0000-7000-8000-000000000000",
    version: 1,
    seq,
    timestamp: new Date(ts).toISOString(),
    correlation_id: "00000000-0000-7000-8000-000000000001",
    data: { task: { title: "fanout shard direct" } },
  });
  if (FRAME === "legacy") pipeline.publish(`${PREFIX}:events`, `${u.id}\n${seq}\n${ts}\n${wire}`);
  else pipeline.publish(`${PREFIX}:u:{${u.id}}:ch`, `${seq}\n${ts}\n${wire}`);
}

function post(u) {
  return new Promise((resolve) => {
    const req = http.request(
      `${INGEST}/api/${u.id}/tasks`,
      { method: "POST", agent, headers: { authorization: `Bearer ${u.token}`, "content-type": "application/json" }, timeout: 10000 },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      },
    );
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end(JSON.stringify({ title: "fanout shard", timezone: "UTC" }));
  });
}

const cpuTicks = (pid) => {
  const rest = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return Number(rest[11]) + Number(rest[12]);
};
const metrics = (url) =>
  new Promise((resolve) => {
    http
      .get(`${url.replace(/^ws/, "http")}/metrics`, (res) => {
        let body = "";
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () => {
          const m = (name) => Number(new RegExp(`^taskstream_${name} (\\S+)`, "m").exec(body)?.[1] ?? Number.NaN);
          resolve({ inbound: m("fanout_pubsub_messages_total"), out: m("ws_messages_out_total"), channels: m("fanout_user_channels") });
        });
      })
      .on("error", () => resolve({}));
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (arr, p) => {
  const s = [...arr].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : null;
};

async function main() {
  for (let i = 0; i < USERS * PER_USER; i += 100)
    await Promise.all(Array.from({ length: Math.min(100, USERS * PER_USER - i) }, (_, k) => open(i + k)));
  await sleep(1000);
  const before = await Promise.all(FANOUTS.map(metrics));
  const cpuBefore = PIDS.map(cpuTicks);
  const t0 = Date.now();
  const tickMs = 20;
  let sent = 0;
  let carry = 0;
  const pending = [];
  while (Date.now() - t0 < DURATION * 1000) {
    // Open model: what is due by now, however late this tick runs.
    const due = Math.floor((RATE * (Date.now() - t0)) / 1000);
    carry += due - sent;
    sent = due;
    if (redis) {
      const pipeline = redis.pipeline();
      for (; carry >= 1; carry--) {
        const u = users[Math.floor(Math.random() * USERS)];
        stats.writesOk++;
        stats.expected += u.sockets;
        publishDirect(u, pipeline);
      }
      pending.push(pipeline.exec());
    }
    while (carry >= 1) {
      carry--;
      const u = users[Math.floor(Math.random() * USERS)];
      const n = u.sockets;
      pending.push(
        post(u).then((code) => {
          if (code === 202) {
            stats.writesOk++;
            stats.expected += n;
          } else stats.writesFailed++;
        }),
      );
    }
    await sleep(tickMs);
  }
  await Promise.all(pending);
  // Let the pipeline drain (deliveries catch up), bounded.
  for (let i = 0; i < 200 && stats.received + stats.duplicates < stats.expected; i++) await sleep(100);
  const seconds = (Date.now() - t0) / 1000;
  const after = await Promise.all(FANOUTS.map(metrics));
  const cpuAfter = PIDS.map(cpuTicks);
  const tck = 100;
  const instances = FANOUTS.map((url, i) => ({
    url,
    inbound_per_s: Math.round((after[i].inbound - before[i].inbound) / seconds),
    out_per_s: Math.round((after[i].out - before[i].out) / seconds),
    user_channels: after[i].channels,
    cpu_ms_per_s: PIDS[i] ? Math.round(((cpuAfter[i] - cpuBefore[i]) * (1000 / tck)) / seconds) : null,
  }));
  for (const s of sockets) {
    s.closing = true;
    s.ws.close();
  }
  console.log(
    JSON.stringify(
      {
        placement: PLACEMENT,
        direct: DIRECT ? FRAME : false,
        fanouts: FANOUTS.length,
        users: USERS,
        sockets: sockets.length,
        rate: RATE,
        window_s: Math.round(seconds * 10) / 10,
        writes_ok: stats.writesOk,
        writes_failed: stats.writesFailed,
        deliveries_expected: stats.expected,
        delivered: stats.received,
        lost: stats.expected - stats.received,
        duplicates: stats.duplicates,
        gaps: stats.gaps,
        unexpected_closes: stats.unexpectedCloses,
        connect_failures: stats.connectFailures,
        close_codes_before_ready: stats.closeCodes,
        latency_ms: { p50: pct(latencies, 0.5), p95: pct(latencies, 0.95), p99: pct(latencies, 0.99) },
        instances,
      },
      null,
      2,
    ),
  );
  agent.destroy();
  redis?.disconnect();
  process.exit(0);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
