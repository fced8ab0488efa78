// Checks on docker-compose.yml (parsed with YAML merge keys resolved). The Compose
// Specification schema itself is checked by compose-lint (compose-go), see run.mjs.
const APP_SERVICES = { ingest: "INGEST_PORT", processors: "PROCESSORS_PORT", scheduler: "SCHEDULER_PORT", fanout: "FANOUT_PORT" };
const seconds = (d) => {
  const m = /^(\d+)(ms|s|m)?$/.exec(String(d ?? "10s"));
  if (!m) return NaN;
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[m[2] ?? "s"];
};
const cmd = (s) => [s.command ?? []].flat().join(" ");
const env = (s) =>
  Array.isArray(s.environment) ? Object.fromEntries(s.environment.map((x) => x.split(/=(.*)/s).slice(0, 2))) : (s.environment ?? {});

export const composeChecks = [
  {
    id: "compose-services",
    title: "compose has Redpanda, Postgres, Redis (AOF), the topics and migrate jobs and the four processes from one image",
    run(c) {
      const out = [];
      const s = c.services ?? {};
      for (const n of ["redpanda", "postgres", "redis", "topics", "migrate", ...Object.keys(APP_SERVICES)])
        if (!s[n]) out.push(`no service ${n}`);
      if (out.length) return out;
      if (!/redpanda/.test(s.redpanda.image ?? "")) out.push("service redpanda does not run the Redpanda image");
      if (!/appendonly\s+yes|--appendonly\s+yes/.test(cmd(s.redis))) out.push("redis does not run with --appendonly yes");
      if (!/maxmemory-policy\s+noeviction/.test(cmd(s.redis))) out.push("redis does not run with --maxmemory-policy noeviction (BullMQ)");
      if (!/--requirepass\s+\S+/.test(cmd(s.redis)))
        out.push("redis does not run with --requirepass (anyone on the network could publish fan-out frames)");
      if (!/--protected-mode\s+yes/.test(cmd(s.redis))) out.push("redis does not run with --protected-mode yes");
      const img = s.ingest.image;
      for (const n of ["topics", "migrate", ...Object.keys(APP_SERVICES)])
        if (s[n].image !== img) out.push(`service ${n} runs ${s[n].image}, not the app image ${img}`);
      if (cmd(s.topics) !== "topics") out.push(`topics service command is "${cmd(s.topics)}", want "topics"`);
      if (cmd(s.migrate) !== "migrate") out.push(`migrate service command is "${cmd(s.migrate)}", want "migrate"`);
      for (const [n, portVar] of Object.entries(APP_SERVICES)) {
        if (cmd(s[n]) !== n) out.push(`service ${n} command is "${cmd(s[n])}", want "${n}"`);
        const port = env(s[n])[portVar];
        if (!port) out.push(`service ${n} does not set ${portVar}`);
        const deps = s[n].depends_on ?? {};
        for (const dep of ["topics", "migrate"])
          if (deps[dep]?.condition !== "service_completed_successfully") out.push(`service ${n} does not wait for ${dep} to complete`);
        if (!/redpanda:/.test(env(s[n]).KAFKA_BROKERS ?? "")) out.push(`service ${n} KAFKA_BROKERS does not point at redpanda`);
      }
      return out;
    },
  },
  {
    id: "compose-shutdown",
    title: "stop_grace_period of every app service exceeds its SHUTDOWN_TIMEOUT_MS",
    run(c) {
      const out = [];
      for (const n of Object.keys(APP_SERVICES)) {
        const s = c.services?.[n];
        if (!s) continue;
        const drain = Number(env(s).SHUTDOWN_TIMEOUT_MS ?? 10000);
        const grace = seconds(s.stop_grace_period);
        if (!(drain < grace * 1000))
          out.push(`service ${n}: stop_grace_period ${s.stop_grace_period ?? "10s (default)"} is not above SHUTDOWN_TIMEOUT_MS ${drain}`);
      }
      return out;
    },
  },
  {
    id: "compose-images",
    title: "compose images are pinned (no :latest, no missing tag)",
    run(c) {
      const out = [];
      for (const [n, s] of Object.entries(c.services ?? {})) {
        const img = s.image ?? "";
        if (!img) {
          if (!s.build) out.push(`service ${n} has neither image nor build`);
          continue;
        }
        if (/:latest$/.test(img) || !img.split("/").pop().includes(":")) out.push(`service ${n} image ${img} is not pinned`);
      }
      return out;
    },
  },
];
