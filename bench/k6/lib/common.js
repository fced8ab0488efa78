// Shared helpers of the k6 suites: config from env, HS256 tokens signed in JS, time-stamped
// correlation ids, and the small protocol bits of CONTRACT.md (WebSocket envelope, 202 body).
import crypto from "k6/crypto";
import encoding from "k6/encoding";

/** @type {(name: string, dflt: string) => string} */
export const env = (name, dflt) => (__ENV[name] === undefined || __ENV[name] === "" ? dflt : __ENV[name]);
/** @type {(name: string, dflt: number | string) => number} */
export const num = (name, dflt) => Number(env(name, String(dflt)));

export const INGEST = env("INGEST_URL", "http://127.0.0.1:48080");
export const FANOUT = env("FANOUT_URL", "ws://127.0.0.1:48090");
const SECRET = env("JWT_SECRET", "taskstream-local-dev-secret-do-not-use-in-production");

// A run id keeps users of two runs on the same stack apart (seq starts at 0 for a new user).
export const RUN_ID = env("RUN_ID", `r${Date.now().toString(36)}`);
/** @type {(i: number) => string} */
export const userId = (i) => `${RUN_ID}-u${i}`;

/**
 * HS256 JWT for the local stack (same claims as `taskstream token`).
 * @param {string} sub
 * @param {number} [ttlSeconds]
 * @returns {string}
 */
export function token(sub, ttlSeconds = 6 * 3600) {
  const now = Math.floor(Date.now() / 1000);
  const h = encoding.b64encode(JSON.stringify({ alg: "HS256", typ: "JWT" }), "rawurl");
  const p = encoding.b64encode(
    JSON.stringify({ sub, iss: "taskstream-local", aud: "taskstream", iat: now, exp: now + ttlSeconds }),
    "rawurl",
  );
  const s = crypto.hmac("sha256", SECRET, `${h}.${p}`, "base64rawurl");
  return `${h}.${p}.${s}`;
}

/** @type {(n: number, width: number) => string} */
const hex = (n, width) => n.toString(16).padStart(width, "0");

/**
 * A UUIDv7-shaped correlation id whose first 48 bits are the send time in ms (as UUIDv7 defines),
 * so any socket that receives the event knows when the HTTP request left, without shared state
 * between VUs. Ingest passes X-Correlation-Id through to the event envelope.
 */
export function timedCorrelationId(ms = Date.now()) {
  const t = hex(ms, 12);
  const r = crypto.randomBytes(10);
  const b = new Uint8Array(r);
  const rand = Array.from(b, (x) => hex(x, 2)).join("");
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${rand.slice(0, 3)}-${hex((b[2] & 0x3f) | 0x80, 2)}${rand.slice(6, 8)}-${rand.slice(8, 20)}`;
}
/**
 * Send time (ms) encoded by timedCorrelationId, or NaN for another kind of id.
 * @param {unknown} id
 * @returns {number}
 */
export function correlationTime(id) {
  if (typeof id !== "string" || id[14] !== "7") return NaN;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** @type {(tok: string, extra?: Record<string, string>) => Record<string, string>} */
export const jsonHeaders = (tok, extra = {}) => ({
  Authorization: `Bearer ${tok}`,
  "Content-Type": "application/json",
  ...extra,
});

/** @type {(user: string, tok: string, since?: number) => string} */
export const wsUrl = (user, tok, since) =>
  `${FANOUT}/api/ws/${encodeURIComponent(user)}?token=${tok}${since === undefined ? "" : `&since=${since}`}`;

/**
 * k6 web-dashboard HTML + JSON summary go where the runner says (bench/results/<run>/).
 * @param {{ metrics: unknown, state: unknown }} data
 * @param {Record<string, unknown>} [extra]
 */
export function summaryFiles(data, extra = {}) {
  const dir = env("RESULTS_DIR", "bench/results");
  return { [`${dir}/summary.json`]: JSON.stringify({ ...extra, metrics: data.metrics, state: data.state }, null, 1) };
}

/**
 * Percentile over a plain array (used where the figure must be computed in handleSummary).
 * @param {number[]} sorted
 * @param {number} p
 * @returns {number | null}
 */
export function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
