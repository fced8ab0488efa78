/**
 * The HTTP plumbing every route shares: authentication and the path's user check, JSON bodies
 * (media type, size, syntax, schema), rate limiting, Idempotency-Key, and one error mapping.
 */
import { isUtf8 } from "node:buffer";
import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import { Writable } from "node:stream";
import type { Static, TSchema } from "@sinclair/typebox";
import type { Request, Response, Server } from "hyper-express";
import { AuthError, bearer, isPathOfUser, KeysUnavailableError, TokenTooLargeError, type VerifyToken } from "../common/auth.ts";
import { isContractUuid, isStorableText, type TaskEvent, UNSTORABLE_TEXT_MESSAGE, unstorableTextPath } from "../common/contracts/index.ts";
import { ApiError, type ErrorDetail, errors, headerBytes, MAX_HEADER_BYTES } from "../common/errors.ts";
import { isDataError, isInfrastructureError } from "../common/failures.ts";
import { nameBasedUuid } from "../common/ids.ts";
import { logger } from "../common/log.ts";
import { metric } from "../common/metrics.ts";
import { RecurrenceTooCostlyError } from "../common/recurrence.ts";
import { serverSpan } from "../common/telemetry.ts";
import { type Admission, type Reply, TAG_NAMES, type WriteAdmission } from "./admission.ts";
import { registeredRoutes } from "./openapi.ts";
import { fieldPath, validate } from "./schemas.ts";
import { isUuid } from "./task-state.ts";
import type { turns } from "./turns.ts";

const log = logger("ingest");
const requests = metric.counter("http_requests_total", "HTTP requests by route and status", ["route", "status"]);
const requestSeconds = metric.latency("http_request_seconds", "HTTP request duration", ["route"]);
const inFlightRequests = metric.gauge(
  "http_requests_in_flight",
  "Requests this ingest process is working on (INGEST_MAX_IN_FLIGHT bounds it)",
);
const decidedAgain = metric.counter(
  "ingest_writes_decided_again_total",
  "Writes decided again because another write of the user on what they read was accepted meanwhile (no rate-limit token taken)",
  ["route"],
);
const shed = metric.counter("ingest_shed_total", "Requests answered 429 at once because INGEST_MAX_IN_FLIGHT requests were in progress");

export type { Reply } from "./admission.ts";

export interface Ctx {
  req: Request;
  userId: string;
  correlationId: string;
  params: Record<string, string>;
  /** The parsed and validated JSON body. */
  body<T extends TSchema>(schema: T): Promise<Static<T>>;
  /** The validated query string (numbers converted). */
  query<T extends TSchema>(schema: T): Static<T>;
  /** The user's timezone as Redis has it (null: not known there). */
  timezone: string | null;
  /** The user's writes accepted but not applied yet on the task in the path and the user's settings, oldest first. */
  pending: TaskEvent[];
  /** For reads without a task in the path: all the user's pending writes, event id -> aggregate id. */
  pendingIndex: Map<string, string>;
  /**
   * Set when the write was decided before its admission (see `route`'s `decidedFirst`): admits the
   * event and remembers it as pending in one step. Throws `NotAccepted` when it was not admitted.
   */
  accept?: (event: TaskEvent) => Promise<void>;
  /** The client's connection closed (uWS aborted the response): a write decided now is not made. */
  clientGone(): boolean;
  /** A new id for what the write creates (its event, a task, a reminder, a tag): see `withIds`. */
  newId: () => string;
}

/**
 * `ctx` for one decision of its write. With an Idempotency-Key its ids are named by the user, the
 * key, the request it is bound to and their order: a retry of a write whose answer was lost (ingest
 * crashed before it was kept, and the key's claim ran out) is decided with the same event and
 * task ids, so the processors apply it once (they skip an event id they applied) and the retry's
 * 202 names the task that exists. Without a key, random ids.
 */
function withIds(ctx: Ctx, key: { idempotencyKey?: string }, fingerprint: string): Ctx {
  let n = 0;
  const seed = `${ctx.userId}\n${key.idempotencyKey}\n${fingerprint}`;
  ctx.newId = key.idempotencyKey === undefined ? randomUUID : () => nameBasedUuid("idempotent-write", `${seed}\n${n++}`);
  return ctx;
}

