/**
 * Lists reflect the user's own writes: a list request that finds writes of the user accepted but
 * not applied yet waits (up to WAIT_MS) until the processors have applied them, then reads the
 * projection; whatever is still pending after that (the broker is down, the write is queued) is
 * evolved over the listed tasks by the domain rules (an edited task shows its edit, a deleted one
 * or one edited out of the filter is left out), and a task whose creation is still queued is
 * listed in its place on the first page (not in a search: only PostgreSQL can match one).
 */
import type { Redis } from "ioredis";
import { withPending } from "../common/domain/decide.ts";
import type { Task } from "../common/domain/model.ts";
import type { Db } from "../common/postgres.ts";
import type { RedisKeys } from "../common/redis.ts";
import { type Cursor, listOrder, listTasks, type TaskFilter, wouldList } from "../storage/queries/tasks.ts";
import type { Admission } from "./admission.ts";
import type { Ctx } from "./http.ts";
import { readWithPending, touches, withZoneFollowing } from "./task-state.ts";

const WAIT_MS = 1000;
const POLL_MS = 5;

export function readYourWrites(db: Db, redis: Redis, keys: RedisKeys, admission: Admission) {
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
      ctx.pendingIndex = waiting;
      ctx.pending = waiting.size === 0 ? [] : await admission.pendingEvents(ctx.userId, waiting);
    },
    /** A page of the task list (after `settled`) with the writes still pending evolved over it. */
    async listWithPending(ctx: Ctx, filter: TaskFilter): Promise<{ tasks: Task[]; next: Cursor | null }> {
      if (ctx.pending.length === 0) return listTasks(db, ctx.userId, filter);
      const { value: read, unapplied } = await readWithPending(db, ctx.pending, () => listTasks(db, ctx.userId, filter));
      const page = { ...read, tasks: await withZoneFollowing(db, ctx.userId, unapplied, read.tasks) };
      const now = new Date();
      const evolved = (id: string, task: Task | null) => {
        const mine = unapplied.filter((e) => touches(e, id));
        return mine.length === 0 ? task : withPending(task, id, ctx.userId, mine, now);
      };
      const listed = new Set(page.tasks.map((t) => t.id));
      const tasks = page.tasks.flatMap((task) => {
        const after = evolved(task.id, task);
        return after && wouldList(filter, after) !== false ? [after] : [];
      });
      if (filter.cursor) return { tasks, next: page.next };
      // Tasks whose creation is queued, on the first page where they sort before its last row.
      const last = page.tasks.at(-1);
      for (const e of unapplied) {
        if (e.event_type !== "task.created" || listed.has(e.aggregate_id)) continue;
        listed.add(e.aggregate_id);
        const task = evolved(e.aggregate_id, null);
        if (!task || !wouldList(filter, task)) continue;
        if (page.next !== null && last && listOrder(filter, task, last) > 0) continue;
        // Spliced in where it sorts; the stored rows keep PostgreSQL's order.
        const at = tasks.findIndex((t) => listOrder(filter, task, t) < 0);
        tasks.splice(at < 0 ? tasks.length : at, 0, task);
      }
      return { tasks, next: page.next };
    },
  };
}
