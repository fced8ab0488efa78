#!/usr/bin/env node
// JSON summary and a short table for one Gatling run of bench/run.sh: the simulation's counters and
// latency histograms (tracker.json: the same samples it logged into Gatling's stats engine), the
// Gatling assertions as the run printed them (loadgen.log), and the CPU split (breakdown.json).
// usage: node bench/gatling-summary.mjs <run dir>   -> writes <run dir>/summary.json, prints a table
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: gatling-summary.mjs <run dir>");
  process.exit(2);
}
const readJson = (f) => (existsSync(join(dir, f)) ? JSON.parse(readFileSync(join(dir, f), "utf8")) : null);
const tracker = readJson("tracker.json");
const breakdown = readJson("breakdown.json");
const log = existsSync(join(dir, "loadgen.log")) ? readFileSync(join(dir, "loadgen.log"), "utf8") : "";
// Gatling prints each assertion as "<path>: <what> : <true|false> (actual : <value>)".
const assertions = [...log.matchAll(/^(.+?): (.+?) : (true|false) \(actual : ([^)]*)\)$/gm)].map((m) => ({
  path: m[1],
  assertion: m[2],
  ok: m[3] === "true",
  actual: Number(m[4]),
}));
const reports = existsSync(join(dir, "gatling"))
  ? readdirSync(join(dir, "gatling")).filter((d) => existsSync(join(dir, "gatling", d, "index.html")))
  : [];
const summary = { dir, report: reports.length ? join(dir, "gatling", reports.at(-1), "index.html") : null, assertions };

if (tracker) {
  const heldP95 = Number(process.env.HELD_P95_MS ?? 100);
  const secs = tracker.params.step_seconds;
  const steps = tracker.steps.map((s) => ({
    target_rate: s.target_rate,
    accepted_per_s: +(s.accepted / secs).toFixed(1),
    failed: s.failed,
    skipped: s.skipped,
    missing: s.missing,
    duplicated: s.duplicated,
    e2e_ms: s.e2e_ms ?? null,
    write_ms: s.write_ms ?? null,
    // held: every write accepted and delivered once to every socket, p95 within the bar
    held:
      s.sent > 0 &&
      s.skipped === 0 &&
      s.failed === 0 &&
      s.missing === 0 &&
      s.duplicated === 0 &&
      s.e2e_ms != null &&
      s.e2e_ms.p95 <= heldP95,
  }));
  let best = null;
  for (const s of steps) {
    if (!s.held) break;
    best = s;
  }
  Object.assign(summary, {
    target: tracker.params.target,
    mode: tracker.params.mode,
    params: tracker.params,
    saturated_at_step: tracker.saturated_at_step,
    lost_by_seq_gap: tracker.gap_lost,
    lost_at_end: tracker.tail_lost,
    centrifugo_protocol: tracker.centrifugo,
    sockets: tracker.sockets,
    held_p95_ms: heldP95,
    highest_held_rate: best ? best.target_rate : 0,
    // any step that held, even above one that did not (a blip of the shared box below it)
    highest_step_held: Math.max(0, ...steps.filter((s) => s.held).map((s) => s.target_rate)),
    highest_held_accepted_per_s: best ? best.accepted_per_s : 0,
    steps,
  });
}
const reminders = readJson("reminders.json");
if (reminders) summary.reminders = reminders;
if (breakdown) {
  summary.cpu_ms_per_write = Object.fromEntries(
    breakdown.cpu.filter((r) => r.cpu_ms_per_event !== undefined).map((r) => [r.part, r.cpu_ms_per_event]),
  );
  summary.system_cpu_ms_per_write = breakdown.pipeline_cpu_ms_per_event;
  summary.system_context_switches_per_write = breakdown.pipeline_switches_per_event;
  summary.measured_window_s = breakdown.wall_s;
  summary.service_histograms = breakdown.stages;
}
writeFileSync(join(dir, "summary.json"), JSON.stringify(summary, null, 1));

const f = (h, k) => (h ? h[k] : "-");
const out = [];
if (summary.steps) {
  out.push(
    `${summary.target} ${summary.mode}: ${tracker.params.users} users x ${tracker.params.sockets_per_user} sockets, ${tracker.params.step_seconds} s per step`,
  );
  out.push("| writes/s | accepted/s | e2e p50 | p95 | p99 | max | HTTP p50 | p95 | failed | lost | dup | held |");
  out.push("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
  for (const s of summary.steps)
    out.push(
      `| ${s.target_rate} | ${s.accepted_per_s} | ${f(s.e2e_ms, "p50")} | ${f(s.e2e_ms, "p95")} | ${f(s.e2e_ms, "p99")} | ${f(s.e2e_ms, "max")} | ${f(s.write_ms, "p50")} | ${f(s.write_ms, "p95")} | ${s.failed} | ${s.missing} | ${s.duplicated} | ${s.skipped ? "skipped" : s.held ? "yes" : "no"} |`,
    );
  out.push(
    `highest rate held (p95 <= ${summary.held_p95_ms} ms, nothing lost, every step below held): ${summary.highest_held_rate} writes/s; highest step that held at all: ${summary.highest_step_held} writes/s`,
  );
}
if (summary.centrifugo_protocol && summary.target === "centrifugo")
  out.push(
    `centrifugo protocol: ${JSON.stringify(summary.centrifugo_protocol)} (unsubscribe pushes are answered by a resubscribe with recovery)`,
  );
if (reminders)
  out.push(
    `reminders: ${reminders.received}/${reminders.created} delivered, ${reminders.duplicated} duplicated, ${reminders.missing} missing; lateness p50/p95/p99/max ${reminders.lateness_ms.p50}/${reminders.lateness_ms.p95}/${reminders.lateness_ms.p99}/${reminders.lateness_ms.max} ms; scheduler fire lag p99 ${reminders.fire_lag_ms.p99} ms`,
  );
if (summary.cpu_ms_per_write) {
  out.push(
    `CPU ms per accepted write (measured window ${summary.measured_window_s} s): ` +
      Object.entries(summary.cpu_ms_per_write)
        .filter(([k]) => k !== "machine_busy")
        .map(([k, v]) => `${k} ${v}`)
        .join(", ") +
      `; system under test ${summary.system_cpu_ms_per_write}` +
      (summary.system_context_switches_per_write ? ` (${summary.system_context_switches_per_write} context switches per write)` : ""),
  );
}
const failedAssertions = assertions.filter((a) => !a.ok);
out.push(
  assertions.length
    ? `Gatling assertions: ${assertions.length - failedAssertions.length}/${assertions.length} passed${failedAssertions.length ? ` (failed: ${failedAssertions.map((a) => `${a.path}: ${a.assertion}, actual ${a.actual}`).join("; ")})` : ""}`
    : "Gatling assertions: none",
);
if (summary.report) out.push(`report: ${summary.report}`);
process.stdout.write(`${out.join("\n")}\n`);