/** Thrown out of a handler whose event `Ctx.accept` did not admit; `route` answers from `outcome`. */
class NotAccepted extends Error {
  constructor(readonly outcome: Exclude<WriteAdmission, { kind: "accepted" }>) {
    super(outcome.kind);
  }
}

export interface HttpDeps {
  verify: VerifyToken;
  admission: Admission;
  bodyLimit: number;
  /** This process's requests in progress, shared by every route. */
  inFlight: InFlight;
  /** Writes on one task take turns in this process, from admission to acceptance (turns.ts). */
  turns: ReturnType<typeof turns>;
}

/**
 * Load shedding. Past its capacity a process that takes every request makes each of them slower,
 * until all of them time out and none is served (at twice its capacity the bench saw 0 writes a
 * second accepted, and broker acks so late that writes went to the fallback queue). With a bound on
 * the requests in progress, the ones over it are answered 429 at once, before any work, and the
 * process keeps serving what it can (bench/README-bench.md, stop 33). A request whose body is still
 * arriving does not count meanwhile: it costs no CPU, and slow senders alone must not fill the bound.
 */
export class InFlight {
  /** Requests in progress, less those whose body is on its way: what the bound applies to. */
  private count = 0;
  /** Every request not answered yet, body on its way or not: what a shutdown waits for. */
  private open = 0;
  private waiters: (() => void)[] = [];
  constructor(readonly max: number) {}
  /** Counts a request in; false when the process was at its bound already (it is counted all the same: `leave` it). */
  enter(): boolean {
    this.open++;
    return this.resume();
  }
  leave(): void {
    this.pause();
    if (--this.open === 0 && this.waiters.length > 0) for (const settle of this.waiters.splice(0)) settle();
  }
  /** The request waits for the rest of its body: not counted toward the bound meanwhile. */
  pause(): void {
    inFlightRequests.set(--this.count);
  }
  /** Counted again (its body is in); false when the process is at its bound. */
  resume(): boolean {
    const admitted = this.count < this.max;
    inFlightRequests.set(++this.count);
    return admitted;
  }
  /** Resolves once every request has been answered (a shutdown waits for this before closing what they use). */
  idle(): Promise<void> {
    return this.open === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

/**
 * Set when the process stops: every answer from then on closes its connection, so clients and
 * proxies holding one open (keep-alive) take their next request elsewhere instead of keeping
 * this process busy while it drains.
 */
let closingConnections = false;
export const closeConnectionsAfterAnswers = (): void => {
  closingConnections = true;
};

/** A JSON text written one way (objects' keys sorted, no spacing); a text that is no JSON as it is. */
export function canonicalJson(text: string): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v !== null && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : v;
  try {
    return JSON.stringify(sorted(JSON.parse(text)));
  } catch {
    return text;
  }
}

/**
 * Ids in a path as the events carry them (lower case): an upper-case task id would otherwise be
 * another key for the turns, the pending writes and the compare-and-set than the same task's.
 */
function withLowerCaseIds(params: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  // A user id is the token's subject as written: only the ids the API assigns are folded.
  for (const [k, v] of Object.entries(params)) out[k] = k !== "user_id" && isUuid(v) ? v.toLowerCase() : v;
  return out;
}

/** What the client is told about `err`: its own mistakes are 4xx, outages 503, anything else 500. */
function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof TokenTooLargeError) return new ApiError(431, "headers_too_large", err.message);
  if (err instanceof AuthError) return errors.unauthorized(err.message);
  if (err instanceof KeysUnavailableError) return errors.unavailable(err.message);
  if (err instanceof RecurrenceTooCostlyError) return errors.validation([{ path: "recurrence_rule", message: err.message }]);
  // A value that passed our checks but not PostgreSQL's: still the request's, never a 500.
  if (isDataError(err)) return errors.validation([{ path: "(request)", message: "contains a value the database cannot use" }]);
  if (isInfrastructureError(err)) return errors.unavailable("a dependency is unavailable; retry later");
  return new ApiError(500, "internal", "internal error");
}

