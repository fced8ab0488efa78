#!/usr/bin/env node
// Latency budget from the services' own Prometheus histograms, for one bench run: the difference
// between the /metrics scrapes taken before and after the run, so only the run's samples count.
// Also the CPU seconds each part of the box used during the run (cpu-before/after.txt).
// usage: node bench/breakdown.mjs <run dir>   -> writes <run dir>/breakdown.json and breakdown.md
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: breakdown.mjs <run dir>");
  process.exit(2);
}

function parse(text) {
  const out = new Map();
  for (const line of text.split("\n")) {
    if (!line || line[0] === "#") continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    out.set(m[1] + (m[2] ?? ""), Number(m[3]));
  }
  return out;
}
const read = (f) => (existsSync(join(dir, f)) ? parse(readFileSync(join(dir, f), "utf8")) : new Map());

/** Histogram delta → {count, mean, p50, p95, p99} in ms, interpolating linearly within a bucket. */
function histogram(before, after, name, labelFilter = () => true) {
  const buckets = new Map();
  let sum = 0;
  let count = 0;
  for (const [key, value] of after) {
    if (!key.startsWith(name)) continue;
    const labels = key.slice(key.indexOf("{") + 1, -1);
    if (!labelFilter(labels)) continue;
    const d = value - (before.get(key) ?? 0);
    if (key.startsWith(`${name}_bucket{`)) {
      const le = /le="([^"]+)"/.exec(labels)[1];
      const le_ = le === "+Inf" ? Infinity : Number(le);
      buckets.set(le_, (buckets.get(le_) ?? 0) + d);
    } else if (key.startsWith(`${name}_sum`)) sum += d;
    else if (key.startsWith(`${name}_count`)) count += d;
  }
  if (count <= 0) return null;
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const q = (p) => {
    const rank = p * count;
    let prevLe = 0;
    let prevCum = 0;
    for (const le of bounds) {
      const cum = buckets.get(le);
      if (cum >= rank) {
        if (le === Infinity) return `>${prevLe * 1000}`;
        const frac = cum === prevCum ? 1 : (rank - prevCum) / (cum - prevCum);
        return +((prevLe + frac * (le - prevLe)) * 1000).toFixed(2);
      }
      prevLe = le;
      prevCum = cum;
    }
    return null;
  };
  return { count, mean_ms: +((sum / count) * 1000).toFixed(2), p50_ms: q(0.5), p95_ms: q(0.95), p99_ms: q(0.99) };
}

const services = ["ingest", "processors", "scheduler", "fanout"];
const b = {};
const a = {};
for (const s of services) {
  b[s] = read(`metrics-before-${s}.prom`);
  a[s] = read(`metrics-after-${s}.prom`);
}
const stages = [
  [
    "ingest: HTTP create request (server side)",
    "ingest",
    "taskstream_http_request_seconds",
    (l) => l.includes('route="POST /api/:user_id/tasks"'),
  ],
  ["ingest: broker ack of the produce (acks=all)", "ingest", "taskstream_ingest_produce_seconds"],
  ["processors: one batch (apply txn incl. schedule changes + Redis + commit)", "processors", "taskstream_processor_batch_seconds"],
  ["event timestamp -> processor commit", "processors", "taskstream_processor_event_age_seconds"],
  ["event timestamp -> WebSocket send (fanout)", "fanout", "taskstream_ws_delivery_seconds"],
];
const rows = [];
for (const [label, svc, name, filter] of stages)
  rows.push({ stage: label, metric: name, ...(histogram(b[svc], a[svc], name, filter) ?? { count: 0 }) });

// CPU seconds per part of the box during the run.
const cpu = (f) =>
  existsSync(join(dir, f))
    ? Object.fromEntries(
        readFileSync(join(dir, f), "utf8")
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => l.split(" "))
          .map(([k, v]) => [k, Number(v)]),
      )
    : {};
const c0 = cpu("cpu-before.txt");
const c1 = cpu("cpu-after.txt");
let wall = null;
if (existsSync(join(dir, "window.txt"))) {
  const [t0, t1] = readFileSync(join(dir, "window.txt"), "utf8").trim().split(/\s+/).map(Number);
  wall = +(t1 - t0).toFixed(1);
}
const lg = cpu("loadgen-cpu.txt");
if (lg.loadgen !== undefined) {
  c1.loadgen = (c1.loadgen ?? 0) + lg.loadgen;
}
// Everything not attributed (other agents' work, the runner's own children) = machine - known parts;
// `steal` (time the hypervisor gave to other guests) is a known part of its own, not ours.
if (c1.machine_busy !== undefined && c0.machine_busy !== undefined) {
  let known = 0;
  for (const k of Object.keys(c1)) if (k !== "machine_busy" && k !== "other") known += c1[k] - (c0[k] ?? 0);
  c1.other_on_box = c0.other_on_box = 0;
  c1.other_on_box = c1.machine_busy - c0.machine_busy - known;
  delete c1.other;
  delete c0.other;
}
const cpuRows = Object.keys(c1)
  .map((k) => ({ part: k, cpu_s: +(c1[k] - (c0[k] ?? 0)).toFixed(1) }))
  .filter((r) => r.cpu_s > 0)
  .sort((x, y) => y.cpu_s - x.cpu_s);
