/**
 * Imported first by bin/taskstream.ts: starts tracing (when OTEL_EXPORTER_OTLP_ENDPOINT is set)
 * before any other module loads pg, ioredis or pino, so their instrumentations can patch them.
 * The service name is `taskstream-<command>` unless OTEL_SERVICE_NAME says otherwise.
 */
import { startTelemetry } from "./telemetry.ts";

const command = process.argv[2];
if (command && ["ingest", "processors", "scheduler", "fanout", "all", "replay"].includes(command)) {
  startTelemetry(`taskstream-${command}`);
}