export function sendError(req: Request, res: Response, err: unknown): number {
  const apiError = toApiError(err);
  if (apiError.status === 500) log.error({ err }, "unhandled error");
  // An outage, or an error of ours read as one: either way worth seeing.
  else if (apiError.status === 503) log.warn({ err: (err as Error)?.message ?? String(err) }, "answered 503");
  if (res.completed) return apiError.status;
  if (apiError.status === 413 || apiError.status === 408) {
    // At once, whatever of the body is still to come; a stalled one is not waited for either.
    answerAndClose(req, res, apiError, apiError.status === 408 ? true : undefined);
    return apiError.status;
  }
  for (const [k, v] of Object.entries(apiError.headers)) res.header(k, v);
  respond(req, res, apiError.status, "application/json", JSON.stringify(apiError.toJSON()));
  return apiError.status;
}

/** Serves `path` to GET, and to HEAD: a GET without its body (RFC 9110 §9.3.2; `respond` leaves it out). */
export function getAndHead(server: Server, path: string, serve: (req: Request, res: Response) => unknown): void {
  server.get(path, serve);
  server.head(path, serve);
}

/**
 * Ends a response with `body`; a HEAD request gets the status and headers alone. Why not
 * hyper-express for HEAD: 6.18 ends it with `endWithoutBody(length)`, which this uWS build leaves
 * unfinished, so the next request pipelined on the connection was never answered. Nor for an
 * answer decided before the request's body has arrived (a 401 or 404 from the head alone): it
 * writes the head at once and holds the rest until the whole body is in, which may be never.
 */
export function respond(req: Request, res: Response, status: number, contentType: string, body: string): void {
  if (req.method === "HEAD") answerRaw(req, res, status, { "content-type": contentType }, null);
  else if (!req.received) answerRaw(req, res, status, { "content-type": contentType }, body, tooMuchToDrain(req));
  else res.status(status).header("content-type", contentType).send(body);
}

/**
 * Answers at once, without waiting for the request body (hyper-express would wait for all of it,
 * however large the client declared it).
 */
function answerAndClose(req: Request, res: Response, error: ApiError, close = tooMuchToDrain(req)) {
  // The answer goes out now. A body of a plausible size is still received (and discarded) so a
  // client that writes all of it before reading sees the answer, not a reset; a huge one, or one
  // of unknown length, is not.
  answerRaw(req, res, error.status, { ...error.headers, "content-type": "application/json" }, JSON.stringify(error.toJSON()), close);
}

/**
 * Ends the response on uWS itself, with the headers already set on it (CORS and browser safety,
 * cors.ts; the correlation id) and `headers`. A 204 (`body` null), and any answer to HEAD, has no body and no Content-Length
 * (uWS omits it only when called without arguments; `close` is for answers with a body). Why not
 * hyper-express: 6.18 ends a 204 with `endWithoutBody(undefined)`, which this uWS build writes as
 * `Content-Length: 9223372036854775808` (2^63), an answer proxies such as nginx refuse.
 */
export function answerRaw(
  req: Request,
  res: Response,
  status: number,
  headers: Record<string, string>,
  body: string | null,
  close = false,
) {
  if (res.completed) return; // answered, or the client went away (uWS forbids touching it then)
  // hyper-express 6.18 keeps streaming the body into the request; `_body_parser_stop` (what its
  // own limit handling calls) makes it drop further chunks and leaves the socket flowing, so uWS
  // can write now. Internal to hyper-express: pinned in package.json, covered by the hardening test.
  (req as unknown as { _body_parser_stop(): void })._body_parser_stop();
  const raw = res.raw;
  res.completed = true;
  raw.cork(() => {
    raw.writeStatus(`${status} ${STATUS_CODES[status] ?? "Error"}`);
    const set = (res as unknown as { _headers?: Record<string, string | string[]> })._headers ?? {};
    for (const [k, v] of Object.entries(set)) for (const one of [v].flat()) raw.writeHeader(k, one);
    for (const [k, v] of Object.entries(headers)) raw.writeHeader(k, v);
    if (body === null || req.method === "HEAD") {
      if (closingConnections) raw.endWithoutBody(undefined, true);
      else raw.endWithoutBody();
    } else raw.end(body, close || closingConnections);
  });
}

/**
 * The raw body, read once. A body with a Content-Length over the limit is refused before a byte
 * is read (route() does that even before authentication); a chunked one (its length unknown
 * until it ends) is counted as it arrives and refused once it passes the limit.
 */
