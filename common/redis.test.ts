/** The spelling of every Redis key: a renamed key strands what Redis already holds, so a change here is deliberate. */
import { describe, expect, it } from "vitest";
import { redisKeys } from "./redis.ts";

describe("redisKeys", () => {
  const k = redisKeys("ts");

  it("spells every key and channel under the prefix, per-user keys in the user's hash slot", () => {
    expect({
      userStream: k.userStream("alice"),
      userChannel: k.userChannel("alice"),
      idempotency: k.idempotency("alice", "abc"),
      idempotencyIndex: k.idempotencyIndex("alice"),
      userTimezone: k.userTimezone("alice"),
      pendingWrites: k.pendingWrites("alice"),
      pendingEvents: k.pendingEvents("alice", "t1"),
      rateLimit: k.rateLimit("alice"),
      readRateLimit: k.readRateLimit("alice"),
      bullPrefix: k.bullPrefix,
      fanoutAnchor: k.fanoutAnchor,
      taskJobs: k.taskJobs("t1"),
    }).toEqual({
      userStream: "ts:u:{alice}:events",
      userChannel: "ts:u:{alice}:ch",
      idempotency: "ts:u:{alice}:idem:abc",
      idempotencyIndex: "ts:u:{alice}:idem-index",
      userTimezone: "ts:u:{alice}:tz",
      pendingWrites: "ts:u:{alice}:pending",
      pendingEvents: "ts:u:{alice}:pending:t1",
      rateLimit: "ts:u:{alice}:rl",
      readRateLimit: "ts:u:{alice}:rlr",
      bullPrefix: "ts:bull",
      fanoutAnchor: "ts:fanout-anchor",
      taskJobs: "ts:sched:task:{t1}:jobs",
    });
  });

  it("escapes what could end a user's hash tag, so no two users' keys meet", () => {
    // User "a" with Idempotency-Key "b}:pending" against user "a}:idem:b".
    expect(k.idempotency("a", "b}:pending")).toBe("ts:u:{a}:idem:b}:pending");
    expect(k.pendingWrites("a}:idem:b")).toBe("ts:u:{a%7D:idem:b}:pending");
    expect(k.userStream("x{y%")).toBe("ts:u:{x%7By%25}:events");
    expect(k.userStream("a%7D")).not.toBe(k.userStream("a}"));
  });

  it("names every key it has in the test above", () => {
    expect(Object.keys(k).sort()).toEqual(
      [
        "userStream",
        "userChannel",
        "idempotency",
        "idempotencyIndex",
        "userTimezone",
        "pendingWrites",
        "pendingEvents",
        "rateLimit",
        "readRateLimit",
        "bullPrefix",
        "fanoutAnchor",
        "taskJobs",
      ].sort(),
    );
  });
});
