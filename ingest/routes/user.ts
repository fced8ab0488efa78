/** Per-user routes: settings, activity feed, and the polling fallback of the WebSocket. */
import type { Server } from "hyper-express";
import { changeTimezone, refuseTimezone } from "../../common/domain/decide-settings.ts";
import { errors } from "../../common/errors.ts";
import { readSince } from "../../storage/event-log.ts";
import { listActivity } from "../../storage/queries/user-data.ts";
import { route } from "../http.ts";
import { EventsQuery, PageQuery, Settings } from "../schemas.ts";
import { command, DEFAULT_LIMIT, type RouteDeps, refusalError, userTimezone as timezoneFor } from "./context.ts";

export function registerUserRoutes(server: Server, d: RouteDeps) {
  route(server, d.http, "get", "/api/:user_id/settings", async (ctx) => ({
    status: 200,
    body: { settings: { timezone: await timezoneFor(d, ctx) } },
  }));

  route(server, d.http, "put", "/api/:user_id/settings", async (ctx) => {
    const body = await ctx.body(Settings);
    const wrong = refuseTimezone(body.timezone);
    if (wrong) throw refusalError(wrong);
    const decision = changeTimezone(command(ctx), { timezone: await timezoneFor(d, ctx) }, body.timezone);
    if (!decision.ok) throw refusalError(decision.refusal);
    const { event, settings } = decision;
    if (!event) return { status: 202, body: { settings, event_id: null, correlation_id: ctx.correlationId, queued: false } };
    // Accepted only if no other settings write of the user was accepted since this one read the timezone.
    const { queued } = await d.writer.emit(event, ctx);
    return { status: 202, body: { settings, event_id: event.event_id, correlation_id: ctx.correlationId, queued } };
  });

  route(server, d.http, "get", "/api/:user_id/activity-logs", async (ctx) => {
    const q = ctx.query(PageQuery);
    if (q.cursor !== undefined && q.offset !== undefined)
      throw errors.validation([{ path: "cursor", message: "cannot be combined with offset" }]);
    const before = q.cursor === undefined ? undefined : d.cursors.decodeSeq(q.cursor);
    if (before === null) throw errors.validation([{ path: "cursor", message: "is not a cursor this API returned for this list" }]);
    const limit = q.limit ?? DEFAULT_LIMIT;
    const offset = q.offset ?? 0;
    await d.settled(ctx);
    const { activity, next } = await listActivity(d.db, ctx.userId, limit, before === undefined ? { offset } : { before });
    return {
      status: 200,
      body: {
        activity,
        next_cursor: next === null ? null : d.cursors.encodeSeq(next),
        // Paging by offset (old clients) goes on as before; a page asked for by cursor has no offset.
        ...(before === undefined ? { next_offset: next === null ? null : offset + limit } : {}),
      },
    };
  });

  route(server, d.http, "get", "/api/:user_id/events", async (ctx) => {
    const q = ctx.query(EventsQuery);
    const since = q.since ?? 0;
    const result = await readSince(d.redis, d.db, d.keys, ctx.userId, since, q.limit ?? 100, d.config.replayMaxEvents);
    if (result.kind === "resync_required") return { status: 200, body: { type: "resync_required", events: [], seq: result.latest } };
    return { status: 200, body: { events: result.wire.map((w) => JSON.parse(w)), seq: result.latest } };
  });
}
