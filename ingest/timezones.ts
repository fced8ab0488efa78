/**
 * The user's timezone, that new tasks default to, when Redis does not have it (admission.ts reads
 * it there with every request; the processors write it when they apply a settings change). Read
 * from PostgreSQL and put into Redis only if still absent, so it can never overwrite a newer value
 * the processors wrote meanwhile. The last value read is remembered, so that creating a task keeps
 * working through a PostgreSQL outage while the broker takes writes.
 */
import type { Redis } from "ioredis";
import type { Db } from "../common/postgres.ts";
import type { RedisKeys } from "../common/redis.ts";
import { userTimezone } from "../storage/queries/user-data.ts";

const MAX_REMEMBERED = 100_000;
const KEEP_SECONDS = 24 * 3600;

export function timezoneOf(db: Db, redis: Redis, keys: RedisKeys): (userId: string) => Promise<string> {
  const remembered = new Map<string, string>();
  return async (userId) => {
    try {
      const tz = await userTimezone(db, userId);
      remembered.delete(userId);
      remembered.set(userId, tz);
      if (remembered.size > MAX_REMEMBERED) remembered.delete(remembered.keys().next().value as string);
      await redis.set(keys.userTimezone(userId), tz, "EX", KEEP_SECONDS, "NX").catch(() => {});
      return tz;
    } catch (err) {
      const last = remembered.get(userId);
      if (last === undefined) throw err;
      return last;
    }
  };
}
