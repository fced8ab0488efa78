/**
 * Idempotency-Key: the first answer to a write is kept for 24 h and returned to any retry with
 * the same key; a key reused for a different request, or still in progress, is a 409. Redis
 * memory is bounded per user: the answers to the user's last MAX_KEPT_PER_USER keys are kept
 * (a retry normally comes within seconds; one of a key older than that many writes runs again).
 */
import { createHash } from "node:crypto";
import type { Redis, Result } from "ioredis";
import { errors } from "../common/errors.ts";
import type { RedisKeys } from "../common/redis.ts";
import type { Reply } from "./http.ts";

const KEEP_SECONDS = 24 * 3600;
const IN_PROGRESS_SECONDS = 60;
export const MAX_KEPT_PER_USER = 1000;

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

declare module "ioredis" {
  interface RedisCommander<Context> {
    keepAnswer(slot: string, index: string, answer: string, keepSeconds: number, now: number, max: number): Result<number, Context>;
  }
}

export interface Idempotency {
  run(userId: string, key: string | undefined, fingerprint: string, write: () => Promise<Reply>): Promise<Reply>;
}

export function idempotency(redis: Redis, keys: RedisKeys, maxKept = MAX_KEPT_PER_USER): Idempotency {
  redis.defineCommand("keepAnswer", { numberOfKeys: 2, lua: KEEP_ANSWER });
  return {
    async run(userId, key, fingerprint, write) {
      if (key === undefined) return write();
      if (key.length < 1 || key.length > 200)
        throw errors.validation([{ path: "Idempotency-Key", message: "must be 1 to 200 characters" }]);
      const slot = keys.idempotency(userId, createHash("sha256").update(key).digest("hex"));
      const print = createHash("sha256").update(fingerprint).digest("hex");
      const claimed = await redis.set(slot, JSON.stringify({ print, state: "pending" }), "EX", IN_PROGRESS_SECONDS, "NX");
      if (!claimed) {
        const stored = JSON.parse((await redis.get(slot)) ?? "null") as { print: string; state: string; reply?: Reply } | null;
        if (!stored) return this.run(userId, key, fingerprint, write);
        if (stored.print !== print) throw errors.conflict("Idempotency-Key was already used for a different request");
        if (stored.state !== "done" || !stored.reply) throw errors.conflict("a request with this Idempotency-Key is still in progress");
        return stored.reply;
      }
      let reply: Reply;
      try {
        reply = await write();
      } catch (err) {
        // Nothing was written; let the client retry the same key after fixing the request.
        await redis.del(slot).catch(() => {});
        throw err;
      }
      // The write happened: its answer stands even if Redis cannot keep it now (a retry then
      // finds the claim and gets 409 until it expires, never a second write meanwhile).
      const answer = JSON.stringify({ print, state: "done", reply });
      await redis.keepAnswer(slot, keys.idempotencyIndex(userId), answer, KEEP_SECONDS, Date.now(), maxKept).catch(() => {});
      return reply;
    },
  };
}
