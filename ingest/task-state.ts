/**
 * The task a request is decided against, and the one a read returns: the projection's task with
 * the user's pending writes (accepted, not applied yet; see admission.ts) evolved over it by the
 * domain rules — so a client may edit a task right after creating it, and reads its own writes.
 */
import type { TaskEvent } from "../common/contracts/index.ts";
import { withPending } from "../common/domain/decide.ts";
import type { Task } from "../common/domain/model.ts";
import type { Db } from "../common/postgres.ts";
import { appliedEventIds } from "../storage/queries/events.ts";
import { followsUserTimezone, getTask } from "../storage/queries/tasks.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string | undefined): s is string => s !== undefined && UUID.test(s);

/** Pending events that may change `taskId` (a spawn moves its series on; a timezone change, a series that followed it). */
export const touches = (event: TaskEvent, taskId: string): boolean =>
  event.aggregate_id === taskId ||
  event.event_type === "settings.updated" ||
  (event.event_type === "recurring.spawned" && event.data.task.parent_task_id === taskId);

export async function currentTask(db: Db, userId: string, taskId: string | undefined, pending: readonly TaskEvent[]): Promise<Task | null> {
  if (!isUuid(taskId)) return null;
  const mine = pending.filter((e) => touches(e, taskId));
  if (mine.length === 0) return getTask(db, userId, taskId);
  const { value: applied, unapplied } = await readWithPending(db, mine, () => getTask(db, userId, taskId));
  if (unapplied.length === 0) return applied;
  const [task = applied] = await withZoneFollowing(db, userId, unapplied, [applied]);
  return withPending(task, taskId, userId, unapplied, new Date());
}

/**
 * `tasks` with what a pending timezone change needs to know of them: whether each follows the
 * user's timezone (the API's view of a task leaves it out). Read only when such a change is pending.
 */
export async function withZoneFollowing<T extends Task | null>(
  db: Db,
  userId: string,
  pending: readonly TaskEvent[],
  tasks: T[],
): Promise<T[]> {
  const series = tasks.filter((t): t is T & Task => t !== null && t.recurrence_rule !== null);
  if (series.length === 0 || !pending.some((e) => e.event_type === "settings.updated")) return tasks;
  const follows = await followsUserTimezone(
    db,
    userId,
    series.map((t) => t.id),
  );
  return tasks.map((t) => (t !== null && follows.has(t.id) ? { ...t, follows_user_timezone: follows.get(t.id) } : t));
}

/**
 * `read` of the projection, and which of `pending` it does not hold yet. A pending write leaves
 * Redis only after the processors' commit, so one may be in both: evolved again, it would count
 * twice (a version that never existed). Which are stored is read before and after `read`; the
 * same answer both times means no pending write was committed meanwhile, so `read` holds exactly
 * those (a write's event and its effects commit together).
 */
export async function readWithPending<T>(
  db: Db,
  pending: readonly TaskEvent[],
  read: () => Promise<T>,
): Promise<{ value: T; unapplied: TaskEvent[] }> {
  const ids = pending.map((e) => e.event_id);
  let before = await appliedEventIds(db, ids);
  for (let attempt = 1; ; attempt++) {
    const value = await read();
    const after = await appliedEventIds(db, ids);
    // Commits only add: the same size is the same set. After three tries, a write counted twice
    // (its version one too high) is the lesser wrong than a write of the client's not shown.
    if (after.size === before.size || attempt === 3) return { value, unapplied: pending.filter((e) => !before.has(e.event_id)) };
    before = after;
  }
}
