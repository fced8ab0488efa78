/**
 * The state a write is checked against: the task as the projection has it, or, for a task whose
 * creation is accepted but not applied yet, as ingest last described it (kept briefly in Redis),
 * so a client may complete or edit a task right after creating it.
 */
import type { Redis } from "ioredis";
import type { Db } from "../common/postgres.ts";
import type { RedisKeys } from "../common/redis.ts";
import { getTask, type TaskView } from "../storage/queries/tasks.ts";

const PENDING_SECONDS = 120;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string | undefined): s is string => s !== undefined && UUID.test(s);

export interface TaskState {
  current(userId: string, taskId: string | undefined): Promise<TaskView | null>;
  /** Remember what a just-accepted write will make of the task. */
  remember(task: TaskView): Promise<void>;
}

export function taskState(db: Db, redis: Redis, keys: RedisKeys): TaskState {
  const slot = (userId: string, taskId: string) => `${keys.userStream(userId)}:pending:${taskId}`;
  return {
    async current(userId, taskId) {
      if (!isUuid(taskId)) return null;
      const applied = await getTask(db, userId, taskId);
      if (applied) return applied;
      const pending = await redis.get(slot(userId, taskId)).catch(() => null);
      return pending ? (JSON.parse(pending) as TaskView) : null;
    },
    async remember(task) {
      // Best effort: the write is already in the log, so a Redis outage must not turn its 202 into an error.
      await redis.set(slot(task.user_id, task.id), JSON.stringify(task), "EX", PENDING_SECONDS).catch(() => {});
    },
  };
}
