/** Per-user token bucket in Redis, shared by every ingest replica. */
import type { Redis, Result } from "ioredis";
import { isInfrastructureError } from "../common/failures.ts";
import { metric } from "../common/metrics.ts";

const unlimited = metric.counter("ingest_rate_limit_unavailable_total", "Requests let through unlimited because Redis was unreachable");

// KEYS[1] bucket; ARGV[1] tokens per second, ARGV[2] burst, ARGV[3] now (ms)
// returns 0 when a token was taken, else the seconds to wait
const TAKE_TOKEN = `
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
if tokens < 1 then return math.ceil((1 - tokens) / rate) end
redis.call('HSET', KEYS[1], 'tokens', tokens - 1, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return 0`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    takeToken(key: string, rate: number, burst: number, now: number): Result<number, Context>;
  }
}

/** Resolves to 0 when the write may go ahead, else the Retry-After seconds. */
export type RateLimiter = (userId: string) => Promise<number>;

/** With Redis unreachable the limiter lets writes through (and counts it) rather than refusing every user. */
export function rateLimiter(redis: Redis, bucket: (userId: string) => string, perSecond: number, burst: number): RateLimiter {
  redis.defineCommand("takeToken", { numberOfKeys: 1, lua: TAKE_TOKEN });
  return async (userId) => {
    try {
      return await redis.takeToken(bucket(userId), perSecond, burst, Date.now());
    } catch (err) {
      if (!isInfrastructureError(err)) throw err;
      unlimited.inc();
      return 0;
    }
  };
}
