/**
 * CORS and browser safety for the HTTP API, and the origin check the fan-out applies at the
 * WebSocket upgrade (CONTRACT.md "Auth and isolation"). One list, `CORS_ORIGINS`, governs both; its
 * matcher is common/origins.ts.
 *
 * - Every response carries `Vary: Origin`, and `Access-Control-Allow-Origin: <origin>` when the
 *   request's origin is allowed (never `*`, never credentials: the API authenticates by bearer
 *   token, not cookies), plus the headers a browser script may read (`Retry-After`, the
 *   correlation id, `WWW-Authenticate`).
 * - `OPTIONS` on any path is a preflight: 204 with the allowed methods and headers and a max age
 *   for an allowed origin, 403 with the JSON error body for a foreign one.
 * - `/api/` responses are `Cache-Control: no-store` (they are per-user and authenticated);
 *   every response is `X-Content-Type-Options: nosniff`.
 */
import type { MiddlewareHandler } from "hyper-express";
import { originMatcher } from "../common/origins.ts";
import { answerRaw, respond } from "./http.ts";

export const ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
export const ALLOWED_HEADERS = "authorization, content-type, idempotency-key, x-correlation-id";
export const EXPOSED_HEADERS = "retry-after, x-correlation-id, www-authenticate";
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** The global hyper-express middleware (server.use) for CORS and the browser-safety headers. */
export function corsMiddleware(corsOrigins: string): MiddlewareHandler {
  const allowed = originMatcher(corsOrigins);
  return (req, res, next) => {
    const origin = req.headers.origin;
    const ok = origin !== undefined && allowed(origin);
    res.header("vary", "Origin");
    res.header("x-content-type-options", "nosniff");
    if (req.path.startsWith("/api/")) res.header("cache-control", "no-store");
    if (ok) {
      res.header("access-control-allow-origin", origin);
      res.header("access-control-expose-headers", EXPOSED_HEADERS);
    }
    if (req.method !== "OPTIONS") return next();
    if (origin !== undefined && !ok) {
      const error = { error: { code: "origin_not_allowed", message: `origin ${origin} is not in CORS_ORIGINS`, details: [] } };
      respond(req, res, 403, "application/json", JSON.stringify(error));
      return;
    }
    res.header("allow", ALLOWED_METHODS);
    if (ok) {
      res.header("access-control-allow-methods", ALLOWED_METHODS);
      res.header("access-control-allow-headers", ALLOWED_HEADERS);
      res.header("access-control-max-age", String(PREFLIGHT_MAX_AGE_SECONDS));
    }
    answerRaw(req, res, 204, {}, null);
  };
}
