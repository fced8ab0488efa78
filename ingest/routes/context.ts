import type { Redis } from "ioredis";
import type { Config } from "../../common/config.ts";
import type { TaskEvent } from "../../common/contracts/index.ts";
import type { Command, Decision, Refusal } from "../../common/domain/decide.ts";
import type { Task } from "../../common/domain/model.ts";
import { errors } from "../../common/errors.ts";
import type { Db } from "../../common/postgres.ts";
import type { RedisKeys } from "../../common/redis.ts";
import type { Cursor, TaskFilter } from "../../storage/queries/tasks.ts";
import type { Page } from "../../storage/queries/user-data.ts";
import type { CursorCodec } from "../cursor.ts";
import type { Ctx, HttpDeps, Reply } from "../http.ts";
import type { EventWriter } from "../publisher.ts";
import { currentTask, touches } from "../task-state.ts";

/** What route modules get: the stores they read, the writer they emit events through. */
export interface RouteDeps {
  config: Config;
  http: HttpDeps;
  db: Db;
  redis: Redis;
  keys: RedisKeys;
  writer: EventWriter;
  /** The lists' keyset cursors (signed: a forged or altered one is refused). */
  cursors: CursorCodec;
  /** The user's default timezone when Redis does not know it (see timezones.ts). */
  timezoneOf: (userId: string) => Promise<string>;
  /** Waits (bounded) until the request's pending writes are applied; leaves in ctx.pending those still pending. */
  settled: (ctx: Ctx) => Promise<void>;
  /** A page of the task list (after `settled`) with the writes still pending evolved over it. */
  listWithPending: (ctx: Ctx, filter: TaskFilter) => Promise<{ tasks: Task[]; next: Cursor | null }>;
}

export const command = (ctx: Ctx): Command => ({
  user_id: ctx.userId,
  correlation_id: ctx.correlationId,
  now: new Date().toISOString(),
  newId: ctx.newId,
});

export function refusalError(refusal: Refusal) {
  switch (refusal.kind) {
    case "validation":
      return errors.validation(refusal.details);
    case "not_found":
      return errors.notFound(refusal.what);
    case "conflict":
      return errors.conflict(refusal.message);
  }
}

/** The reply to a decided write: 202 with the task as it will be (event_id null when nothing changes). */
export async function answer(d: RouteDeps, ctx: Ctx, decision: Decision): Promise<Reply> {
  if (!decision.ok) throw refusalError(decision.refusal);
  if (!decision.event)
    return { status: 202, body: { task: decision.task, event_id: null, correlation_id: ctx.correlationId, queued: false } };
  const { queued } = await d.writer.emit(decision.event, ctx);
  return {
    status: 202,
    body: { task: decision.task, event_id: decision.event.event_id, correlation_id: ctx.correlationId, queued },
  };
}

export async function loadTask(d: RouteDeps, ctx: Ctx, param = "task_id"): Promise<Task> {
  const task = await currentTask(d.db, ctx.userId, ctx.params[param], ctx.pending);
  if (!task) throw errors.notFound(`task ${ctx.params[param]}`);
  return task;
}

/** The user's timezone: a pending settings change, else Redis's, else PostgreSQL's. */
export async function userTimezone(d: RouteDeps, ctx: Ctx): Promise<string> {
  const change = ctx.pending.findLast((e) => e.event_type === "settings.updated");
  if (change?.event_type === "settings.updated") return change.data.changes.timezone.new;
  return ctx.timezone ?? (await d.timezoneOf(ctx.userId));
}

export const pendingOn = (pending: readonly TaskEvent[], taskId: string) => pending.filter((e) => touches(e, taskId));

/** The list's default page size when a page is asked for (`limit` or `cursor`), as the task list's. */
export const DEFAULT_LIMIT = 50;

/**
 * The page of the tag or reminder list a query asks for. Without `limit` and `cursor` it is the
 * whole list, as these lists answered before they paged: a default page size would cut the list
 * short, silently, for clients written when `next_cursor` was always null.
 */
export function listPage(d: RouteDeps, list: "tags" | "reminders", q: { limit?: number; cursor?: string }): Page {
  const after = q.cursor === undefined ? undefined : d.cursors.decode(q.cursor, list, "asc");
  if (after === null) throw errors.validation([{ path: "cursor", message: "is not a cursor this API returned for this list" }]);
  if (q.limit === undefined && after === undefined) return { limit: null };
  return { limit: q.limit ?? DEFAULT_LIMIT, ...(after ? { after } : {}) };
}
