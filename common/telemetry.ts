/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (or a test passes its own
 * span processor). Off means off: the SDK is never loaded (it is required lazily, only here),
 * nothing is patched, and every helper below returns at its first line, so a process without the
 * variable pays one boolean check per hook.
 *
 * On: @opentelemetry/sdk-node with the OTLP exporter configured by the standard OTEL_* variables
 * (OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_TRACES_SAMPLER, ...), W3C trace context, and the maintained
 * instrumentations for pg, ioredis and pino (trace_id/span_id in every log line written inside a
 * span). There is no maintained instrumentation for @confluentinc/kafka-javascript, so our own
 * producer and consumer wrappers (common/kafka.ts) carry `traceparent` in the record headers:
 * a produce is a PRODUCER span whose context goes into the headers, and a consumed batch is a
 * CONSUMER span linked to every record's context (and the child of it when the whole batch
 * comes from one trace). Events also carry their trace id in `metadata` (common/contracts/events.ts),
 * so a WebSocket client can report it.
 *
 * Must start before pg, ioredis and pino are first loaded: bin/taskstream.ts imports
 * ./telemetry-boot.ts first.
 */
import { createRequire } from "node:module";
import {
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { SpanProcessor } from "@opentelemetry/sdk-trace";
import { setEventMetadataSource } from "./contracts/envelope.ts";
import type { EventMetadata } from "./contracts/events.ts";

// Taken once the SDK is registered: a tracer taken earlier would be a proxy of whichever copy of
// @opentelemetry/api (ESM or CommonJS build) this module got, which the SDK's registration may not reach.
let tracer: Tracer = trace.getTracer("taskstream");

let enabled = false;
let shutdownSdk: () => Promise<void> = async () => {};

/** True once the SDK runs in this process. */
export const tracingEnabled = (): boolean => enabled;

export interface TelemetryOptions {
  /** Span processors instead of the OTLP exporter (tests: an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts the SDK when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set
 * or span processors are given; otherwise does nothing. Synchronous, so an importing module runs
 * it before its siblings load pg, ioredis and pino. Returns whether tracing is on.
 */
export function startTelemetry(serviceName: string, options: TelemetryOptions = {}): boolean {
  const env = options.env ?? process.env;
  if (enabled) return true;
  if (!options.spanProcessors && !env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return false;
  if (env.OTEL_SDK_DISABLED === "true") return false;
  // Traces only: metrics stay Prometheus (/metrics), logs stay JSON lines on stdout.
  env.OTEL_METRICS_EXPORTER ??= "none";
  env.OTEL_LOGS_EXPORTER ??= "none";
  env.OTEL_SERVICE_NAME ??= serviceName;
  const require = createRequire(import.meta.url);
  const { NodeSDK } = require("@opentelemetry/sdk-node") as typeof import("@opentelemetry/sdk-node");
  const { PgInstrumentation } = require("@opentelemetry/instrumentation-pg") as typeof import("@opentelemetry/instrumentation-pg");
  const { IORedisInstrumentation } =
    require("@opentelemetry/instrumentation-ioredis") as typeof import("@opentelemetry/instrumentation-ioredis");
  const { PinoInstrumentation } = require("@opentelemetry/instrumentation-pino") as typeof import("@opentelemetry/instrumentation-pino");
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME,
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
    instrumentations: [
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      new PinoInstrumentation({ disableLogSending: true }),
    ],
  });
  sdk.start();
  tracer = trace.getTracer("taskstream");
  enabled = true;
  shutdownSdk = () => sdk.shutdown();
  setEventMetadataSource(activeTraceMetadata);
  return true;
}

/** Flushes and stops the SDK (on SIGTERM, after the services stopped). */
export async function stopTelemetry(): Promise<void> {
  if (!enabled) return;
  enabled = false;
  setEventMetadataSource(undefined);
  await shutdownSdk().catch(() => {});
}

/** The active span's ids, for an event's `metadata` (none outside a sampled span). */
function activeTraceMetadata(): EventMetadata | undefined {
  const span = trace.getActiveSpan();
  const sc = span?.spanContext();
  if (!sc || !trace.isSpanContextValid(sc)) return undefined;
  return { trace_id: sc.traceId, span_id: sc.spanId };
}

/**
 * Runs `fn` in a new active span (ended when `fn` settles; an exception marks it as an error).
 * Without tracing it is `fn()`.
 */
export function withSpan<T>(name: string, options: SpanOptions, fn: (span?: Span) => Promise<T>, parent?: Context): Promise<T> {
  if (!enabled) return fn();
  return tracer.startActiveSpan(name, options, parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      throw err;
    } finally {
      span.end();
    }
  });
}

