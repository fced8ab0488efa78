/**
 * Writes redpanda/asyncapi.json, an AsyncAPI 3 document of the broker's topics and the WebSocket
 * channel, from the same TypeBox contracts as redpanda/schemas/*.json (common/contracts/events.ts)
 * and the one topics file (redpanda/topics.json). `npm run asyncapi` regenerates;
 * redpanda/asyncapi.test.ts fails when the file drifts from the code or @asyncapi/parser refuses it.
 */
import { writeFileSync } from "node:fs";
import { EVENT_TYPES, type EventType, eventSchemas, SCHEMA_VERSION } from "../common/contracts/events.ts";
import { type TopicKey, topicSpecs } from "../common/contracts/topics.ts";

export const asyncapiFile = new URL("./asyncapi.json", import.meta.url);

type Json = Record<string, unknown>;

/** A TypeBox schema as plain JSON Schema, without the `$id`s (AsyncAPI resolves references itself). */
function plain(schema: unknown): Json {
  return JSON.parse(JSON.stringify(schema), (key, value) => (key === "$id" ? undefined : value));
}

/** Which event types each topic carries; a topic not listed carries every type. */
const TOPIC_EVENTS: Partial<Record<TopicKey, EventType[]>> = {
  // Written by ingest (write.rejected, reminder.triggered and recurring.spawned are not).
  taskEvents: EVENT_TYPES.filter((t) => !["write.rejected", "reminder.triggered", "recurring.spawned"].includes(t)),
  // Written by the scheduler: due jobs, and a series moved to a user's new timezone.
  reminders: ["reminder.triggered", "recurring.spawned", "task.updated"],
  deadLetters: [],
};

const ref = (path: string) => ({ $ref: path });
const messageId = (type: string) => type.replace(/\./g, "_");

/** The envelope as clients receive it: `type` (= event_type) added, seq and version always there. */
function wireSchema(type: EventType): Json {
  const s = plain(eventSchemas[type]) as { properties: Json; required: string[] } & Json;
  return {
    ...s,
    properties: { type: { const: type, description: "equal to event_type" }, ...s.properties },
    required: ["type", ...new Set([...s.required, "seq", "version"])],
  };
}

const kafkaHeaders = {
  type: "object",
  properties: {
    event_type: { type: "string", description: "the record's event_type" },
    correlation_id: { type: "string", format: "uuid" },
    traceparent: { type: "string", description: "W3C trace context of the producing span (only while tracing is on)" },
  },
};

