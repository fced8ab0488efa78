import { createRequire } from "node:module";
import type * as Pino from "pino";
import type { Logger as PinoLogger } from "pino";

// Loaded with require so the pino instrumentation (common/telemetry.ts, when tracing is on) can
// wrap it: log lines written inside a span then carry trace_id and span_id.
const { pino } = createRequire(import.meta.url)("pino") as typeof Pino;

/** Structured JSON logs on stdout, one logger per process, a child per component. */
export const rootLogger = pino({
  level: process.env.LOG_LEVEL ?? "info",
  base: { pid: process.pid },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
});

export type Logger = PinoLogger;
export const logger = (component: string): Logger => rootLogger.child({ component });
