/** Tag events: the user's tag list (names unique per user, case-insensitive). */
import { sql } from "slonik";
import type { Handler } from "./types.ts";

const created: Handler<"tag.created"> = async (e, ctx) => {
  const inserted = await ctx.tx.query(sql.unsafe`
    insert into tags (id, user_id, name, color, created_at, updated_at)
    values (${e.aggregate_id}, ${e.user_id}, ${e.data.name}, ${e.data.color}, ${e.timestamp}, ${e.timestamp})
    on conflict do nothing`);
  if (inserted.rowCount === 0)
    return { kind: "rejected", code: "conflict", reason: `tag "${e.data.name}" or id ${e.aggregate_id} already exists` };
  await ctx.nextVersion(e.aggregate_id);
  return { kind: "applied", summary: `created tag "${e.data.name}"` };
};

const updated: Handler<"tag.updated"> = async (e, ctx) => {
  const tag = (await ctx.tx.maybeOne(
    sql.unsafe`select name, color from tags where id = ${e.aggregate_id} and user_id = ${e.user_id} for update`,
  )) as {
    name: string;
    color: string | null;
  } | null;
  if (!tag) return { kind: "rejected", code: "not_found", reason: `tag ${e.aggregate_id} does not exist` };
  const name = e.data.changes.name?.new as string | undefined;
  const color = e.data.changes.color ? (e.data.changes.color.new as string | null) : tag.color;
  const clash = name
    ? await ctx.tx.exists(
        sql.unsafe`select 1 from tags where user_id = ${e.user_id} and lower(name) = lower(${name}) and id <> ${e.aggregate_id}`,
      )
    : false;
  if (clash) return { kind: "rejected", code: "conflict", reason: `another tag is already named "${name}"` };
  await ctx.tx.query(
    sql.unsafe`update tags set name = ${name ?? tag.name}, color = ${color}, updated_at = ${e.timestamp} where id = ${e.aggregate_id}`,
  );
  await ctx.nextVersion(e.aggregate_id);
  const changes = {
    ...(name !== undefined ? { name: { old: tag.name, new: name } } : {}),
    ...(e.data.changes.color ? { color: { old: tag.color, new: color } } : {}),
  };
  return { kind: "applied", data: { changes }, summary: `renamed or recoloured tag "${tag.name}"` };
};

const deleted: Handler<"tag.deleted"> = async (e, ctx) => {
  const gone = await ctx.tx.query(sql.unsafe`delete from tags where id = ${e.aggregate_id} and user_id = ${e.user_id}`);
  if (gone.rowCount === 0) return { kind: "skipped", reason: `tag ${e.aggregate_id} is already gone` };
  await ctx.nextVersion(e.aggregate_id);
  return { kind: "applied", summary: "deleted a tag" };
};

export const tagHandlers = { "tag.created": created, "tag.updated": updated, "tag.deleted": deleted };
