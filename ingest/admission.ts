/**
 * Admission: everything a request needs from Redis before it runs, in ONE round trip (a Lua
 * script): the user's rate-limit token (writes and reads in their own buckets), the claim of
 * its Idempotency-Key, the user's timezone, and the user's pending writes (accepted with 202,
 * not applied yet), so reads and new writes see them (read your writes).
 *
 * Idempotency-Key: the first answer to a write is kept for 24 h and returned to any retry with
 * the same key; a key reused for a different request, or still in progress, is a 409. The
 * answers of the user's last MAX_KEPT_PER_USER keys are kept (bounded memory per user).
 *
 * With Redis unreachable, requests go ahead unlimited (counted), without pending writes and
 * with the timezone from PostgreSQL; a write with an Idempotency-Key is refused (503), since
 * its once-only promise cannot be kept.
 */
import { createHash } from "node:crypto";
import type { Redis, Result } from "ioredis";
import type { TaskEvent } from "../common/contracts/index.ts";
import { errors } from "../common/errors.ts";
import { isInfrastructureError } from "../common/failures.ts";
import { metric } from "../common/metrics.ts";
import type { RedisKeys } from "../common/redis.ts";

const unlimited = metric.counter("ingest_rate_limit_unavailable_total", "Requests let through unlimited because Redis was unreachable");

const KEEP_SECONDS = 24 * 3600;
const IN_PROGRESS_SECONDS = 60;
export const MAX_KEPT_PER_USER = 1000;
/** Pending writes are forgotten after this long (their events are applied long before, or queued behind a broker outage). */
const PENDING_SECONDS = 120;
/** At most this many pending writes per user are remembered (the rate limit keeps it far lower). */
const MAX_PENDING = 1000;

// KEYS: 1 rate bucket, 2 idempotency slot, 3 timezone, 4 pending writes
// ARGV: 1 tokens/s, 2 burst, 3 now (ms), 4 claim ('' = no Idempotency-Key), 5 claim seconds
// returns {retry-after seconds (0 = admitted), stored claim or false, timezone or false, pending values}
const ADMIT = `
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
if tokens < 1 then return {math.ceil((1 - tokens) / rate), false, false, {}} end
redis.call('HSET', KEYS[1], 'tokens', tokens - 1, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
local stored = false
if ARGV[4] ~= '' and not redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5], 'NX') then stored = redis.call('GET', KEYS[2]) end
return {0, stored, redis.call('GET', KEYS[3]), redis.call('HVALS', KEYS[4])}`;

// KEYS[1] pending writes; ARGV: 1 event id, 2 event JSON, 3 most kept, 4 seconds kept
const REMEMBER_PENDING = `
if redis.call('HLEN', KEYS[1]) > tonumber(ARGV[3]) then return 0 end
local n = redis.call('HINCRBY', KEYS[1], '#', 1)
redis.call('HSET', KEYS[1], ARGV[1], n .. ' ' .. ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return n`;

// KEYS[1] the key's slot, KEYS[2] the user's index of kept slots (sorted by time)
// ARGV[1] the answer, ARGV[2] keep seconds, ARGV[3] now (ms), ARGV[4] most slots kept per user
const KEEP_ANSWER = `
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[2]) * 1000)
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if over > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #popped, 2 do redis.call('DEL', popped[i]) end
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1`;

type AdmitReply = [number, string | null, string | null, string[]];

declare module "ioredis" {
  interface RedisCommander<Context> {
    admit(
      bucket: string,
      slot: string,
      timezone: string,
      pending: string,
      rate: number,
      burst: number,
      now: number,
      claim: string,
      claimSeconds: number,
    ): Result<AdmitReply, Context>;
    rememberPending(pending: string, eventId: string, event: string, max: number, seconds: number): Result<number, Context>;
    keepAnswer(slot: string, index: string, answer: string, keepSeconds: number, now: number, max: number): Result<number, Context>;
  }
}

export interface Reply {
  status: number;
  body: unknown;
}

export interface Limits {
  perSecond: number;
  burst: number;
}