function bodyReader(req: Request, limit: number, inFlight: InFlight): () => Promise<string> {
  let text: Promise<string> | undefined;
  return () => {
    text ??=
      declaredLength(req) > limit
        ? Promise.reject(errors.tooLarge(limit))
        : receive(req, inFlight, isChunked(req) ? () => readChunked(req, limit) : () => req.buffer().then(utf8Text));
    return text;
  };
}

const isChunked = (req: Request): boolean => req.headers["transfer-encoding"] !== undefined;

/** A body as text: UTF-8, or a 400 (not bytes replaced by U+FFFD, stored as if the client had sent them). */
function utf8Text(body: Buffer): string {
  if (!isUtf8(body)) throw errors.badJson("the body is not valid UTF-8");
  return body.toString("utf8");
}

/** A chunked body, up to `limit` bytes (hyper-express's own limit is off: service.ts). Rare, so streamed. */
export function readChunked(req: Pick<Request, "received" | "pipe">, limit: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        bytes += chunk.byteLength;
        if (bytes > limit) return done(errors.tooLarge(limit)); // the 413 then stops the parser and closes
        chunks.push(chunk);
        done();
      },
      final(done) {
        // The stream also ends when the client goes away mid-body: a partial body is never acted on.
        if (req.received) {
          try {
            resolve(utf8Text(Buffer.concat(chunks)));
          } catch (err) {
            reject(err);
          }
        } else reject(errors.badJson("the body ended before its last chunk"));
        done();
      },
    });
    sink.on("error", reject);
    req.pipe(sink);
  });
}

/**
 * Headers a request carries once. Given twice with different values, which one counts is
 * ambiguous: hyper-express reads the last, uWS (and the fan-out, and most proxies) the first.
 */
const SINGLE_HEADERS = ["content-length", "authorization", "content-type", "idempotency-key", "x-correlation-id", "origin", "host"];
const PRINTABLE_ASCII = /^[\t\x20-\x7e]*$/;
const headerName = (h: string) => h.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());

/**
 * Refuses a request whose headers or body framing are ambiguous, before anything reads it: a
 * header of SINGLE_HEADERS given twice with different values (a 400 naming it; for Content-Length,
 * uWS frames the body by the first and hyper-express sized its buffer by the last: a body longer
 * than the last crashed the process), or a Transfer-Encoding other than `chunked` (uWS reads any as
 * chunked, hyper-express reads none but `chunked`: the request waited for a body forever). uWS
 * itself refuses a length that is not digits. When the body cannot be framed, what follows on the
 * connection cannot be either, so it is closed. The first middleware: uWS's request is readable
 * only before any other runs.
 */
export function refuseAmbiguousFraming(req: Request, res: Response, next: () => void): void {
  // Bytes beyond ASCII: uWS and hyper-express decode them apart, so they would read as "twice".
  // One pass, each header read from uWS once (every request goes through here).
  let notAscii: string | undefined;
  let twice: string | undefined;
  for (const h of SINGLE_HEADERS) {
    const value = req.headers[h];
    if (value === undefined) continue;
    const first = req.raw.getHeader(h);
    if (notAscii === undefined && !PRINTABLE_ASCII.test(first)) notAscii = h;
    if (twice === undefined && first !== value) twice = h;
  }
  const encoding = req.headers["transfer-encoding"];
  if (notAscii !== undefined)
    answerAndClose(req, res, errors.validation([{ path: headerName(notAscii), message: "must be printable ASCII" }]));
  else if (twice !== undefined)
    answerAndClose(
      req,
      res,
      errors.validation([{ path: headerName(twice), message: "is given twice with different values" }]),
      twice === "content-length" ? true : undefined,
    );
  else if (encoding !== undefined && encoding !== "chunked")
    answerAndClose(
      req,
      res,
      errors.validation([{ path: "Transfer-Encoding", message: 'must be "chunked" (no other coding is read)' }]),
      true,
    );
  else next();
}

/**
 * How long the rest of a body may take once the request needs it. A client that stalls, or went
 * away before its body was read, would otherwise leave its request waiting for good. Under uWS's
 * own idle timeout of an HTTP connection (10 s, checked every 4 s, so from 8 s on), which closes
 * it without an answer: the client gets the 408 first. 64 KiB in 6 s is 11 KB/s.
 */
export const BODY_TIMEOUT_MS = 6_000;

