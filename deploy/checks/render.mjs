// render.yaml (Render Blueprint, option A), checked offline: Render's JSON Schema and `render
// blueprints validate` need render.com, unreachable here. What is checked instead: the structure and
// field values the Blueprint reference documents for the fields used, the project's own rules
// (the start/build commands, secrets never inline, BullMQ's noeviction, private data services), and
// the service's environment through the project's config loader (`check-config all`, with
// placeholders for the values Render prompts for). Exit 0 when all hold.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { repoRoot } from "./world.mjs";

const out = [];
const bp = parse(readFileSync(join(repoRoot, "render.yaml"), "utf8"));
const known = new Set(["services", "databases", "envVarGroups", "projects", "ungrouped", "previews"]);
for (const k of Object.keys(bp)) if (!known.has(k)) out.push(`unknown root field ${k}`);
const services = bp.services ?? [];
const webs = services.filter((s) => s.type === "web");
const kv = services.filter((s) => s.type === "keyvalue" || s.type === "redis");
const dbs = bp.databases ?? [];
const PLANS = ["free", "starter", "standard", "pro", "pro plus", "pro max", "pro ultra"];
const REGIONS = ["oregon", "ohio", "virginia", "frankfurt", "singapore"];
// What an operator types for a `sync: false` variable, so that check-config sees a valid shape.
const SYNC_PLACEHOLDER = { KAFKA_BROKERS: "seed.example.cloud.redpanda.com:9092", CORS_ORIGINS: "https://app.example.com" };
if (webs.length !== 1) out.push(`want exactly one web service, found ${webs.length}`);
if (kv.length !== 1) out.push(`want one keyvalue (Redis) service, found ${kv.length}`);
if (dbs.length !== 1) out.push(`want one Postgres database, found ${dbs.length}`);
for (const s of [...services, ...dbs]) {
  if (!s.name) out.push("a service or database without name");
  if (s.plan && !PLANS.includes(s.plan) && !/^(basic|pro|accelerated)-\d+(gb|mb)$/.test(s.plan))
    out.push(`${s.name}: unknown plan ${s.plan}`);
  if (s.region && !REGIONS.includes(s.region)) out.push(`${s.name}: unknown region ${s.region}`);
}
const web = webs[0];
const env = {};
if (web) {
  if (web.runtime !== "node") out.push(`web service runtime ${web.runtime}, want node`);
  if (web.startCommand !== "npm start -- all") out.push(`startCommand "${web.startCommand}", want "npm start -- all"`);
  if (!/CKJS_LINKING=dynamic npm ci\b/.test(web.buildCommand ?? ""))
    out.push("buildCommand does not run CI's install command (CKJS_LINKING=dynamic npm ci)");
  if (!/npm run build/.test(web.buildCommand ?? "")) out.push("buildCommand does not build dist/ (npm run build)");
  if (!/migrate/.test(web.preDeployCommand ?? "") || !/topics/.test(web.preDeployCommand ?? ""))
    out.push("preDeployCommand does not run migrate and topics");
  if (!["/healthz", "/readyz"].includes(web.healthCheckPath)) out.push(`healthCheckPath ${web.healthCheckPath}, want /healthz`);
  const grace = web.maxShutdownDelaySeconds ?? 30;
  for (const e of web.envVars ?? []) {
    if (!e.key) {
      if (!e.fromGroup) out.push(`envVar without key: ${JSON.stringify(e)}`);
      continue;
    }
    const sources = ["value", "fromDatabase", "fromService", "generateValue", "sync"].filter((k) => k in e);
    if (sources.length !== 1)
      out.push(`${e.key}: want exactly one of value/fromDatabase/fromService/generateValue/sync, got ${sources.join(",") || "none"}`);
    if (/PASSWORD|SECRET/.test(e.key) && "value" in e) out.push(`${e.key} has an inline value: use sync: false or generateValue`);
    if (e.fromDatabase) {
      if (e.fromDatabase.name !== dbs[0]?.name) out.push(`${e.key}: fromDatabase ${e.fromDatabase.name} is not the Blueprint's database`);
      env[e.key] = "postgresql://user:pw@dpg-placeholder-a/taskstream";
    } else if (e.fromService) {
      if (e.fromService.name !== kv[0]?.name || e.fromService.type !== "keyvalue")
        out.push(`${e.key}: fromService is not the Blueprint's keyvalue`);
      env[e.key] = "redis://red-placeholder:6379";
    } else if (e.generateValue)
      env[e.key] = "G".repeat(44); // base64 of 256 bits
    else if (e.sync === false) env[e.key] = SYNC_PLACEHOLDER[e.key] ?? "placeholder";
    else env[e.key] = String(e.value);
  }
  for (const k of ["DATABASE_URL", "REDIS_URL", "KAFKA_BROKERS", "PUBLIC_PORT", "PORT"])
    if (!(k in env)) out.push(`web service does not set ${k}`);
  if (env.PUBLIC_PORT !== env.PORT) out.push("PUBLIC_PORT is not Render's PORT: the WebSocket would not be reachable");
  if (Number(env.SHUTDOWN_TIMEOUT_MS ?? 10000) >= grace * 1000) out.push("SHUTDOWN_TIMEOUT_MS is not below maxShutdownDelaySeconds");
}
if (kv[0]) {
  if (kv[0].maxmemoryPolicy !== "noeviction") out.push(`keyvalue maxmemoryPolicy ${kv[0].maxmemoryPolicy}, want noeviction (BullMQ)`);
  if (!Array.isArray(kv[0].ipAllowList)) out.push("keyvalue lacks ipAllowList (required by Render)");
  else if (kv[0].ipAllowList.length) out.push("keyvalue is reachable from outside Render's private network (ipAllowList not empty)");
}
if (dbs[0] && !(Array.isArray(dbs[0].ipAllowList) && dbs[0].ipAllowList.length === 0))
  out.push("database reachable from the internet (want ipAllowList: [])");

// The environment through the config loader, as `npm start -- all` would validate it.
if (web) {
  const { PORT: _port, NODE_VERSION: _nv, ...appEnv } = env;
  const r = spawnSync(process.execPath, ["--import", "tsx", "bin/taskstream.ts", "check-config", "all"], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...appEnv },
    encoding: "utf8",
  });
  if (r.status !== 0) out.push(`config loader refuses the Blueprint's environment: ${(r.stderr || r.stdout).trim()}`);
}
for (const f of out) console.log(`FAIL render.yaml: ${f}`);
if (!out.length)
  console.log("ok   render.yaml: one web service (npm start -- all), Postgres, Key Value; environment valid for check-config all");
process.exit(out.length ? 1 : 0);
