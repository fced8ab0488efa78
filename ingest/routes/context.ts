import type { Redis } from "ioredis";
import type { Config } from "../../common/config.ts";
import type { Db } from "../../common/postgres.ts";
import type { RedisKeys } from "../../common/redis.ts";
import type { HttpDeps } from "../http.ts";
import type { EventWriter } from "../publisher.ts";
import type { TaskState } from "../task-state.ts";

/** What route modules get: the stores they read, the writer they emit events through. */
export interface RouteDeps {
  config: Config;
  http: HttpDeps;
  db: Db;
  redis: Redis;
  keys: RedisKeys;
  writer: EventWriter;
  tasks: TaskState;
  /** The user's default timezone (see timezones.ts). */
  timezoneOf: (userId: string) => Promise<string>;
}