/**
 * The body, by `read`; while the rest of it is still on its way, the request is not counted as in
 * progress, and after BODY_TIMEOUT_MS it is a 408 (connection closed).
 */
export async function receive(
  req: Pick<Request, "received">,
  inFlight: InFlight,
  read: () => Promise<string>,
  timeoutMs = BODY_TIMEOUT_MS,
): Promise<string> {
  if (req.received) return read();
  inFlight.pause();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(errors.bodyTimeout(timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([read(), timeout]);
  } finally {
    clearTimeout(timer);
    inFlight.resume();
  }
}

/** Bodies up to this size are drained after an early 413; larger ones get the 413 and a closed connection. */
const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;
/** A body this answer's connection is closed on rather than received and discarded: huge, or of unknown length. */
const tooMuchToDrain = (req: Request): boolean => declaredLength(req) > DRAIN_LIMIT_BYTES || isChunked(req);

const declaredLength = (req: Request): number => Number(req.headers["content-length"] ?? 0) || 0;

async function readJson(req: Request, raw: () => Promise<string>): Promise<unknown> {
  const type = req.headers["content-type"] ?? "";
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) throw errors.unsupportedMedia();
  // JSON is UTF-8 (RFC 8259): a body declared in another charset, or compressed, would be misread.
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) throw errors.unsupportedMedia(`charset=${charset} is not accepted`);
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && !/^\s*identity\s*$/i.test(encoding))
    throw errors.unsupportedMedia(`Content-Encoding ${encoding} is not accepted: send the body uncompressed`);
  const text = await raw();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw errors.badJson((err as Error).message);
  }
  const bad = unstorableTextPath(value);
  if (bad !== null) throw errors.validation([{ path: fieldPath(bad), message: UNSTORABLE_TEXT_MESSAGE }]);
  return value;
}

/** Path and query values PostgreSQL could not hold are refused before anything reads them. */
function checkUrlText(req: Request): void {
  const details: ErrorDetail[] = [];
  for (const [k, v] of Object.entries(req.path_parameters)) {
    if (!isStorableText(v)) details.push({ path: k, message: UNSTORABLE_TEXT_MESSAGE });
  }
  for (const [k, v] of Object.entries(req.query_parameters as Record<string, unknown>)) {
    const path = `query.${k.replace(/[^\x20-\x7e]/g, "?")}`;
    if (typeof v !== "string") details.push({ path, message: "is given more than once" });
    else if (!isStorableText(k) || !isStorableText(v)) details.push({ path, message: UNSTORABLE_TEXT_MESSAGE });
  }
  if (details.length) throw errors.validation(details);
}

/** Query values arrive as strings; convert the ones the schema says are integers. */
function coerceQuery(schema: TSchema, raw: Record<string, string>): Record<string, unknown> {
  const props = (schema as { properties?: Record<string, { type?: string }> }).properties ?? {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) out[k] = props[k]?.type === "integer" && /^-?\d+$/.test(v) ? Number(v) : v;
  return out;
}

type Method = "get" | "post" | "put" | "patch" | "delete";

/** How many times a write is decided before a 429 when other writes of its user keep overtaking it. */
const MAX_DECISIONS = 5;

/**
 * Registers a route under /api/:user_id. Requests are rate limited per user (reads in their own,
 * larger bucket); writes honour Idempotency-Key (a retry returns the first answer and changes
 * nothing twice).
 *
 * `decidedFirst`: a write whose handler needs from admission only the user's timezone and the
 * user's own pending writes (none expected), and reads nothing else before it emits (creating a
 * task). It runs first, on the timezone this process last saw and no pending writes, and its
 * event is admitted and remembered in one Redis round trip if those were right (else it runs
 * again the usual way): one round trip per write instead of two.
 *
 * `waitsForAll`: the handler reads more of the user's data than the task in its path (a write
 * that looks tags up, a task's history), so admission returns all the user's pending writes for
 * `Deps.settled`, as it does for a list, and its write is accepted only if no other write of the
 * user was in between.
 *
 * `retagsTask`: a write of the tag list of the task in its path (attach, detach). It waits for all
 * the user's pending writes as `waitsForAll` does (it looks a tag up), but what it decides on is
 * the task, the user's settings and the names of the user's tags (`TAG_NAMES`, counted by every
 * tag write): its write is accepted only if none of those changed meanwhile, so tagging different
 * tasks at once does not make them decide again.
 */
