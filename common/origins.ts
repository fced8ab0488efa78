/**
 * Which browser origins CORS_ORIGINS allows: one matcher for ingest's CORS (ingest/cors.ts) and the
 * fan-out's `Origin` check at the WebSocket upgrade (CONTRACT.md "Auth and isolation").
 */

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
