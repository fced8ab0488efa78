/**
 * Which failures are the infrastructure's (retry with backoff, never dead-letter, never blame the
 * client) and which belong to one record or request (dead-letter it / answer 4xx). One
 * classification for ingest, processors and scheduler.
 */
import {
  BackendTerminatedError,
  BackendTerminatedUnexpectedlyError,
  ConnectionError,
  IdleTransactionTimeoutError,
  StatementCancelledError,
  StatementTimeoutError,
} from "slonik";

/** The PostgreSQL SQLSTATE of `err` or of an error it wraps (slonik keeps the driver's in `cause`). */
export function pgErrorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === "object" && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** SQLSTATE classes that say nothing about the data: connection, transaction rollback (serialization, deadlock), resources, operator, system. */
const INFRASTRUCTURE_CLASSES = ["08", "40", "53", "55", "57", "58", "XX"];

const INFRASTRUCTURE_MESSAGE =
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection is closed|Connection terminated|connect ETIMEDOUT|MaxRetriesPerRequest|timed? ?out|socket hang up|Stream isn't writeable|broker|Broker/;

/** True when retrying later could succeed without anything about the input changing. */
export function isInfrastructureError(err: unknown): boolean {
  if (
    err instanceof ConnectionError ||
    err instanceof BackendTerminatedError ||
    err instanceof BackendTerminatedUnexpectedlyError ||
    err instanceof StatementTimeoutError ||
    err instanceof StatementCancelledError ||
    err instanceof IdleTransactionTimeoutError
  )
    return true;
  const code = pgErrorCode(err);
  if (code !== undefined) return INFRASTRUCTURE_CLASSES.includes(code.slice(0, 2));
  return INFRASTRUCTURE_MESSAGE.test(String((err as Error)?.message ?? err));
}

/** PostgreSQL refused a value (class 22: data exception, e.g. an invalid timestamp or text). */
export const isDataError = (err: unknown): boolean => pgErrorCode(err)?.startsWith("22") ?? false;