export function renderAsyncApi(): string {
  const schemas: Json = {};
  const messages: Json = {};
  for (const type of EVENT_TYPES) {
    const id = messageId(type);
    schemas[id] = plain(eventSchemas[type]);
    schemas[`${id}_wire`] = wireSchema(type);
    messages[id] = {
      name: type,
      title: type,
      summary: `${type} on the broker's log (keyed by user_id)`,
      contentType: "application/json",
      headers: kafkaHeaders,
      payload: ref(`#/components/schemas/${id}`),
      bindings: { kafka: { key: { type: "string", description: "user_id" }, bindingVersion: "0.5.0" } },
    };
    messages[`${id}_wire`] = {
      name: type,
      title: `${type} (WebSocket)`,
      summary: `${type} as a WebSocket client receives it (also the polling API and the Redis stream)`,
      contentType: "application/json",
      payload: ref(`#/components/schemas/${id}_wire`),
    };
  }
  messages.dead_letter = {
    name: "dead_letter",
    title: "dead letter",
    summary: "The original record's key and value, unchanged, with why it was not applied",
    headers: {
      type: "object",
      required: ["x-dlq-reason", "x-dlq-source", "x-dlq-at"],
      properties: {
        "x-dlq-reason": { type: "string", maxLength: 1000 },
        "x-dlq-source": { type: "string", description: "<topic>/<partition>/<offset> of the original record" },
        "x-dlq-at": { type: "string", format: "date-time" },
      },
    },
    payload: { description: "the original record value (bytes; usually, but not necessarily, an event's JSON)" },
  };
  messages.ready = {
    name: "ready",
    summary: "After authentication (and the replay asked for with `since`): live events follow",
    payload: {
      type: "object",
      required: ["type", "seq"],
      properties: { type: { const: "ready" }, seq: { type: "integer", minimum: 0, description: "the user's latest seq" } },
    },
  };
  messages.resync_required = {
    name: "resync_required",
    summary: "`since` is older than the history kept: reload over HTTP",
    payload: { type: "object", required: ["type"], properties: { type: { const: "resync_required" } } },
  };

  const channels: Json = {};
  const operations: Json = {};
  for (const [key, spec] of Object.entries(topicSpecs) as [TopicKey, (typeof topicSpecs)[TopicKey]][]) {
    const types = TOPIC_EVENTS[key] ?? EVENT_TYPES;
    const channelMessages: Json = {};
    for (const t of types) channelMessages[messageId(t)] = ref(`#/components/messages/${messageId(t)}`);
    if (key === "deadLetters") channelMessages.dead_letter = ref("#/components/messages/dead_letter");
    channels[key] = {
      address: spec.name,
      title: spec.name,
      description: `${spec.purpose} Topic names get the deployment's TOPIC_PREFIX.`,
      servers: [ref("#/servers/broker")],
      messages: channelMessages,
      bindings: {
        kafka: {
          topic: spec.name,
          partitions: spec.partitions,
          topicConfiguration: { "retention.ms": spec.retention_ms },
          bindingVersion: "0.5.0",
        },
      },
    };
    operations[`consume_${key}`] = {
      action: "receive",
      title: `consume ${spec.name}`,
      channel: ref(`#/channels/${key}`),
      messages: Object.keys(channelMessages).map((m) => ref(`#/channels/${key}/messages/${m}`)),
    };
  }
  const wsMessages: Json = {};
  for (const t of EVENT_TYPES) wsMessages[t.replace(/\./g, "_")] = ref(`#/components/messages/${messageId(t)}_wire`);
  wsMessages.ready = ref("#/components/messages/ready");
  wsMessages.resync_required = ref("#/components/messages/resync_required");
  channels.userSocket = {
    address: "/api/ws/{user_id}",
    title: "a user's WebSocket",
    description:
      "ws://host:FANOUT_PORT/api/ws/{user_id}?token=<jwt>[&since=<seq>]. Every applied event of the user in seq order (no gap, no duplicate), replayed from `since` before live ones. Close codes: CONTRACT.md.",
    servers: [ref("#/servers/fanout")],
    parameters: { user_id: { description: "the token's sub" } },
    messages: wsMessages,
    bindings: {
      ws: {
        query: {
          type: "object",
          required: ["token"],
          properties: {
            token: { type: "string", description: "JWT (or an Authorization header)" },
            since: { type: "string", pattern: "^\\d+$" },
          },
        },
        bindingVersion: "0.1.0",
      },
    },
  };
  operations.send_userSocket = {
    action: "send",
    title: "the fan-out sends a user's events to each of their sockets",
    channel: ref("#/channels/userSocket"),
    messages: Object.keys(wsMessages).map((m) => ref(`#/channels/userSocket/messages/${m}`)),
  };

  const doc = {
    asyncapi: "3.0.0",
    info: {
      title: "taskstream events",
      version: SCHEMA_VERSION,
      description:
        "The event log (Kafka protocol: Apache Kafka locally, Redpanda in production) and the WebSocket channel. Generated from common/contracts/events.ts and redpanda/topics.json by redpanda/generate-asyncapi.ts; the same schemas as redpanda/schemas/*.json.",
    },
    defaultContentType: "application/json",
    servers: {
      broker: { host: "localhost:9092", protocol: "kafka", description: "KAFKA_BROKERS" },
      fanout: { host: "localhost:8090", protocol: "ws", description: "the fan-out (FANOUT_PORT)" },
    },
    channels,
    operations,
    components: { schemas, messages },
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(asyncapiFile, renderAsyncApi());
  console.log(`wrote ${asyncapiFile.pathname}`);
}
