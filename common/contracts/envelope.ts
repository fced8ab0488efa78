/** Building, serialising and parsing events: the one codec every stage uses. */
import { randomUUID } from "node:crypto";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import "./formats.ts";
import { EVENT_TYPES, type EventMetadata, type EventOf, type EventType, eventSchemas, SCHEMA_VERSION, type TaskEvent } from "./events.ts";
import { UNSTORABLE_TEXT_MESSAGE, unstorableTextPath } from "./text.ts";

// One compiled checker per event type: errors then name the field, not "expected union".
const checkers = new Map(EVENT_TYPES.map((t) => [t as string, TypeCompiler.Compile(eventSchemas[t])]));

export interface EventContext {
  user_id: string;
  aggregate_id: string;
  correlation_id: string;
  /** Defaults to now; set by a caller that must reproduce a timestamp (tests, replay). */
  timestamp?: string;
  event_id?: string;
}

let metadataSource: (() => EventMetadata | undefined) | undefined;
/** Set by common/telemetry.ts while tracing is on: the metadata (trace id) every new event gets. */
export function setEventMetadataSource(source: (() => EventMetadata | undefined) | undefined): void {
  metadataSource = source;
}

export function newEvent<K extends EventType>(type: K, ctx: EventContext, data: EventOf<K>["data"]): EventOf<K> {
  const metadata = metadataSource?.();
  const event: EventOf<K> = {
    event_id: ctx.event_id ?? randomUUID(),
    event_type: type,
    schema_version: SCHEMA_VERSION,
    user_id: ctx.user_id,
    aggregate_id: ctx.aggregate_id,
    timestamp: ctx.timestamp ?? new Date().toISOString(),
    correlation_id: ctx.correlation_id,
    data,
  };
  if (metadata) event.metadata = metadata;
  return event;
}

export class MalformedEventError extends Error {
  override name = "MalformedEventError";
}

/** Parses one broker record value; throws MalformedEventError saying what is wrong. */
export function parseEvent(raw: Buffer | string | null | undefined): TaskEvent {
  if (raw === null || raw === undefined) throw new MalformedEventError("empty record value");
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === "string" ? raw : raw.toString("utf8"));
  } catch (err) {
    throw new MalformedEventError(`not JSON: ${(err as Error).message}`);
  }
  const type = (value as { event_type?: unknown } | null)?.event_type;
  const check = typeof type === "string" ? checkers.get(type) : undefined;
  if (!check) throw new MalformedEventError(`unknown event_type ${JSON.stringify(type)}`);
  const problems = eventProblems(value);
  if (problems.length === 0) return value as TaskEvent;
  throw new MalformedEventError(`not a valid event: ${problems.join("; ")}`);
}

/**
 * Why `value` is not an event the processors can apply (empty when it is one): the schema of its
 * event_type, and text PostgreSQL cannot store. Ingest checks what it is about to produce with
 * this too, so a write it accepts is one the processors can apply.
 */
export function eventProblems(value: unknown): string[] {
  const type = (value as { event_type?: unknown } | null)?.event_type;
  const check = typeof type === "string" ? checkers.get(type) : undefined;
  if (!check) return [`/event_type: unknown event_type ${JSON.stringify(type)}`];
  if (!check.Check(value)) return [...check.Errors(value)].slice(0, 3).map((e) => `${e.path || "/"}: ${e.message}`);
  const bad = unstorableTextPath(value);
  return bad === null ? [] : [`${bad}: ${UNSTORABLE_TEXT_MESSAGE}`];
}

export const serializeEvent = (event: TaskEvent): Buffer => Buffer.from(JSON.stringify(event));
