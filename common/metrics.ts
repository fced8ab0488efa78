/** One Prometheus registry per process; every stage registers its metrics here. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: "taskstream_" });

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
};
