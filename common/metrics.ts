/**
 * One Prometheus registry per process; every stage registers its metrics here.
 *
 * Conventions (https://prometheus.io/docs/practices/naming/): every name starts with
 * `taskstream_`, durations are in seconds (`_seconds`), counters end in `_total`, gauges name what
 * they count. The process metrics (CPU, memory, event-loop delay `taskstream_nodejs_eventloop_lag_*`,
 * GC) come from prom-client's defaults under the same prefix. deploy/grafana/taskstream.json reads
 * these names; `make deploy-check` fails when it names one a running stack does not expose.
 */
import { readFileSync } from "node:fs";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: "taskstream_", eventLoopMonitoringPrecision: 10 });

/** The running build: version (package.json), commit (TASKSTREAM_COMMIT, set by the image build) and Node. */
function packageVersion(): string {
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "taskstream" && pkg.version) return pkg.version;
    } catch {
      // not there in this layout (source tree vs dist/)
    }
  }
  return "unknown";
}
new Gauge({
  name: "taskstream_build_info",
  help: "Always 1; the labels say which build runs",
  labelNames: ["version", "commit", "node"],
  registers: [registry],
}).set({ version: packageVersion(), commit: process.env.TASKSTREAM_COMMIT ?? "unknown", node: process.version }, 1);

export const metric = {
  counter: (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name: `taskstream_${name}`, help, labelNames, registers: [registry] }),
  gauge: (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name: `taskstream_${name}`, help, labelNames, registers: [registry] }),
  /** Latency in seconds, buckets from 1 ms to 10 s. */
  latency: (name: string, help: string, labelNames: string[] = []) =>
    new Histogram({
      name: `taskstream_${name}`,
      help,
      labelNames,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  /** A count per occurrence (e.g. events per batch), buckets from 1 to 2,000. */
  sizes: (name: string, help: string) =>
    new Histogram({ name: `taskstream_${name}`, help, buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000], registers: [registry] }),
};
