/** write.rejected: stored and sent like any event; on a task it counts as one of its versions. */
import { sql } from "slonik";
import type { Handler } from "./types.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const rejected: Handler<"write.rejected"> = async (e, ctx) => {
  const version = await ctx.nextVersion(e.aggregate_id);
  const onTask = /^(task|reminder|recurring)\./.test(e.data.event_type) && UUID.test(e.aggregate_id);
  if (onTask) await ctx.tx.query(sql.unsafe`update tasks set version = ${version} where id = ${e.aggregate_id} and user_id = ${e.user_id}`);
  return {
    kind: "applied",
    summary: `${e.data.event_type} not applied (${e.data.reason}): ${e.data.message}`.slice(0, 500),
    ...(onTask ? { taskId: e.aggregate_id } : {}),
  };
};

export const rejectedHandlers = { "write.rejected": rejected };
