#!/usr/bin/env node
// Summarises a V8 .cpuprofile (from BENCH_CPU_PROF=1, i.e. `node --cpu-prof`): self time by
// package / project file and by function, excluding idle time.
// usage: node bench/profile-top.mjs <file.cpuprofile> [top N]
import { readFileSync } from "node:fs";

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: profile-top.mjs <file.cpuprofile> [top]");
  process.exit(2);
}
const top = Number(topArg ?? 20);
const p = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
for (let i = 0; i < p.samples.length; i++) {
  const dt = p.timeDeltas[i] ?? 0;
  self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
}
const where = (url) => {
  if (!url) return "";
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.startsWith("node:")) return url;
  const r = /\/(bin|common|ingest|processors|fanout|scheduler|storage|redpanda)\/(.+)$/.exec(url);
  return r ? `${r[1]}/${r[2]}` : url.replace(/^file:\/\//, "");
};
const pkg = new Map();
const fn = new Map();
let total = 0;
let idle = 0;
for (const [id, us] of self) {
  const n = byId.get(id);
  const name = n.callFrame.functionName || "(anonymous)";
  if (name === "(idle)") {
    idle += us;
    continue;
  }
  total += us;
  const w = where(n.callFrame.url) || name;
  pkg.set(w, (pkg.get(w) ?? 0) + us);
  const key = `${name} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
}
const wall = (p.endTime - p.startTime) / 1e6;
const fmt = (m) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1e6).toFixed(2).padStart(7)} s  ${k}`)
    .join("\n");
console.log(`${file}\nwall ${wall.toFixed(1)} s, busy ${(total / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s\n`);
console.log(`self time by package / file:\n${fmt(pkg)}\n`);
console.log(`self time by function:\n${fmt(fn)}`);
