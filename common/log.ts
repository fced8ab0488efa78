import { type Logger as PinoLogger, pino } from "pino";

/** Structured JSON logs on stdout, one logger per process, a child per component. */
export const rootLogger = pino({
  level: process.env.LOG_LEVEL ?? "info",
  base: { pid: process.pid },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
});

export type Logger = PinoLogger;
export const logger = (component: string): Logger => rootLogger.child({ component });