for (const r of cpuRows) if (wall) r.cores = +(r.cpu_s / wall).toFixed(2);
// CPU cost per accepted write (= per event for create-only suites): independent of how busy the box
// was, so it gives the capacity ceiling: 2 cores / (sum of per-event costs) events/s.
// Accepted writes: ingest's own histogram (taskstream); for Centrifugo the writes Gatling saw accepted.
let trackerAccepted = 0;
if (existsSync(join(dir, "tracker.json")))
  trackerAccepted = JSON.parse(readFileSync(join(dir, "tracker.json"), "utf8")).steps.reduce((n, s) => n + s.accepted, 0);
const events = rows[0].count || trackerAccepted || 0;
if (events > 0) for (const r of cpuRows) r.cpu_ms_per_event = +((r.cpu_s * 1000) / events).toFixed(3);

// Context switches per part (voluntary: it waited, e.g. for a reply or for work; involuntary: it was
// preempted), from the per-process lists of the two snapshots, per pid: each one is a hand-off
// between processes or threads, which is where a write's CPU goes once no process has a hot spot.
// A process that exited during the window is missing; one started during it counts in full. The
// counts are summed over a process's live threads, so threads that exited take theirs with them:
// a part whose sum went down (the load generator's JVM) is left blank.
const switches = (f) => {
  const byPid = new Map();
  if (!existsSync(join(dir, f))) return byPid;
  for (const line of readFileSync(join(dir, f), "utf8").split("\n")) {
    const [part, pid, , , voluntary, involuntary] = line.split(" ");
    if (involuntary !== undefined && /^\d+$/.test(voluntary) && /^\d+$/.test(involuntary))
      byPid.set(pid, { part, voluntary: Number(voluntary), involuntary: Number(involuntary) });
  }
  return byPid;
};
const s0 = switches("cpu-before-processes.txt");
const switchesByPart = new Map();
for (const [pid, after] of switches("cpu-after-processes.txt")) {
  const before = s0.get(pid)?.part === after.part ? s0.get(pid) : { voluntary: 0, involuntary: 0 };
  const sum = switchesByPart.get(after.part) ?? { voluntary: 0, involuntary: 0 };
  sum.voluntary += after.voluntary - before.voluntary;
  sum.involuntary += after.involuntary - before.involuntary;
  switchesByPart.set(after.part, sum);
}
if (events > 0)
  for (const r of cpuRows) {
    const sw = switchesByPart.get(r.part);
    if (!sw || sw.voluntary < 0 || sw.involuntary < 0) continue;
    r.voluntary_switches_per_event = +(sw.voluntary / events).toFixed(2);
    r.involuntary_switches_per_event = +(sw.involuntary / events).toFixed(2);
  }
const pipelineParts = [
  "svc:ingest",
  "svc:processors",
  "svc:fanout",
  "svc:scheduler",
  "kafka",
  "postgres",
  "redis",
  "centrifugo",
  "redis-centrifugo",
];
const pipelineMs = cpuRows.filter((r) => pipelineParts.includes(r.part)).reduce((n, r) => n + (r.cpu_ms_per_event ?? 0), 0);
const pipelineSwitches = cpuRows
  .filter((r) => pipelineParts.includes(r.part))
  .reduce((n, r) => n + (r.voluntary_switches_per_event ?? 0) + (r.involuntary_switches_per_event ?? 0), 0);

const ceiling = pipelineMs > 0 ? Math.round(2000 / pipelineMs) : null;
writeFileSync(
  join(dir, "breakdown.json"),
  JSON.stringify(
    {
      stages: rows,
      cpu: cpuRows,
      wall_s: wall,
      events,
      writes_accepted_by_loadgen: trackerAccepted || undefined,
      pipeline_cpu_ms_per_event: +pipelineMs.toFixed(3),
      pipeline_switches_per_event: +pipelineSwitches.toFixed(1),
      cpu_ceiling_events_per_s_on_2_cores: ceiling,
    },
    null,
    1,
  ),
);
const md = [
  "| stage | count | mean ms | p50 ms | p95 ms | p99 ms |",
  "| --- | ---: | ---: | ---: | ---: | ---: |",
  ...rows.map((r) => `| ${r.stage} | ${r.count} | ${r.mean_ms ?? ""} | ${r.p50_ms ?? ""} | ${r.p95_ms ?? ""} | ${r.p99_ms ?? ""} |`),
  "",
  `CPU during the measured window (first write to last delivery; wall ${wall ?? "?"} s, 2 cores = ${wall ? (2 * wall).toFixed(1) : "?"} CPU-s available; ${events} accepted writes${trackerAccepted && rows[0].count ? `, ${trackerAccepted} seen accepted by the load generator` : ""}):`,
  "",
  "| part | CPU s | cores | CPU ms per accepted write | context switches per write (voluntary / involuntary) |",
  "| --- | ---: | ---: | ---: | ---: |",
  ...cpuRows.map(
    (r) =>
      `| ${r.part} | ${r.cpu_s} | ${r.cores ?? ""} | ${r.cpu_ms_per_event ?? ""} | ${r.voluntary_switches_per_event === undefined ? "" : `${r.voluntary_switches_per_event} / ${r.involuntary_switches_per_event}`} |`,
  ),
  "",
  events > 0
    ? `System under test (every process above but the load generator and other work on the box) CPU per accepted write: ${pipelineMs.toFixed(2)} ms → at most ~${ceiling} writes/s on 2 dedicated cores, before any load generator; ${pipelineSwitches.toFixed(1)} context switches per write.`
    : "",
  "",
].join("\n");
writeFileSync(join(dir, "breakdown.md"), md);
process.stdout.write(md);
