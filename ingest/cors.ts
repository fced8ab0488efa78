/**
 * CORS and browser safety for the HTTP API, and the origin check the fan-out applies at the
 * WebSocket upgrade (CONTRACT.md "Auth and isolation"). One list, `CORS_ORIGINS`, governs both.
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

export const ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
export const ALLOWED_HEADERS = "authorization, content-type, idempotency-key, x-correlation-id";
export const EXPOSED_HEADERS = "retry-after, x-correlation-id, www-authenticate";
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** One entry of CORS_ORIGINS as a regular expression over a lower-cased origin. */
function entryPattern(entry: string): RegExp | "any" | null {
  const e = entry.trim().toLowerCase().replace(/\/+$/, "");
  if (e === "" || e === "none") return null;
  if (e === "*") return "any";
  const m = /^([a-z][a-z0-9+.-]*):\/\/(\*\.)?([^/:]+|\[[0-9a-f:.]+\])(?::(\*|\d{1,5}))?$/.exec(e);
  if (!m) throw new Error(`CORS_ORIGINS: "${entry}" is not an origin (scheme://host[:port], * as port or first label)`);
  const [, scheme, sub, host, port] = m;
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const hostRe = `${sub ? "(?:[a-z0-9-]+\\.)+" : ""}${esc(host!)}`;
  const portRe = port === "*" ? "(?::\\d{1,5})?" : port ? `:${port}` : "";
  return new RegExp(`^${esc(scheme!)}://${hostRe}${portRe}$`);
}

/** Parses CORS_ORIGINS into a predicate over a request's `Origin` header. */
export function originMatcher(list: string): (origin: string) => boolean {
  const patterns = list.split(",").map(entryPattern);
  if (patterns.includes("any")) return () => true;
  const regexps = patterns.filter((p): p is RegExp => p instanceof RegExp);
  return (origin) => {
    const o = origin.toLowerCase();
    // "null" (sandboxed frames, file://) is never matched by a pattern.
    return o !== "null" && regexps.some((r) => r.test(o));
  };
}

/**
 * At a WebSocket upgrade: no Origin header is a non-browser client (allowed: it cannot be a
 * cross-site hijack, and it must present a token anyway); a browser's origin must be listed.
 */
export const upgradeOriginAllowed = (allowed: (origin: string) => boolean, origin: string | undefined): boolean =>
  !origin || allowed(origin);

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
      res.status(403).json({ error: { code: "origin_not_allowed", message: `origin ${origin} is not in CORS_ORIGINS`, details: [] } });
      return;
    }
    res.header("allow", ALLOWED_METHODS);
    if (ok) {
      res.header("access-control-allow-methods", ALLOWED_METHODS);
      res.header("access-control-allow-headers", ALLOWED_HEADERS);
      res.header("access-control-max-age", String(PREFLIGHT_MAX_AGE_SECONDS));
    }
    res.status(204).send();
  };
}
