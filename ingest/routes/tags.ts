/** Tag routes: the user's tags, and tagging a task (a task.updated event on its tag list). */
import type { Server } from "hyper-express";
import * as decide from "../../common/domain/decide.ts";
import type { TagDecision } from "../../common/domain/decide-tags.ts";
import * as decideTags from "../../common/domain/decide-tags.ts";
import { BLANK_TAG_NAME, tagKey, tagName } from "../../common/domain/tags.ts";
import { errors } from "../../common/errors.ts";
import { findTagByName, getTag, listTags } from "../../storage/queries/user-data.ts";
import { type Ctx, type Reply, route } from "../http.ts";
import { AttachTag, CreateTag, ListQuery, UpdateTag } from "../schemas.ts";
import { isUuid } from "../task-state.ts";
import { answer, command, listPage, loadTask, type RouteDeps, refusalError } from "./context.ts";

export function registerTagRoutes(server: Server, d: RouteDeps) {
  // A tag write looks tags up: it waits (bounded) for the user's writes accepted before it, so a
  // tag just created can be renamed, attached or deleted, and a name just taken is a 409 at once.
  // Creating, renaming and deleting a tag read the user's tag name space: any write of the user
  // in between makes them decide again.
  const settled = { waitsForAll: true };
  // Tagging a task waits the same way, but reads only the task and tag names (it writes the task's
  // whole list by name): decided again when the task, the user's settings or any tag changed in
  // between, never for writes on other tasks (tagging 40 tasks at once is 40 202s).
  const retags = { retagsTask: true };
  const loadTag = async (ctx: Ctx) => {
    await d.settled(ctx);
    const tag = isUuid(ctx.params.tag_id) ? await getTag(d.db, ctx.userId, ctx.params.tag_id) : null;
    if (!tag) throw errors.notFound(`tag ${ctx.params.tag_id}`);
    return tag;
  };
  /** Emits the tag's event, if any, and answers 202 with the tag as it will be. */
  const accepted = async (ctx: Ctx, decision: TagDecision): Promise<Reply> => {
    if (!decision.ok) throw refusalError(decision.refusal);
    const { event, tag } = decision;
    if (!event) return { status: 202, body: { tag, event_id: null, correlation_id: ctx.correlationId, queued: false } };
    const { queued } = await d.writer.emit(event, ctx);
    return { status: 202, body: { tag, event_id: event.event_id, correlation_id: ctx.correlationId, queued } };
  };
  /** A blank name is a 400 before anything is read for the request (an unknown tag's too). */
  const refuseEarly = (body: { name?: string }) => {
    const wrong = decideTags.refuseTagInput(body);
    if (wrong) throw refusalError(wrong);
  };
  /** The user's tag that has this name (whatever its case) now, if any. */
  const holderOf = async (ctx: Ctx, raw: string | undefined) => {
    const name = raw === undefined ? null : tagName(raw);
    return name === null ? null : findTagByName(d.db, ctx.userId, name);
  };
  const nameOf = (raw: string) => {
    const name = tagName(raw);
    if (name === null) throw errors.validation([{ path: "name", message: BLANK_TAG_NAME }]);
    return name;
  };

  route(server, d.http, "get", "/api/:user_id/tags", async (ctx) => {
    const page = listPage(d, "tags", ctx.query(ListQuery));
    await d.settled(ctx);
    const { tags, next } = await listTags(d.db, ctx.userId, page);
    return { status: 200, body: { tags, next_cursor: next ? d.cursors.encode("tags", "asc", next) : null } };
  });

  route(
    server,
    d.http,
    "post",
    "/api/:user_id/tags",
    async (ctx) => {
      const body = await ctx.body(CreateTag);
      refuseEarly(body);
      await d.settled(ctx);
      return accepted(ctx, decideTags.createTag(command(ctx), body, await holderOf(ctx, body.name)));
    },
    settled,
  );

  const updateTag = async (ctx: Ctx) => {
    const body = await ctx.body(UpdateTag);
    refuseEarly(body);
    const tag = await loadTag(ctx);
    return accepted(ctx, decideTags.updateTag(command(ctx), tag, body, await holderOf(ctx, body.name)));
  };
  route(server, d.http, "patch", "/api/:user_id/tags/:tag_id", updateTag, settled);
  // As tasks take PUT for PATCH (seed 001 names PUT for a tag's update).
  route(server, d.http, "put", "/api/:user_id/tags/:tag_id", updateTag, settled);

  route(
    server,
    d.http,
    "delete",
    "/api/:user_id/tags/:tag_id",
    async (ctx) => {
      return accepted(ctx, decideTags.deleteTag(command(ctx), await loadTag(ctx)));
    },
    settled,
  );

  const retag = async (ctx: Ctx, tags: (current: string[]) => string[]) => {
    const task = await loadTask(d, ctx);
    return answer(d, ctx, decide.retagTask(command(ctx), task, [...new Set(tags(task.tags))]));
  };

  route(
    server,
    d.http,
    "post",
    "/api/:user_id/tasks/:task_id/tags",
    async (ctx) => {
      const body = await ctx.body(AttachTag);
      await d.settled(ctx);
      const name = body.tag_id ? (await getTag(d.db, ctx.userId, body.tag_id))?.name : nameOf(body.name ?? "");
      if (!name) throw errors.notFound(`tag ${body.tag_id}`);
      return retag(ctx, (current) => (current.some((t) => tagKey(t) === tagKey(name)) ? current : [...current, name]));
    },
    retags,
  );

  route(
    server,
    d.http,
    "delete",
    "/api/:user_id/tasks/:task_id/tags/:tag_id",
    async (ctx) => {
      const tag = await loadTag(ctx);
      return retag(ctx, (current) => current.filter((t) => tagKey(t) !== tagKey(tag.name)));
    },
    retags,
  );
}
