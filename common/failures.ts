/**
 * Which failures are the infrastructure's (retry with backoff, never dead-letter, never blame the
 * client) and which belong to one record or request (dead-letter it / answer 4xx). One
 * classification for ingest, processors and scheduler.
 *
 * PostgreSQL is believed only when it blames the values: a data exception, an integrity
 * constraint, a value over a limit, or a set-based write that met one key twice. Every other
 * SQLSTATE describes the server or the schema it runs (connection, serialization, resources,
 * an undefined function while a migration is still running, a prepared statement gone behind a
 * pooler): the same record succeeds once that is over, so it waits and is never dead-lettered.
 */
import {
  BackendTerminatedError,
  BackendTerminatedUnexpectedlyError,
  ConnectionError,
  IdleTransactionTimeoutError,
  InvalidInputError,
  StatementCancelledError,
  StatementTimeoutError,
} from "slonik";

/**
 * The PostgreSQL SQLSTATE of `err` or of an error it wraps (slonik keeps the driver's in `cause`).
 * Node's own errors (`EPIPE`, `EBUSY`: they carry `syscall`/`errno`) look alike and are not SQLSTATEs.
 */
export function pgErrorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === "object" && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, syscall, errno } = e as { code?: unknown; syscall?: unknown; errno?: unknown };
    if (syscall !== undefined || errno !== undefined) continue;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** SQLSTATE classes that blame the record: cardinality (21), data exception (22), integrity constraint (23), program limit (54). */
const RECORD_CLASSES = ["21", "22", "23", "54"];

/**
 * How the clients word an outage (pg, ioredis, librdkafka), at the start of the message: an error
 * of our own code that quotes a user's text ("tag "timeout" is …") must never read as one.
 */
const INFRASTRUCTURE_MESSAGE =
  /^(?:connect )?(?:ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND)|^(?:Connection is closed|Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Command timed out|Reached the max retries per request|MaxRetriesPerRequest|socket hang up|Stream isn't writeable|Local: |Broker)/;

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
  if (isDataError(err)) return false;
  const code = pgErrorCode(err);
  if (code !== undefined) return !RECORD_CLASSES.includes(code.slice(0, 2));
  if (isSystemError(err)) return true;
  // JavaScript's own kinds are thrown by code on values (luxon, rrule, BigInt, JSON).
  if (err instanceof RangeError || err instanceof TypeError || err instanceof SyntaxError) return false;
  return INFRASTRUCTURE_MESSAGE.test(String((err as Error)?.message ?? err));
}

/** Node's error of a socket or file (`ECONNRESET`, `EPIPE`), or one wrapping it. */
function isSystemError(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === "object" && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { syscall?: unknown }).syscall !== undefined || (e as { errno?: unknown }).errno !== undefined) return true;
  }
  return false;
}

/**
 * PostgreSQL refused a value (class 22: data exception, e.g. an invalid timestamp or text). slonik
 * rethrows 22P02 (invalid text representation) as InvalidInputError without its code.
 */
export const isDataError = (err: unknown): boolean => err instanceof InvalidInputError || (pgErrorCode(err)?.startsWith("22") ?? false);