type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;
type Headers = Record<string, HeaderValue>;

const headerGetter = {
  keys: (carrier: Headers) => Object.keys(carrier),
  get: (carrier: Headers, key: string): string | undefined => {
    const v = carrier[key];
    const one = Array.isArray(v) ? v[0] : v;
    return one === undefined ? undefined : one.toString();
  },
};

/** The W3C trace context of `ctx` (default: the active one) as Kafka record / job headers. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  if (enabled) propagation.inject(ctx, carrier);
  return carrier;
}

/** The context a record's (or a job's) headers carry; ROOT_CONTEXT when they carry none. */
export function contextFrom(headers: Headers | undefined): Context {
  if (!enabled || !headers) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, headers, headerGetter);
}

/** The context an event's metadata names (the span that wrote it), for events read without headers. */
export function contextOfEvent(event: { metadata?: EventMetadata }): Context {
  const m = event.metadata;
  if (!enabled || !m?.trace_id || !m.span_id) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: m.trace_id, spanId: m.span_id, traceFlags: 1, isRemote: true });
}

/** Headers of `event`'s own trace (from its metadata), for a send outside the span that wrote it (outbox relay). */
export function eventTraceHeaders(event: { metadata?: EventMetadata }): Record<string, string> {
  if (!enabled || !event.metadata?.trace_id) return {};
  return traceHeaders(contextOfEvent(event));
}

interface ProducedMessage {
  headers?: Headers;
}

/**
 * Around a producer's send: one PRODUCER span per send, its context in the `traceparent` header
 * of every message that does not carry one already (a call site may set a message's own trace).
 */
export function tracedSend<R extends { topic: string; messages: ProducedMessage[] }, T>(record: R, send: (r: R) => Promise<T>): Promise<T> {
  if (!enabled) return send(record);
  return withSpan(
    `${record.topic} publish`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        "messaging.system": "kafka",
        "messaging.operation.type": "send",
        "messaging.destination.name": record.topic,
        "messaging.batch.message_count": record.messages.length,
      },
    },
    async () => {
      const headers = traceHeaders();
      const messages = record.messages.map((m) => (m.headers?.traceparent ? m : { ...m, headers: { ...m.headers, ...headers } }));
      return send({ ...record, messages });
    },
  );
}

/** Most links one consumed batch span records. */
const MAX_LINKS = 128;

/**
 * Around the handling of one consumed batch: a CONSUMER span linked to the context of every record
 * that carries one. When all of them come from one trace, the span is also that trace's child, so a
 * single write is one trace from the HTTP request to the Redis publish.
 */
export function tracedBatch<T>(
  batch: { topic: string; partition: number; messages: { headers?: Headers; offset: string }[] },
  handle: () => Promise<T>,
): Promise<T> {
  if (!enabled) return handle();
  const links: Link[] = [];
  const traces = new Set<string>();
  let first: Context | undefined;
  for (const m of batch.messages) {
    const ctx = contextFrom(m.headers);
    const sc = trace.getSpanContext(ctx);
    if (!sc || !trace.isSpanContextValid(sc)) {
      traces.add("none");
      continue;
    }
    traces.add(sc.traceId);
    first ??= ctx;
    if (links.length < MAX_LINKS) links.push({ context: sc });
  }
  const parent = traces.size === 1 && first ? first : ROOT_CONTEXT;
  return withSpan(
    `${batch.topic} process`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": batch.topic,
        "messaging.destination.partition.id": String(batch.partition),
        "messaging.batch.message_count": batch.messages.length,
      },
    },
    handle,
    parent,
  );
}

/**
 * One SERVER span per HTTP request, the child of the caller's `traceparent` when it sends one.
 * Without tracing it is `handle()`.
 */
export function serverSpan<T>(routeName: string, route: string, headers: Headers, handle: (span?: Span) => Promise<T>): Promise<T> {
  if (!enabled) return handle();
  const [method = "GET"] = routeName.split(" ", 1);
  return withSpan(
    routeName,
    { kind: SpanKind.SERVER, attributes: { "http.request.method": method, "http.route": route } },
    handle,
    contextFrom(headers),
  );
}

/** A span for work started by something recorded earlier (a due job): a new trace linked to it. */
export function withLinkedSpan<T>(name: string, linkTo: Headers | undefined, attributes: Record<string, string>, fn: () => Promise<T>) {
  if (!enabled) return fn();
  const sc = trace.getSpanContext(contextFrom(linkTo));
  const links = sc && trace.isSpanContextValid(sc) ? [{ context: sc }] : [];
  return withSpan(name, { kind: SpanKind.INTERNAL, links, attributes }, fn, ROOT_CONTEXT);
}

export { SpanKind };
