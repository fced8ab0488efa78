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
import type { Admission } from "./admission.ts";
import type { Ctx } from "./http.ts";
import { touches } from "./task-state.ts";

const WAIT_MS = 1000;
const POLL_MS = 5;

export function readYourWrites(redis: Redis, keys: RedisKeys, admission: Admission) {
  return {
    async settled(ctx: Ctx): Promise<void> {
      const deadline = Date.now() + WAIT_MS;
      let waiting = ctx.pendingIndex;
      while (waiting.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        const ids = [...waiting.keys()];
        const still = await redis.hmget(keys.pendingWrites(ctx.userId), ...ids).catch(() => null);
        if (still === null) return; // Redis unavailable: read what is applied.
        waiting = new Map(ids.filter((_, i) => still[i] !== null).map((id) => [id, waiting.get(id) as string]));
      }
      ctx.pending = waiting.size === 0 ? [] : await admission.pendingEvents(ctx.userId, waiting);
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
