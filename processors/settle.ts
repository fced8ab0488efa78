/**
 * After a batch is published: ingest's bookkeeping of the users' pending writes is told which of
 * them are done (applied, refused or skipped: none is pending any more), and a user's new timezone
 * is put where ingest reads it with every request. One pipelined round trip per batch.
 */
import type { Redis } from "ioredis";
import type { AppliedEvent, TaskEvent } from "../common/contracts/index.ts";
import type { RedisKeys } from "../common/redis.ts";

const TIMEZONE_SECONDS = 24 * 3600;

export async function settleWrites(redis: Redis, keys: RedisKeys, handled: readonly TaskEvent[], applied: readonly AppliedEvent[]) {
  if (handled.length === 0) return;
  const byUser = new Map<string, string[]>();
  for (const e of handled) byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e.event_id]);
  const pipeline = redis.pipeline();
  for (const [userId, ids] of byUser) pipeline.hdel(keys.pendingWrites(userId), ...ids);
  for (const e of handled) pipeline.hdel(keys.pendingEvents(e.user_id, e.aggregate_id), e.event_id);
  for (const e of applied)
    if (e.event_type === "settings.updated")
      pipeline.set(keys.userTimezone(e.user_id), e.data.changes.timezone.new, "EX", TIMEZONE_SECONDS);
  for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
}
