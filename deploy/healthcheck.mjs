// Container HEALTHCHECK for the taskstream image (used by Docker and docker compose;
// Kubernetes uses its own httpGet probes). Finds which process this container runs from
// PID 1's command line (tini -- node ... dist/bin/taskstream.js <process>) and GETs /healthz
// on that process's port; for `all` every port must answer.
import { readFileSync } from "node:fs";

const ports = {
  ingest: process.env.INGEST_PORT || "8080",
  processors: process.env.PROCESSORS_PORT || "8081",
  scheduler: process.env.SCHEDULER_PORT || "8082",
  fanout: process.env.FANOUT_PORT || "8090",
};
let name = process.env.TASKSTREAM_PROCESS;
if (!name) {
  try {
    const argv = readFileSync("/proc/1/cmdline", "utf8").split("\0").filter(Boolean);
    name = argv.findLast((a) => a === "all" || a in ports);
  } catch {
    /* not on Linux or no /proc: fall through to `all` */
  }
}
const targets = name && name !== "all" ? [ports[name]] : Object.values(ports);
const timeout = AbortSignal.timeout(4000);
try {
  for (const port of targets) {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: timeout });
    if (!res.ok) throw new Error(`port ${port}: HTTP ${res.status}`);
  }
  process.exit(0);
} catch (err) {
  console.error(`unhealthy (${name ?? "all"}): ${err.message}`);
  process.exit(1);
}
