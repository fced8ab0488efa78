/** Idempotency-Key answers in the real Redis: kept, returned to retries, bounded per user. */
import { afterAll, describe, expect, it } from "vitest";
import { createRedis, redisKeys } from "../common/redis.ts";
import { testConfig, uniqueId } from "../test/harness.ts";
import { idempotency } from "./idempotency.ts";

const config = testConfig();
const redis = createRedis(config, "idempotency-test");
const keys = redisKeys(config.redisPrefix);
afterAll(() => redis.disconnect());

describe("Idempotency-Key answers", () => {
  it("keep only the user's most recent keys, so Redis memory per user is bounded", async () => {
    const store = idempotency(redis, keys, 3);
    const user = uniqueId("idem");
    let writes = 0;
    const write = async () => ({ status: 202, body: { n: ++writes } });
    for (const k of ["k1", "k2", "k3", "k4", "k5"]) await store.run(user, k, "same request", write);
    expect(writes).toBe(5);
    expect(await redis.zcard(keys.idempotencyIndex(user))).toBe(3);
    // A retry of a kept key returns its first answer and writes nothing.
    expect(await store.run(user, "k5", "same request", write)).toEqual({ status: 202, body: { n: 5 } });
    expect(writes).toBe(5);
    // The oldest answers were let go.
    expect(await store.run(user, "k1", "same request", write)).toEqual({ status: 202, body: { n: 6 } });
  });
});
