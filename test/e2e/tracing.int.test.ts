/**
 * Tracing across the broker (issue 17): one write is one trace from the HTTP request through the
 * produce, the processors' batch and apply (PostgreSQL) to the Redis publish, and the event the
 * WebSocket delivers names that trace in its metadata. The services run in this process with an
 * in-memory exporter (the same SDK set-up as OTEL_EXPORTER_OTLP_ENDPOINT gives, another exporter).
 */
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../../common/service.ts";
import { startTelemetry, stopTelemetry } from "../../common/telemetry.ts";
import { apiClient, eventually, testConfig, uniqueId, wsConnect } from "../harness.ts";

const exporter = new InMemorySpanExporter();
// Before the services (and with them pg and ioredis) are loaded, so the instrumentations patch them.
startTelemetry("taskstream-test", { spanProcessors: [new SimpleSpanProcessor({ exporter })] });

const config = testConfig();
const services: Service[] = [];

beforeAll(async () => {
  const { createTopics } = await import("../../redpanda/create-topics.ts");
  await createTopics(config);
  const { Health } = await import("../../common/service.ts");
  const health = new Health(() => services);
  const factories = [
    (await import("../../processors/service.ts")).processorsService,
    (await import("../../fanout/service.ts")).fanoutService,
    (await import("../../ingest/service.ts")).ingestService,
  ];
  for (const factory of factories) {
    const service = await factory(config, health);
    await service.start();
    services.push(service);
  }
  health.state = "running";
});

afterAll(async () => {
  for (const s of [...services].reverse()) await s.stop();
  await stopTelemetry();
});

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe("tracing", () => {
  it("follows one write from the HTTP request to the processors' apply and the Redis publish", async () => {
    const { signLocalToken } = await import("../../common/auth.ts");
    const id = uniqueId("traced");
    const token = await signLocalToken(config, id);
    const ws = await wsConnect(config, id, token);
    await ws.waitFor((m) => m.type === "ready");

    const res = await apiClient(config, id, token)("POST", "/tasks", { title: "traced write" });
    expect(res.status).toBe(202);
    const [message] = await ws.waitFor((m) => m.type === "task.created", 1, 30_000);
    ws.close();

    // The client can report the trace of the write it received.
    const traceId: string = message.metadata?.trace_id;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);

    const spans = await eventually(
      () => {
        const mine = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
        return mine.some((s) => s.name === "processors publish") ? mine : undefined;
      },
      10_000,
      "the processors' spans in the write's trace",
    );
    const named = (name: string | RegExp) => {
      const found = spans.filter((s) => (typeof name === "string" ? s.name === name : name.test(s.name)));
      expect(found, `span ${name} in ${spans.map((s) => s.name).join(", ")}`).not.toHaveLength(0);
      return found[0] as ReadableSpan;
    };

    const request = named("POST /api/:user_id/tasks");
    expect(parentOf(request)).toBeUndefined(); // the trace starts at the request
    expect(message.metadata.span_id).toBe(request.spanContext().spanId);
    const produce = named(`${config.topicPrefix}task-events publish`);
    expect(parentOf(produce)).toBe(request.spanContext().spanId);
    const batch = named(`${config.topicPrefix}task-events process`);
    // The batch span links to the write it applies (and, one trace in the batch, is its child).
    expect(batch.links.map((l) => l.context.spanId)).toContain(produce.spanContext().spanId);
    expect(parentOf(batch)).toBe(produce.spanContext().spanId);
    const apply = named("processors apply");
    expect(parentOf(apply)).toBe(batch.spanContext().spanId);
    const publish = named("processors publish");
    expect(parentOf(publish)).toBe(batch.spanContext().spanId);

    // The maintained instrumentations: PostgreSQL queries under the apply, the Redis script under the publish.
    const pgSpans = spans.filter((s) => s.instrumentationScope.name.includes("pg") && parentOf(s) !== undefined);
    expect(pgSpans.some((s) => isBelow(s, apply, spans))).toBe(true);
    const redisSpans = spans.filter((s) => s.instrumentationScope.name.includes("ioredis"));
    expect(redisSpans.some((s) => isBelow(s, publish, spans))).toBe(true);
  });
});

/** Whether `span` descends from `ancestor` among `spans`. */
function isBelow(span: ReadableSpan, ancestor: ReadableSpan, spans: ReadableSpan[]): boolean {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  for (let p = parentOf(span); p !== undefined; p = byId.get(p) ? parentOf(byId.get(p) as ReadableSpan) : undefined) {
    if (p === ancestor.spanContext().spanId) return true;
  }
  return false;
}