export interface Admitted {
  /** > 0: refused, retry after this many seconds. */
  retryAfter: number;
  /** The first answer to this Idempotency-Key: return it, do nothing. */
  replay?: Reply;
  /** The user's timezone as Redis knows it (null: ask PostgreSQL). */
  timezone: string | null;
  /** The user's writes accepted but not applied yet, in the order they were accepted. */
  pending: TaskEvent[];
  /** Call with the answer once the write is done (keeps it for retries), or with null when it failed (frees the key). */
  settle(reply: Reply | null): Promise<void>;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** Pending values are `<n> <event JSON>`; the hash's `#` field is the counter. */
function pendingEvents(values: string[]): TaskEvent[] {
  return values
    .map((v) => {
      const space = v.indexOf(" ");
      return space < 0 ? null : { n: Number(v.slice(0, space)), event: JSON.parse(v.slice(space + 1)) as TaskEvent };
    })
    .filter((p) => p !== null)
    .sort((a, b) => a.n - b.n)
    .map((p) => p.event);
}

export interface Admission {
  admit(userId: string, request: { write: boolean; idempotencyKey?: string; fingerprint: string }): Promise<Admitted>;
  /** Remembers a write about to be accepted until the processors have applied it (best effort). */
  rememberPending(event: TaskEvent): Promise<void>;
  /** Forgets a write that was refused after all. */
  forgetPending(event: TaskEvent): Promise<void>;
}

export function admission(redis: Redis, keys: RedisKeys, writes: Limits, reads: Limits, maxKept = MAX_KEPT_PER_USER): Admission {
  redis.defineCommand("admit", { numberOfKeys: 4, lua: ADMIT });
  redis.defineCommand("rememberPending", { numberOfKeys: 1, lua: REMEMBER_PENDING });
  redis.defineCommand("keepAnswer", { numberOfKeys: 2, lua: KEEP_ANSWER });
  const nothingToSettle = async () => {};
  return {
    async admit(userId, { write, idempotencyKey: key, fingerprint }) {
      if (key !== undefined && (key.length < 1 || key.length > 200))
        throw errors.validation([{ path: "Idempotency-Key", message: "must be 1 to 200 characters" }]);
      const limits = write ? writes : reads;
      const slot = keys.idempotency(userId, sha256(key ?? ""));
      const print = sha256(fingerprint);
      let reply: AdmitReply;
      try {
        reply = await redis.admit(
          write ? keys.rateLimit(userId) : keys.readRateLimit(userId),
          slot,
          keys.userTimezone(userId),
          keys.pendingWrites(userId),
          limits.perSecond,
          limits.burst,
          Date.now(),
          key === undefined ? "" : JSON.stringify({ print, state: "pending" }),
          IN_PROGRESS_SECONDS,
        );
      } catch (err) {
        if (!isInfrastructureError(err)) throw err;
        if (key !== undefined) throw errors.unavailable("Idempotency-Key cannot be honoured while Redis is unavailable; retry later");
        unlimited.inc();
        return { retryAfter: 0, timezone: null, pending: [], settle: nothingToSettle };
      }
      const [retryAfter, storedClaim, timezone, pending] = reply;
      if (retryAfter > 0) return { retryAfter, timezone: null, pending: [], settle: nothingToSettle };
      if (storedClaim !== null) {
        const stored = JSON.parse(storedClaim) as { print: string; state: string; reply?: Reply };
        if (stored.print !== print) throw errors.conflict("Idempotency-Key was already used for a different request");
        if (stored.state !== "done" || !stored.reply) throw errors.conflict("a request with this Idempotency-Key is still in progress");
        return { retryAfter: 0, replay: stored.reply, timezone, pending: [], settle: nothingToSettle };
      }
      const settle =
        key === undefined
          ? nothingToSettle
          : async (answer: Reply | null) => {
              // Nothing was written: the client may retry the same key after fixing the request.
              if (answer === null) return void (await redis.del(slot).catch(() => {}));
              // The write happened: its answer stands even if Redis cannot keep it now (a retry then
              // finds the claim and gets 409 until it expires, never a second write meanwhile).
              const kept = JSON.stringify({ print, state: "done", reply: answer });
              await redis.keepAnswer(slot, keys.idempotencyIndex(userId), kept, KEEP_SECONDS, Date.now(), maxKept).catch(() => {});
            };
      return { retryAfter: 0, timezone, pending: pendingEvents(pending), settle };
    },
    async rememberPending(event) {
      await redis
        .rememberPending(keys.pendingWrites(event.user_id), event.event_id, JSON.stringify(event), MAX_PENDING, PENDING_SECONDS)
        .catch(() => {});
    },
    async forgetPending(event) {
      await redis.hdel(keys.pendingWrites(event.user_id), event.event_id).catch(() => {});
    },
  };
}
