/**
 * The HTTP plumbing every route shares: authentication and the path's user check, JSON bodies
 * (media type, size, syntax, schema), rate limiting, Idempotency-Key, and one error mapping.
 */
import { randomUUID } from "node:crypto";
import type { Static, TSchema } from "@sinclair/typebox";
import type { Request, Response, Server } from "hyper-express";
import { isStorableText, UNSTORABLE_TEXT_MESSAGE, unstorableTextPath } from "../common/contracts/index.ts";
import { ApiError, type ErrorDetail, errors } from "../common/errors.ts";
import { isDataError, isInfrastructureError } from "../common/failures.ts";
import { logger } from "../common/log.ts";
import { metric } from "../common/metrics.ts";
import { AuthError, bearer, type VerifyToken } from "./auth.ts";
import type { Idempotency } from "./idempotency.ts";
import { registeredRoutes } from "./openapi.ts";
import type { RateLimiter } from "./rate-limit.ts";
import { fieldPath, validate } from "./schemas.ts";

const log = logger("ingest");
const requests = metric.counter("http_requests_total", "HTTP requests by route and status", ["route", "status"]);
const requestSeconds = metric.latency("http_request_seconds", "HTTP request duration", ["route"]);

export interface Reply {
  status: number;
  body: unknown;
}

export interface Ctx {
  req: Request;
  userId: string;
  correlationId: string;
  params: Record<string, string>;
  /** The parsed and validated JSON body. */
  body<T extends TSchema>(schema: T): Promise<Static<T>>;
  /** The validated query string (numbers converted). */
  query<T extends TSchema>(schema: T): Static<T>;
}

export interface HttpDeps {
  verify: VerifyToken;
  rateLimit: RateLimiter;
  idempotency: Idempotency;
  bodyLimit: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function sendError(res: Response, err: unknown): number {
  const apiError =
    err instanceof ApiError
      ? err
      : err instanceof AuthError
        ? errors.unauthorized(err.message)
        : isDataError(err)
          ? // A value that passed our checks but not PostgreSQL's: still the request's, never a 500.
            errors.validation([{ path: "(request)", message: "contains a value the database cannot use" }])
          : isInfrastructureError(err)
            ? errors.unavailable("a dependency is unavailable; retry later")
            : new ApiError(500, "internal", "internal error");
  if (apiError.status === 500) log.error({ err }, "unhandled error");
  if (!res.completed) {
    res.status(apiError.status);
    for (const [k, v] of Object.entries(apiError.headers)) res.header(k, v);
    res.json(apiError.toJSON());
  }
  return apiError.status;
}

/** The raw body, read once; over the limit is a 413 before anything is parsed. */
function bodyReader(req: Request, limit: number): () => Promise<string> {
  let text: Promise<string> | undefined;
  return () => {
    if (!text) {
      const declared = Number(req.headers["content-length"] ?? 0);
      text =
        declared > limit
          ? Promise.reject(errors.tooLarge(limit))
          : req.text().then((t) => {
              if (Buffer.byteLength(t) > limit) throw errors.tooLarge(limit);
              return t;
            });
    }
    return text;
  };
}

async function readJson(req: Request, raw: () => Promise<string>): Promise<unknown> {
  const type = req.headers["content-type"] ?? "";
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) throw errors.unsupportedMedia();
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
  for (const [k, v] of Object.entries(req.query_parameters)) {
    if (!isStorableText(k) || !isStorableText(v))
      details.push({ path: `query.${k.replace(/[^\x20-\x7e]/g, "?")}`, message: UNSTORABLE_TEXT_MESSAGE });
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

/**
 * Registers a route under /api/:user_id. Writes are rate limited per user and honour
 * Idempotency-Key (a retry returns the first answer and changes nothing twice).
 */
export function route(server: Server, deps: HttpDeps, method: Method, path: string, handler: (ctx: Ctx) => Promise<Reply>): void {
  registeredRoutes.push({ method, path });
  const isWrite = method !== "get";
  const routeName = `${method.toUpperCase()} ${path}`;
  server[method](path, async (req: Request, res: Response) => {
    const started = process.hrtime.bigint();
    let status = 500;
    try {
      checkUrlText(req);
      const userId = await deps.verify(bearer(req.headers.authorization));
      if (req.path_parameters.user_id !== userId) throw errors.forbidden();
      const raw = bodyReader(req, deps.bodyLimit);
      const header = req.headers["x-correlation-id"];
      const ctx: Ctx = {
        req,
        userId,
        correlationId: header && UUID.test(header) ? header : randomUUID(),
        params: req.path_parameters,
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
      };
      res.header("x-correlation-id", ctx.correlationId);
      let reply: Reply;
      if (isWrite) {
        const retryAfter = await deps.rateLimit(userId);
        if (retryAfter > 0) throw errors.rateLimited(retryAfter);
        // The key is bound to this exact request: same route, path and body.
        const fingerprint = req.headers["idempotency-key"] === undefined ? "" : `${routeName} ${req.path} ${await raw()}`;
        reply = await deps.idempotency.run(userId, req.headers["idempotency-key"], fingerprint, () => handler(ctx));
      } else {
        reply = await handler(ctx);
      }
      status = reply.status;
      res.status(reply.status).json(reply.body);
    } catch (err) {
      status = sendError(res, err);
    } finally {
      requests.inc({ route: routeName, status: String(status) });
      requestSeconds.observe({ route: routeName }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  });
}
