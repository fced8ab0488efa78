/** String formats the contracts use. TypeBox checks no format until it is registered. */
import { FormatRegistry } from "@sinclair/typebox";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
// RFC 3339 date-time with a zone; Date.parse also rejects impossible dates like 2026-02-30.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

/** Instants a task may carry (CONTRACT.md): 1970-01-01 to 9999-12-31, after conversion to UTC. */
export const MIN_INSTANT_MS = Date.UTC(1970, 0, 1);
export const MAX_INSTANT_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
export const INSTANT_RANGE_MESSAGE = "must lie between 1970-01-01 and 9999-12-31 (UTC)";

export const isInstantInRange = (ms: number): boolean => ms >= MIN_INSTANT_MS && ms <= MAX_INSTANT_MS;

export function isDateTime(value: string): boolean {
  if (!DATE_TIME.test(value)) return false;
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || !isInstantInRange(ms)) return false;
  // Date.parse rolls 2026-02-30 over to March; compare the calendar day it kept.
  const [y, m, d] = value.slice(0, 10).split("-").map(Number);
  const probe = new Date(Date.UTC(y ?? 0, (m ?? 1) - 1, d ?? 0));
  return probe.getUTCDate() === d && probe.getUTCMonth() === (m ?? 1) - 1;
}

/** An RFC 9562 UUID (variant 10, a version 1-8): the `uuid` format of every contract. */
export const isUuid = (v: string): boolean => UUID.test(v);

if (!FormatRegistry.Has("uuid")) FormatRegistry.Set("uuid", isUuid);
if (!FormatRegistry.Has("date-time")) FormatRegistry.Set("date-time", isDateTime);
