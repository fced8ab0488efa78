/**
 * The errors a client can see, with stable codes, mapped to HTTP status in one place
 * (CONTRACT.md "Errors"). Anything else is a bug and answers 500 without details.
 */
export interface ErrorDetail {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
  toJSON() {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

/** Request headers beyond this many bytes are a 431 (CONTRACT.md), at the API and the WebSocket upgrade alike. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** The size of headers as MAX_HEADER_BYTES counts it: each name and value, and 4 bytes of framing. */
export function headerBytes(headers: Iterable<readonly [string, string]>): number {
  let n = 0;
  for (const [k, v] of headers) n += k.length + v.length + 4;
  return n;
}

/**
 * The client's connection closed before its write was made: uWS closes it when a request arrives
 * pipelined behind one still in progress, or a chunked body ends with trailers (it reads them as
 * a request). The write is not made, so none is stored that its client never heard of; the status
 * (nginx's 499) is only counted, never sent.
 */
export const clientGone = () => new ApiError(499, "client_closed_request", "the client's connection closed before the write was made");

export const errors = {
  validation: (details: ErrorDetail[]) =>
    new ApiError(400, "validation_failed", `invalid request: ${details.map((d) => `${d.path} ${d.message}`).join("; ")}`, details),
  badJson: (message: string) => new ApiError(400, "invalid_json", `request body is not valid JSON: ${message}`),
  unauthorized: (message: string) => new ApiError(401, "unauthorized", message, [], { "www-authenticate": 'Bearer realm="taskstream"' }),
  forbidden: () => new ApiError(403, "forbidden", "the path's user_id is not the token's subject"),
  notFound: (what: string) => new ApiError(404, "not_found", `${what} not found`),
  methodNotAllowed: (method: string, allowed: string[]) =>
    new ApiError(405, "method_not_allowed", `${method} is not allowed here; allowed: ${allowed.join(", ")}`, [], {
      allow: allowed.join(", "),
    }),
  conflict: (message: string) => new ApiError(409, "conflict", message),
  /** The first request with this Idempotency-Key has not answered yet: a retry gets its answer (`Retry-After` says so). */
  keyInProgress: () =>
    new ApiError(409, "conflict", "a request with this Idempotency-Key is still in progress; retry after 1 s", [], { "retry-after": "1" }),
  bodyTimeout: (ms: number) => new ApiError(408, "request_timeout", `the request body did not arrive within ${ms / 1000} s`),
  tooLarge: (limit: number) => new ApiError(413, "payload_too_large", `request body exceeds ${limit} bytes`),
  headersTooLarge: (limit: number) => new ApiError(431, "headers_too_large", `request headers exceed ${limit} bytes`),
  unsupportedMedia: (why?: string) =>
    new ApiError(
      415,
      "unsupported_media_type",
      why ? `${why}: send the body as UTF-8 application/json` : "send the body as application/json",
    ),
  rateLimited: (retryAfterSeconds: number, why = "too many requests") =>
    new ApiError(429, "rate_limited", `${why}; retry after ${retryAfterSeconds} s`, [], {
      "retry-after": String(retryAfterSeconds),
    }),
  /** Load shedding: the process is at INGEST_MAX_IN_FLIGHT (a rate limit on the server as a whole, hence 429). */
  busy: () =>
    new ApiError(429, "rate_limited", "the server is at capacity; retry after 1 s", [], {
      "retry-after": "1",
    }),
  unavailable: (message: string) => new ApiError(503, "unavailable", message, [], { "retry-after": "5" }),
};
