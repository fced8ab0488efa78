/**
 * Lists reflect the user's own writes: a list request that finds writes of the user accepted but
 * not applied yet waits (up to WAIT_MS) until the processors have applied them, then reads the
 * projection; whatever is still pending after that (the broker is down, the write is queued) is
 * evolved over the listed tasks by the domain rules (an edited task shows its edit, a deleted one
 * is left out; a task whose creation is still queued appears once it is applied).
 */
import type { Redis } from "ioredis";
import { withPending } from "../common/domain/decide.ts";
import type { Task } from "../common/domain/model.ts";
import type { RedisKeys } from "../common/redis.ts";
import type { Ctx } from "./http.ts";
import { touches } from "./task-state.ts";

const WAIT_MS = 1000;
const POLL_MS = 5;

export function readYourWrites(redis: Redis, keys: RedisKeys) {
  return {
    async settled(ctx: Ctx): Promise<void> {
      const deadline = Date.now() + WAIT_MS;
      while (ctx.pending.length > 0) {
        const still = await redis.hmget(keys.pendingWrites(ctx.userId), ...ctx.pending.map((e) => e.event_id)).catch(() => null);
        if (still === null) return; // Redis unavailable: read what is applied.
        ctx.pending = ctx.pending.filter((_, i) => still[i] !== null);
        if (ctx.pending.length === 0 || Date.now() >= deadline) return;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
    async withPendingWrites(ctx: Ctx, tasks: Task[]): Promise<Task[]> {
      if (ctx.pending.length === 0) return tasks;
      return tasks.flatMap((task) => {
        const mine = ctx.pending.filter((e) => touches(e, task.id));
        if (mine.length === 0) return [task];
        const after = withPending(task, task.id, ctx.userId, mine);
        return after ? [after] : [];
      });
    },
  };
}
