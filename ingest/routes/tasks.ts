/** Task routes: create, update, state transitions, delete, skip-occurrence; list, get, history. */
import type { Server } from "hyper-express";
import * as decide from "../../common/domain/decide.ts";
import { errors } from "../../common/errors.ts";
import { pgErrorCode } from "../../common/failures.ts";
import { logger } from "../../common/log.ts";
import { aggregateHistory } from "../../storage/queries/events.ts";
import type { SortBy } from "../../storage/queries/tasks.ts";
import { type Ctx, route } from "../http.ts";
import { CreateTask, HistoryQuery, ListTasksQuery, UpdateTask } from "../schemas.ts";
import { currentTask, isUuid } from "../task-state.ts";
import { answer, command, DEFAULT_LIMIT, loadTask, type RouteDeps, userTimezone } from "./context.ts";

const log = logger("ingest");

export function registerTaskRoutes(server: Server, d: RouteDeps) {
  const at = (path: string) => `/api/:user_id/tasks${path}`;
  const load = (ctx: Ctx) => loadTask(d, ctx);

  route(
    server,
    d.http,
    "post",
    at(""),
    async (ctx) => {
      const body = await ctx.body(CreateTask);
      return answer(d, ctx, decide.createTask(command(ctx), await userTimezone(d, ctx), body));
    },
    { decidedFirst: true },
  );

  const update = async (ctx: Ctx) => {
    const body = await ctx.body(UpdateTask);
    return answer(d, ctx, decide.updateTask(command(ctx), await load(ctx), body));
  };
  route(server, d.http, "patch", at("/:task_id"), update);
  route(server, d.http, "put", at("/:task_id"), update);
  route(server, d.http, "delete", at("/:task_id"), async (ctx) => answer(d, ctx, decide.deleteTask(command(ctx), await load(ctx))));
  route(server, d.http, "post", at("/:task_id/complete"), async (ctx) =>
    answer(d, ctx, decide.completeTask(command(ctx), await load(ctx))),
  );
  route(server, d.http, "post", at("/:task_id/uncomplete"), async (ctx) =>
    answer(d, ctx, decide.uncompleteTask(command(ctx), await load(ctx))),
  );
  route(server, d.http, "post", at("/:task_id/skip-occurrence"), async (ctx) =>
    answer(d, ctx, decide.skipOccurrence(command(ctx), await load(ctx))),
  );

  route(server, d.http, "get", at(""), async (ctx) => {
    const q = ctx.query(ListTasksQuery);
    const sortBy: SortBy = q.sort_by ?? "created_at";
    const sortOrder = q.sort_order ?? (sortBy === "created_at" ? "desc" : "asc");
    const cursor = q.cursor ? d.cursors.decode(q.cursor, sortBy, sortOrder) : undefined;
    if (cursor === null)
      throw errors.validation([{ path: "cursor", message: "is not a cursor this API returned for this sort_by and sort_order" }]);
    await d.settled(ctx);
    const { tasks, next } = await searchOf(
      q.search,
      d.listWithPending(ctx, {
        ...(q.search ? { search: q.search } : {}),
        status: q.status ?? "all",
        ...(q.priority ? { priority: q.priority.split(",") } : {}),
        ...(q.due_date_start ? { dueDateStart: q.due_date_start } : {}),
        ...(q.due_date_end ? { dueDateEnd: q.due_date_end } : {}),
        ...(q.tags
          ? {
              tags: q.tags
                .split(",")
                .map((t) => t.trim())
                .filter(Boolean),
            }
          : {}),
        sortBy,
        sortOrder,
        limit: q.limit ?? DEFAULT_LIMIT,
        ...(cursor ? { cursor } : {}),
      }),
    );
    return {
      status: 200,
      body: { tasks, next_cursor: next ? d.cursors.encode(sortBy, sortOrder, next) : null },
    };
  });

  route(server, d.http, "get", at("/:task_id"), async (ctx) => {
    const task = await currentTask(d.db, ctx.userId, ctx.params.task_id, ctx.pending);
    if (!task) throw errors.notFound(`task ${ctx.params.task_id}`);
    return { status: 200, body: { task } };
  });

  route(
    server,
    d.http,
    "get",
    at("/:task_id/history"),
    async (ctx) => {
      const after = ctx.query(HistoryQuery).after ?? 0;
      const taskId = ctx.params.task_id ?? "";
      if (!isUuid(taskId)) throw errors.notFound(`history of task ${taskId}`);
      // The user's writes accepted just before are in it (as in lists): the events carry the seq
      // and version only the processors assign, so it waits for them rather than showing them pending.
      await d.settled(ctx);
      const history = (after: number, limit?: number) => aggregateHistory(d.db, ctx.userId, taskId, after, limit);
      const page = await history(after);
      // A task without events is unknown. After its last event the page is empty (a client that
      // asks from the seq it saw last), as `/events` past the end is.
      const known = page.events.length > 0 || (after > 0 && (await history(0, 1)).events.length > 0);
      if (!known) throw errors.notFound(`history of task ${taskId}`);
      return { status: 200, body: { events: page.events, next_after: page.more ? (page.events.at(-1)?.seq ?? null) : null } };
    },
    { waitsForAll: true },
  );
}

/**
 * The list, with PostgreSQL's refusal of a search it cannot run (an internal error or a program
 * limit: a query too complex) answered as the request's: a 400 naming `search`, not a 503.
 */
async function searchOf<T>(search: string | undefined, list: Promise<T>): Promise<T> {
  try {
    return await list;
  } catch (err) {
    const code = pgErrorCode(err);
    const tooComplex = code?.startsWith("54") || (code === "XX000" && /tsquery/.test((err as Error).message));
    if (search === undefined || !tooComplex) throw err;
    log.warn({ err: (err as Error).message, search: search.slice(0, 200) }, "a search PostgreSQL could not run");
    throw errors.validation([{ path: "search", message: "is too complex a search for the database; use fewer operators" }]);
  }
}
