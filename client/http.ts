/**
 * The HTTP transport: bearer token from `getToken` (refreshed once on a 401), JSON in and out,
 * the API's error body as an ApiRequestError, and retries of writes that cannot duplicate: every
 * write carries an Idempotency-Key, and a retry (network error, 429 with Retry-After, 502-504, 409 key in progress)
 * resends the same key and the very same body bytes, so the server answers the first result.
 */

export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

export type GetToken = (options: { refresh: boolean }) => string | Promise<string>;

export class ApiRequestError extends Error {
  override name = "ApiRequestError";
  readonly status: number;
  readonly code: string;
  readonly details: { path: string; message: string }[];
  readonly retryAfterSeconds: number | undefined;
  // No parameter properties anywhere in client/: Node 22's type stripping runs it as is.
  constructor(
    status: number,
    code: string,
    message: string,
    details: { path: string; message: string }[] = [],
    retryAfterSeconds?: number,
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface RetryPolicy {
  /** Attempts in all, the first included (default 5). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Exponential backoff with full jitter: a random delay in [0, min(max, base·2^attempt)]. */
export const backoffDelay = (attempt: number, base: number, max: number, random: () => number = Math.random): number =>
  Math.round(random() * Math.min(max, base * 2 ** attempt));

/** A v4 UUID in browsers (secure or not) and Node. */
export function uuid(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string; getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  const b = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface TransportOptions {
  baseUrl: string;
  getToken: GetToken;
  fetch?: FetchLike;
  retry?: Partial<RetryPolicy>;
  random?: () => number;
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** Writes get a fresh one when not given; pass your own to make a retry across page loads safe. */
  idempotencyKey?: string;
}

/** How long a write waits out "key still in progress" 409s (ingest holds a claim up to 15 s). */
const IN_PROGRESS_WAIT_MS = 20_000;

export class Transport {
  private token: Promise<string> | undefined;
  private readonly fetchFn: FetchLike;
  private readonly retry: RetryPolicy;
  private readonly baseUrl: string;

  private readonly options: TransportOptions;

  constructor(options: TransportOptions) {
    this.options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    const f = options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch;
    if (!f) throw new Error("no fetch available: pass options.fetch");
    this.fetchFn = f.bind(globalThis) as FetchLike;
    this.retry = { attempts: 5, baseDelayMs: 200, maxDelayMs: 5000, ...options.retry };
  }

  /** The current token; `refresh` asks getToken for a new one (after a 401 or a 4001 close). */
  getToken(refresh = false): Promise<string> {
    if (refresh || !this.token) {
      const next = Promise.resolve().then(() => this.options.getToken({ refresh }));
      this.token = next;
      next.catch(() => {
        if (this.token === next) this.token = undefined;
      });
    }
    return this.token;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<{ status: number; body: T }> {
    const write = method !== "GET";
    const key = write ? (options.idempotencyKey ?? uuid()) : undefined;
    // Serialised once: a retry sends the very same bytes, which the idempotency check compares.
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const qs = Object.entries(options.query ?? {})
      .filter(([, v]) => v !== undefined && v !== "")
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join("&");
    const url = `${this.baseUrl}${path}${qs ? `?${qs}` : ""}`;
    let refreshed = false;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { authorization: `Bearer ${await this.getToken()}` };
      if (body !== undefined) headers["content-type"] = "application/json";
      if (key) headers["idempotency-key"] = key;
      let res: Awaited<ReturnType<FetchLike>>;
      try {
        res = await this.fetchFn(url, { method, headers, ...(body !== undefined ? { body } : {}) });
      } catch (err) {
        // Network error: the write may or may not have arrived; the same key makes the retry safe.
        if (attempt + 1 >= this.retry.attempts) throw err;
        await sleep(backoffDelay(attempt, this.retry.baseDelayMs, this.retry.maxDelayMs, this.options.random));
        continue;
      }
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = text;
      }
      if (res.status < 400) return { status: res.status, body: json as T };
      if (res.status === 401 && !refreshed) {
        refreshed = true;
        await this.getToken(true);
        attempt--;
        continue;
      }
      const retryAfter = Number(res.headers.get("retry-after") ?? Number.NaN);
      const e = (json as { error?: { code?: string; message?: string; details?: { path: string; message: string }[] } })?.error;
      // A 409 with Retry-After: the first request with this key has not answered yet; its answer will.
      const inProgress = res.status === 409 && key !== undefined && Number.isFinite(retryAfter);
      const retriable = inProgress || res.status === 429 || res.status === 502 || res.status === 503 || res.status === 504;
      // A key's claim left by a crashed ingest holds for up to 15 s: waited out whatever `attempts` says.
      const waitOut = inProgress && Date.now() - started < IN_PROGRESS_WAIT_MS;
      if (retriable && (attempt + 1 < this.retry.attempts || waitOut)) {
        const wait = Number.isFinite(retryAfter)
          ? retryAfter * 1000
          : backoffDelay(attempt, this.retry.baseDelayMs, this.retry.maxDelayMs, this.options.random);
        await sleep(Math.min(wait, 30_000));
        continue;
      }
      throw new ApiRequestError(
        res.status,
        e?.code ?? "http_error",
        e?.message ?? `HTTP ${res.status}`,
        e?.details ?? [],
        Number.isFinite(retryAfter) ? retryAfter : undefined,
      );
    }
  }
}
