/** Redis clients and the key/channel names every stage shares. */
import { Redis } from "ioredis";
import type { Config } from "./config.ts";
import { logger } from "./log.ts";

/**
 * `maxRetriesPerRequest: null` is what BullMQ requires and what we want elsewhere too: commands
 * wait for a reconnect instead of failing after a few tries.
 */
export function createRedis(config: Config, name: string, opts: { lazy?: boolean } = {}): Redis {
  const log = logger(`redis:${name}`);
  const redis = new Redis(config.redisUrl, {
    connectionName: `taskstream:${name}`,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: opts.lazy ?? false,
    connectTimeout: config.dependencyTimeoutMs,
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
  rateLimit: (userId: string) => `${prefix}:u:{${userId}}:rl`,
  bullPrefix: `${prefix}:bull`,
});
export type RedisKeys = ReturnType<typeof redisKeys>;
