/**
 * Opening PostgreSQL and Redis with a start-up deadline (a failure names DATABASE_URL or REDIS_URL
 * in one line), and the readiness checks. The broker is not waited for here: a process starts
 * without it and keeps connecting (common/kafka.ts, keepConnecting).
 */
import type { Redis } from "ioredis";
import { sql } from "slonik";
import type { Config } from "./config.ts";
import type { Admin } from "./kafka.ts";
import { createDb, type Db, type DbOptions } from "./postgres.ts";
import { createRedis } from "./redis.ts";
import { dependency } from "./service.ts";

/** The URL without its password (also `redis://:password@host`), for messages and logs. */
export const redact = (url: string): string => url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:***@");

export async function openDb(config: Config, poolSize?: number, opts?: DbOptions): Promise<Db> {
  return dependency("DATABASE_URL", redact(config.databaseUrl), config.dependencyTimeoutMs, async () => {
    const db = await createDb(config, poolSize, opts);
    await db.query(sql.unsafe`select 1`);
    return db;
  });
}

export async function openRedis(config: Config, name: string, opts: { failFast?: boolean } = {}): Promise<Redis> {
  const redis = createRedis(config, name, { lazy: true, ...opts });
  let lastError: Error | undefined;
  const remember = (err: Error) => {
    lastError = err;
  };
  redis.on("error", remember);
  return dependency("REDIS_URL", redact(config.redisUrl), config.dependencyTimeoutMs, async () => {
    try {
      await redis.connect();
      await redis.ping();
      redis.off("error", remember);
      return redis;
    } catch (err) {
      redis.disconnect();
      throw lastError ?? err;
    }
  });
}

export const checks = {
  postgres: (db: Db) => () => db.query(sql.unsafe`select 1`),
  // Not connected: said at once. A ping would wait in the offline queue of a client that retries
  // forever (processors, scheduler, fan-out subscriber), one more with every probe until Redis is back.
  redis: (redis: Redis) => () => (redis.status === "ready" ? redis.ping() : Promise.reject(new Error(`redis is ${redis.status}`))),
  kafka: (admin: Admin) => () => admin.listTopics(),
};
