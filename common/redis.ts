/** Redis clients and the key/channel names every stage shares. */
import { createRequire } from "node:module";
import type * as IORedis from "ioredis";
import type { Config } from "./config.ts";
import { logger } from "./log.ts";

// Loaded with require so the ioredis instrumentation (common/telemetry.ts, when tracing is on)
// patches its prototype; an ESM import of the same package then shares the patched class.
const { Redis } = createRequire(import.meta.url)("ioredis") as typeof IORedis;
type Redis = IORedis.Redis;

/** A request path's commands fail after this long (or at once while disconnected) instead of waiting for Redis. */
export const FAIL_FAST_COMMAND_TIMEOUT_MS = 1000;

/**
 * `maxRetriesPerRequest: null` is what BullMQ requires and what the consumers want: commands
 * wait for a reconnect instead of failing after a few tries. `failFast` is for request paths
 * (ingest), which must answer within a bounded time while Redis is down.
 */
export function createRedis(config: Config, name: string, opts: { lazy?: boolean; failFast?: boolean } = {}): Redis {
  const log = logger(`redis:${name}`);
  const redis = new Redis(config.redisUrl, {
    connectionName: `taskstream:${name}`,
    enableReadyCheck: true,
    lazyConnect: opts.lazy ?? false,
    connectTimeout: config.dependencyTimeoutMs,
    ...(opts.failFast
      ? { maxRetriesPerRequest: 0, enableOfflineQueue: false, commandTimeout: FAIL_FAST_COMMAND_TIMEOUT_MS }
      : { maxRetriesPerRequest: null }),
  });
  // ioredis reconnects by itself; without a listener it prints each error as an unhandled stack trace.
  redis.on("error", (err: Error) => log.debug({ err: err.message }, "redis connection error"));
  return redis;
}

/**
 * The user id as it stands in a hash tag: `{`, `}` and `%` escaped (`%7B`, `%7D`, `%25`), so no
 * subject, however an identity provider spells it, can end the tag early and name another user's
 * key (user `a` with Idempotency-Key `b}:pending` and user `a}:idem:b` shared one). Ids without
 * them (all the usual ones) are unchanged.
 */
const inTag = (userId: string): string =>
  TAG_SPECIAL.test(userId) ? userId.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) : userId;
const TAG_SPECIAL = /[%{}]/;

/**
 * Every Redis key and channel of the system, under REDIS_PREFIX. Per-user keys carry the user id in
 * a hash tag (`{…}`) so one user's keys share a Redis Cluster slot (the Lua scripts touch several).
 * Nothing else builds a key: a new one is added here (common/redis.test.ts pins their spelling,
 * since a renamed key strands what Redis already holds).
 */
export const redisKeys = (prefix: string) => ({
  /** Stream of a user's applied events, entry id `<seq>-0`, trimmed to EVENT_STREAM_MAXLEN. */
  userStream: (userId: string) => `${prefix}:u:{${inTag(userId)}}:events`,
  /**
   * A user's pub/sub channel: the processors publish each applied event of the user there, and a
   * fan-out process subscribes to it only while it holds a socket of that user. The hash tag puts
   * it in the user's slot, beside the stream (what sharded pub/sub on a Redis Cluster needs).
   */
  userChannel: (userId: string) => `${prefix}:u:{${inTag(userId)}}:ch`,
  idempotency: (userId: string, key: string) => `${prefix}:u:{${inTag(userId)}}:idem:${key}`,
  /** The user's kept Idempotency-Key answers, by time (bounds their number). */
  idempotencyIndex: (userId: string) => `${prefix}:u:{${inTag(userId)}}:idem-index`,
  /** The user's timezone, written by the processors when they apply a settings change (ingest reads it with every request). */
  userTimezone: (userId: string) => `${prefix}:u:{${inTag(userId)}}:tz`,
  /** Index of the user's writes accepted but not applied yet, event id -> aggregate id (ingest adds, the processors remove once applied). */
  pendingWrites: (userId: string) => `${prefix}:u:{${inTag(userId)}}:pending`,
  /** Those pending writes' events, per aggregate (a request reads only the aggregates it needs). */
  pendingEvents: (userId: string, aggregateId: string) => `${prefix}:u:{${inTag(userId)}}:pending:${aggregateId}`,
  /** Token buckets of the rate limit: writes, and reads (their own, larger bucket). */
  rateLimit: (userId: string) => `${prefix}:u:{${inTag(userId)}}:rl`,
  readRateLimit: (userId: string) => `${prefix}:u:{${inTag(userId)}}:rlr`,
  /** BullMQ's key prefix (the scheduler's queue and its jobs). */
  bullPrefix: `${prefix}:bull`,
  /** A channel every fan-out subscriber holds for its lifetime (nothing is published on it). */
  fanoutAnchor: `${prefix}:fanout-anchor`,
  /** The job ids the scheduler keeps for one task (so completing or deleting it removes them). */
  taskJobs: (taskId: string) => `${prefix}:sched:task:{${taskId}}:jobs`,
});
export type RedisKeys = ReturnType<typeof redisKeys>;

/** Pending writes are forgotten after this long (their events are applied long before, or queued behind a broker outage). */
export const PENDING_SECONDS = 120;

/**
 * Whether the user has writes on these aggregates accepted (202) and not applied yet: ingest's
 * pending-write bookkeeping (ingest/admission.ts), whose hashes hold event ids besides the `~`
 * counter. Best effort, as that bookkeeping is: an unreachable Redis says no.
 */
export async function writesPending(redis: IORedis.Redis, keys: RedisKeys, userId: string, aggregateIds: string[]): Promise<boolean> {
  const pipeline = redis.pipeline();
  for (const id of aggregateIds) pipeline.hkeys(keys.pendingEvents(userId, id));
  const results = await pipeline.exec().catch(() => null);
  return (results ?? []).some(([err, fields]) => !err && (fields as string[]).some((f) => f !== "~"));
}
