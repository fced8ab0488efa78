/**
 * The task a request is decided against, and the one a read returns: the projection's task with
 * the user's pending writes (accepted, not applied yet; see admission.ts) evolved over it by the
 * domain rules — so a client may edit a task right after creating it, and reads its own writes.
 */
import type { TaskEvent } from "../common/contracts/index.ts";
import { withPending } from "../common/domain/decide.ts";
import type { Task } from "../common/domain/model.ts";
import type { Db } from "../common/postgres.ts";
import { getTask } from "../storage/queries/tasks.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string | undefined): s is string => s !== undefined && UUID.test(s);

/** Pending events that may change `taskId` (a spawn moves its series on). */
export const touches = (event: TaskEvent, taskId: string): boolean =>
  event.aggregate_id === taskId || (event.event_type === "recurring.spawned" && event.data.task.parent_task_id === taskId);

export async function currentTask(db: Db, userId: string, taskId: string | undefined, pending: readonly TaskEvent[]): Promise<Task | null> {
  if (!isUuid(taskId)) return null;
  const applied = await getTask(db, userId, taskId);
  const mine = pending.filter((e) => touches(e, taskId));
  return mine.length === 0 ? applied : withPending(applied, taskId, userId, mine);
}
