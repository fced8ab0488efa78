/**
 * Idempotency-Key: the first answer to a write is kept for 24 h and returned to any retry with
 * the same key; a key reused for a different request, or still in progress, is a 409.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { errors } from "../common/errors.ts";
import type { RedisKeys } from "../common/redis.ts";
import type { Reply } from "./http.ts";

const KEEP_SECONDS = 24 * 3600;
const IN_PROGRESS_SECONDS = 60;

export interface Idempotency {
  run(userId: string, key: string | undefined, fingerprint: string, write: () => Promise<Reply>): Promise<Reply>;
}

export function idempotency(redis: Redis, keys: RedisKeys): Idempotency {
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
      await redis.set(slot, JSON.stringify({ print, state: "done", reply }), "EX", KEEP_SECONDS).catch(() => {});
      return reply;
    },
  };
}