export function route(
  server: Server,
  deps: HttpDeps,
  method: Method,
  path: string,
  handler: (ctx: Ctx) => Promise<Reply>,
  { decidedFirst = false, waitsForAll = false, retagsTask = false } = {},
): void {
  registeredRoutes.push({ method, path });
  const isWrite = method !== "get";
  const routeName = `${method.toUpperCase()} ${path}`;
  // A SERVER span per request when tracing is on (common/telemetry.ts); the route itself otherwise.
  const serve = (req: Request, res: Response) => serverSpan(routeName, path, req.headers, (span) => handle(req, res, span));
  if (method === "get") getAndHead(server, path, serve);
  else server[method](path, serve);
  type Key = { idempotencyKey?: string };
  /**
   * A write on a task decided after this process's earlier ones on it were accepted. Its body has
   * arrived before it takes its turn: a slow sender holds up nobody. Tag writes take no turn: they
   * wait (up to 1 s) for the user's pending writes, and a turn would make them wait one after another.
   */
  const takesTurns = isWrite && !decidedFirst && !waitsForAll && !retagsTask;
  const inTurn = async (ctx: Ctx, key: Key, fingerprint: string, body: () => Promise<unknown>): Promise<Reply> => {
    if (!takesTurns) return admitThenDecide(ctx, key, fingerprint);
    await body(); // a body that fails (400, 408, 413) is answered so at once, turn or not
    const end = await deps.turns.take(`${ctx.userId}/${ctx.params.task_id ?? ""}`);
    try {
      return await admitThenDecide(ctx, key, fingerprint, 1, end);
    } finally {
      end();
    }
  };
  /** The usual order: admission (rate limit, Idempotency-Key, what the handler needs from Redis), then the handler. */
  const admitThenDecide = async (ctx: Ctx, key: Key, fingerprint: string, attempt = 1, endTurn = () => {}): Promise<Reply> => {
    const taskId = ctx.params.task_id;
    // The user's own pending settings, and the pending writes of the task in the path.
    const aggregates = taskId ? [ctx.userId, taskId] : [ctx.userId];
    if (retagsTask) aggregates.push(TAG_NAMES);
    const admitted = await deps.admission.admit(ctx.userId, {
      write: isWrite,
      ...key,
      fingerprint,
      aggregates,
      // A list of tasks waits for all the user's pending writes.
      index: waitsForAll || retagsTask || (!isWrite && taskId === undefined),
      // One request, one token: deciding it again (another write overtook it) is not another request.
      charged: attempt === 1,
    });
    if (admitted.retryAfter > 0) throw errors.rateLimited(admitted.retryAfter);
    if (admitted.replay) return admitted.replay;
    ctx.timezone = admitted.timezone;
    ctx.pending = admitted.pending;
    ctx.pendingIndex = admitted.pendingIndex;
    // A write decided on these pending writes is accepted only if no other such write of the user
    // was accepted meanwhile (two completions of one task sent at once: the second is decided
    // again, against the first, and is a 409). A creation reads no other task: never stale.
    if (isWrite && !decidedFirst)
      ctx.accept = async (event) => {
        const accepted = await deps.admission.rememberIfUnchanged(event, admitted.seen, waitsForAll);
        // Accepted, the write is pending where the next one decides: its turn ends (its broker write need not wait).
        if (accepted) endTurn();
        else throw new NotAccepted({ kind: "stale" });
      };
    try {
      const reply = await handler(withIds(ctx, key, fingerprint));
      await admitted.settle(reply);
      return reply;
    } catch (err) {
      await admitted.settle(null);
      if (err instanceof NotAccepted && err.outcome.kind === "stale") {
        // Never accepted unchecked: past a few tries the client retries (a 429, nothing stored).
        if (attempt >= MAX_DECISIONS) throw errors.rateLimited(1, "writes of this user are racing each other");
        decidedAgain.inc({ route: routeName });
        return admitThenDecide(ctx, key, fingerprint, attempt + 1, endTurn);
      }
      throw err;
    }
  };
  /** `decidedFirst`'s order; undefined when its assumptions were wrong (nothing was done). */
  const decideFirst = async (ctx: Ctx, key: Key, fingerprint: string): Promise<Reply | undefined> => {
    const timezone = deps.admission.lastKnownTimezone(ctx.userId);
    if (timezone === undefined) return undefined;
    ctx.timezone = timezone;
    let accepted: WriteAdmission | undefined;
    ctx.accept = async (event) => {
      accepted = await deps.admission.admitWrite(ctx.userId, { ...key, fingerprint, timezone, quiet: [ctx.userId], event });
      if (accepted.kind !== "accepted") throw new NotAccepted(accepted);
    };
    try {
      const reply = await handler(withIds(ctx, key, fingerprint));
      // A handler that emitted nothing was not admitted at all: the usual order answers it.
      if (accepted?.kind !== "accepted") return undefined;
      await accepted.settle(reply);
      return reply;
    } catch (err) {
      if (!(err instanceof NotAccepted)) {
        if (accepted?.kind === "accepted") await accepted.settle(null);
        throw err;
      }
      const { outcome } = err;
      if (outcome.kind === "limited") throw errors.rateLimited(outcome.retryAfter);
      if (outcome.kind === "replay") return outcome.reply;
      ctx.accept = undefined;
      return undefined;
    }
  };
  const handle = async (req: Request, res: Response, span?: { setAttribute(k: string, v: number): unknown }) => {
    const started = process.hrtime.bigint();
    let status = 500;
    const admitted = deps.inFlight.enter();
    try {
      // Beyond it, a 431 whatever the server's own parser allows.
      if (headerBytes(Object.entries(req.headers)) > MAX_HEADER_BYTES) throw errors.headersTooLarge(MAX_HEADER_BYTES);
      // Refused before authentication, so nobody makes us wait for a body we will not read.
      if (declaredLength(req) > deps.bodyLimit) throw errors.tooLarge(deps.bodyLimit);
      checkUrlText(req);
      if (!admitted) {
        shed.inc();
        throw errors.busy();
      }
      const raw = bodyReader(req, deps.bodyLimit, deps.inFlight);
      const userId = await deps.verify(bearer(req.headers.authorization));
      if (!isPathOfUser(req.path_parameters.user_id ?? "", userId)) throw errors.forbidden();
      const header = req.headers["x-correlation-id"];
      const ctx: Ctx = {
        req,
        userId,
        // One the events' contract would refuse (not an RFC UUID) is replaced, as any other is.
        correlationId: header && isContractUuid(header) ? header : randomUUID(),
        params: withLowerCaseIds(req.path_parameters),
        body: async (schema) => {
          const result = validate(schema, await readJson(req, raw));
          if (!result.ok) throw errors.validation(result.details);
          return result.value;
        },
        query: (schema) => {
          const result = validate(schema, coerceQuery(schema, req.query_parameters));
          if (!result.ok) throw errors.validation(result.details);
          return result.value;
        },
        timezone: null,
        pending: [],
        pendingIndex: new Map(),
        clientGone: () => res.completed,
        newId: randomUUID,
      };
      res.header("x-correlation-id", ctx.correlationId);
      const key = isWrite ? req.headers["idempotency-key"] : undefined;
      // The key is bound to this request: same route, path and body (as JSON: key order and spacing aside).
      const fingerprint = key === undefined ? "" : `${routeName} ${req.path} ${canonicalJson(await raw())}`;
      const idempotencyKey = key !== undefined ? { idempotencyKey: key } : {};
      const reply =
        (isWrite && decidedFirst && (await decideFirst(ctx, idempotencyKey, fingerprint))) ||
        (await inTurn(ctx, idempotencyKey, fingerprint, raw));
      status = reply.status;
      // A retry answered with the first request's answer names that request's correlation id.
      const answered = (reply.body as { correlation_id?: unknown } | null)?.correlation_id;
      if (typeof answered === "string" && answered !== ctx.correlationId) res.header("x-correlation-id", answered, true);
      respond(req, res, reply.status, "application/json", JSON.stringify(reply.body));
    } catch (err) {
      status = sendError(req, res, err);
    } finally {
      deps.inFlight.leave();
      requests.inc({ route: routeName, status: String(status) });
      requestSeconds.observe({ route: routeName }, Number(process.hrtime.bigint() - started) / 1e9);
      span?.setAttribute("http.response.status_code", status);
    }
  };
}
