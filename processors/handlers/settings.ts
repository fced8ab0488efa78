/** User settings: the timezone new tasks default to and recurrences are evaluated in. */
import { sql } from "slonik";
import type { Handler } from "./types.ts";

const updated: Handler<"settings.updated"> = async (e, ctx) => {
  const user = (await ctx.tx.one(sql.unsafe`select timezone from users where id = ${e.user_id}`)) as { timezone: string };
  const timezone = e.data.changes.timezone.new as string;
  await ctx.tx.query(sql.unsafe`update users set timezone = ${timezone}, updated_at = ${e.timestamp} where id = ${e.user_id}`);
  await ctx.nextVersion(e.aggregate_id);
  return {
    kind: "applied",
    data: { changes: { timezone: { old: user.timezone, new: timezone } } },
    summary: `timezone set to ${timezone}`,
  };
};

export const settingsHandlers = { "settings.updated": updated };
