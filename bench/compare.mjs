#!/usr/bin/env node
// `make bench-compare`: the two ramps side by side (taskstream, then Centrifugo, same Gatling
// scenario and rates), the highest rate each held at p95 <= 100 ms with nothing lost, their ratio,
// and CPU per write per process. Reads each run's summary.json (bench/gatling-summary.mjs).
// usage: node bench/compare.mjs <taskstream run dir> <centrifugo run dir>
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [a, b] = process.argv.slice(2).map((d) => JSON.parse(readFileSync(join(d, "summary.json"), "utf8")));
if (!a || !b) {
  console.error("usage: compare.mjs <taskstream run dir> <centrifugo run dir>");
  process.exit(2);
}
const cell = (s) =>
  !s
    ? "-"
    : s.skipped
      ? "skipped (a lower step saturated)"
      : `${s.accepted_per_s}/s · ${s.e2e_ms ? `${s.e2e_ms.p50} / ${s.e2e_ms.p95} / ${s.e2e_ms.p99}` : "no delivery"}${s.missing ? ` · lost ${s.missing}` : ""}${s.failed ? ` · failed ${s.failed}` : ""}${s.held ? " ✓" : ""}`;
const rates = [...new Set([...a.steps, ...b.steps].map((s) => s.target_rate))].sort((x, y) => x - y);
const at = (sum, r) => sum.steps.find((s) => s.target_rate === r);
const out = [
  `# taskstream vs Centrifugo: ${a.params.users} users × ${a.params.sockets_per_user} sockets, ${a.params.step_seconds} s per step, open model`,
  "",
  "Each cell: accepted writes/s · HTTP write → arrival on every socket p50 / p95 / p99 ms (✓ = held: p95 ≤ 100 ms, nothing lost or doubled).",
  "",
  `| offered writes/s | ${a.target} | ${b.target} |`,
  "| ---: | --- | --- |",
  ...rates.map((r) => `| ${r} | ${cell(at(a, r))} | ${cell(at(b, r))} |`),
  "",
  `Highest rate held: ${a.target} ${a.highest_held_rate}/s, ${b.target} ${b.highest_held_rate}/s → ratio ${b.target}/${a.target} = ${a.highest_held_rate ? (b.highest_held_rate / a.highest_held_rate).toFixed(1) : "∞ (taskstream held no step)"}` +
    (b.highest_held_rate === Math.max(...b.steps.map((s) => s.target_rate))
      ? ` (${b.target} held the top step: its ceiling is higher than this ramp)`
      : ""),
  `Highest step that held at all (ignoring a failed step below it): ${a.target} ${a.highest_step_held}/s, ${b.target} ${b.highest_step_held}/s.`,
  "",
  "CPU ms per accepted write over each measured window (first write → last delivery), from /proc:",
  "",
  `| process | ${a.target} | ${b.target} |`,
  "| --- | ---: | ---: |",
];
const parts = [...new Set([...Object.keys(a.cpu_ms_per_write ?? {}), ...Object.keys(b.cpu_ms_per_write ?? {})])].filter(
  (p) => p !== "machine_busy",
);
for (const p of parts) out.push(`| ${p} | ${a.cpu_ms_per_write?.[p] ?? "-"} | ${b.cpu_ms_per_write?.[p] ?? "-"} |`);
out.push(`| **system under test** | **${a.system_cpu_ms_per_write}** | **${b.system_cpu_ms_per_write}** |`);
out.push("");
out.push(
  "(CPU per write is averaged over the whole ramp, saturated steps included; `other_on_box` is work of other users of the machine, `steal` CPU time the hypervisor gave to other guests.)",
);
process.stdout.write(`${out.join("\n")}\n`);
