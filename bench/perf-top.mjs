#!/usr/bin/env node
// Summarises a run's system-wide CPU profile (BENCH_PERF=1: `perf record -a -g` over the measured
// window, Node's JIT frames named through --perf-basic-prof-only-functions): for each process of
// the system where its CPU went, by package / project file and by function, inclusive, and in ms
// per accepted write when the run's breakdown.json is there. Unlike `node --cpu-prof` it costs
// the services little, sees the kernel (syscalls, the loopback TCP a send pays for) and sees
// PostgreSQL, Redis and the broker too.
// usage: node bench/perf-top.mjs <run dir> [top N]   (writes <run dir>/perf-summary.txt as well)
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const [dir, topArg] = process.argv.slice(2);
if (!dir || !existsSync(join(dir, "perf.data"))) {
  console.error("usage: perf-top.mjs <run dir with perf.data> [top N]");
  process.exit(2);
}
const top = Number(topArg ?? 12);

// pid -> the category bench/cpu-snapshot.sh gave it (svc:ingest, postgres, kafka, redis, loadgen...)
const category = new Map();
for (const f of ["cpu-before-processes.txt", "cpu-after-processes.txt"]) {
  if (!existsSync(join(dir, f))) continue;
  for (const line of readFileSync(join(dir, f), "utf8").split("\n")) {
    const [cat, pid] = line.split(" ");
    if (cat && pid) category.set(pid, cat);
  }
}
const byComm = { postgres: "postgres", "redis-server": "redis", swapper: "(idle)" };
const msPerWrite = new Map();
if (existsSync(join(dir, "breakdown.json"))) {
  for (const c of JSON.parse(readFileSync(join(dir, "breakdown.json"), "utf8")).cpu ?? []) msPerWrite.set(c.part, c.cpu_ms_per_event);
}

/** node_modules package, project file (dist/<stage>/<file>), or node: module of a JS frame. */
function origin(frame) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame);
  if (m) return m[1];
  const p = /dist\/(\w+\/[\w./-]+?)\.js/.exec(frame);
  if (p) return p[1];
  const n = /(node:[\w/]+)/.exec(frame);
  return n ? n[1] : null;
}
/** "JS:*name file:///…/dist/ingest/http.js:232:20" -> "name ingest/http:232" */
function jsName(sym) {
  const m = /^JS:[*~^+-]?(\S*) (.*?)(?::(\d+):\d+)?$/.exec(sym);
  if (!m) return sym;
  return `${m[1] || "(anonymous)"} ${origin(m[2]) ?? m[2]}${m[3] ? `:${m[3]}` : ""}`;
}
const GC = /Heap::CollectGarbage|Scavenger|MarkCompact|ConcurrentMarking|MinorMS|Sweeper/;

const procs = new Map(); // category -> stats
let total = 0;
function account(pid, comm, frames) {
  total++;
  const cat = category.get(pid) ?? byComm[comm] ?? `other:${comm}`;
  let s = procs.get(cat);
  if (!s) {
    s = { samples: 0, kernel: 0, syscall: 0, gc: 0, origins: new Map(), fns: new Map(), jsNames: new Set(), leaf: new Map() };
    procs.set(cat, s);
  }
  s.samples++;
  const leaf = frames[0];
  if (leaf?.kernel) s.kernel++;
  if (frames.some((f) => f.sym.startsWith("entry_SYSCALL"))) s.syscall++;
  if (frames.some((f) => GC.test(f.sym))) s.gc++;
  if (leaf) s.leaf.set(leaf.sym, (s.leaf.get(leaf.sym) ?? 0) + 1);
  const seenO = new Set();
  const seenF = new Set();
  for (const f of frames) {
    const js = f.sym.startsWith("JS:");
    const o = js ? origin(f.sym) : null;
    if (o && !seenO.has(o)) {
      seenO.add(o);
      s.origins.set(o, (s.origins.get(o) ?? 0) + 1);
    }
    const name = js ? jsName(f.sym) : f.sym;
    if (js) s.jsNames.add(name);
    if (!seenF.has(name)) {
      seenF.add(name);
      s.fns.set(name, (s.fns.get(name) ?? 0) + 1);
    }
  }
}

const perf = spawn("perf", ["script", "-i", join(dir, "perf.data"), "-F", "pid,tid,comm,ip,sym,dso"], {
  stdio: ["ignore", "pipe", "ignore"],
});
let head = null;
let frames = [];
for await (const line of createInterface({ input: perf.stdout })) {
  if (line.trim() === "") {
    if (head) account(head.pid, head.comm, frames);
    head = null;
    frames = [];
  } else if (!line.startsWith("\t")) {
    const m = /^\s*(.+?)\s+(\d+)\/\d+/.exec(line);
    if (m) head = { comm: m[1], pid: m[2] };
  } else {
    const m = /^\s*[0-9a-f]+ (.*) \((.*)\)$/.exec(line);
    if (m) frames.push({ sym: m[1] === "[unknown]" ? `[unknown] ${m[2]}` : m[1], kernel: m[2] === "[kernel.kallsyms]" });
  }
}
if (head) account(head.pid, head.comm, frames);

const pct = (n, d) => `${((100 * n) / d).toFixed(1).padStart(5)} %`;
const out = [];
const windowS = total / availableParallelism() / 499; // perf record -F 499 on every CPU of this box
out.push(`${dir}: ${total} samples (${windowS.toFixed(0)} s on ${availableParallelism()} CPUs at 499 Hz)`);
out.push("inclusive shares are of the process's own samples; ms/write = share × the process's CPU per write (breakdown.json)\n");
const ranked = [...procs].sort((a, b) => b[1].samples - a[1].samples);
for (const [cat, s] of ranked) {
  if (s.samples < total * 0.01) continue;
  const ms = msPerWrite.get(cat);
  const msOf = (n) => (ms === undefined ? "" : `  ${((ms * n) / s.samples).toFixed(3)} ms/write`);
  out.push(
    `## ${cat}: ${pct(s.samples, total)} of all samples${ms === undefined ? "" : `, ${ms} ms/write`}; in the kernel ${pct(s.kernel, s.samples)}, under a syscall ${pct(s.syscall, s.samples)}, GC ${pct(s.gc, s.samples)}`,
  );
  if (cat === "(idle)") continue;
  const list = (m, n, filter = () => true) =>
    [...m]
      .filter(([k, v]) => filter(k) && v < s.samples * 0.9)
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `   ${pct(v, s.samples)}${msOf(v)}  ${k.slice(0, 120)}`);
  if (s.origins.size > 0) out.push("  by package / file (inclusive):", ...list(s.origins, top));
  // A Node process's native frames are mostly the event loop and promise plumbing around the JavaScript.
  const named = s.origins.size > 0 ? (k) => s.jsNames.has(k) : (k) => !k.startsWith("[unknown]");
  out.push(`  by ${s.origins.size > 0 ? "JavaScript " : ""}function (inclusive):`, ...list(s.fns, top * 2, named));
  out.push("  self (leaf):", ...list(s.leaf, Math.ceil(top / 2)), "");
}
const text = out.join("\n");
writeFileSync(join(dir, "perf-summary.txt"), `${text}\n`);
console.log(text);
