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

export const redisKeys = (prefix: string) => ({
  /** Stream of a user's applied events, entry id `<seq>-0`, trimmed to EVENT_STREAM_MAXLEN. */
  userStream: (userId: string) => `${prefix}:u:{${userId}}:events`,
  /** Single pub/sub channel every fan-out process subscribes to; messages carry user_id. */
  eventsChannel: `${prefix}:events`,
  idempotency: (userId: string, key: string) => `${prefix}:u:{${userId}}:idem:${key}`,
  /** The user's kept Idempotency-Key answers, by time (bounds their number). */
  idempotencyIndex: (userId: string) => `${prefix}:u:{${userId}}:idem-index`,
  rateLimit: (userId: string) => `${prefix}:u:{${userId}}:rl`,
  readRateLimit: (userId: string) => `${prefix}:u:{${userId}}:rlr`,
  bullPrefix: `${prefix}:bull`,
});
export type RedisKeys = ReturnType<typeof redisKeys>;
