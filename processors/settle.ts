/**
 * After a batch is published: ingest's bookkeeping of the users' pending writes is told which of
 * them are done (applied, refused or skipped: none is pending any more), and a user's new timezone
 * is put where ingest reads it with every request. Sent in the same pipeline as the batch's
 * publish (processors/publish.ts), after it.
 */
import type { ChainableCommander } from "ioredis";
import type { AppliedEvent, TaskEvent } from "../common/contracts/index.ts";
import type { RedisKeys } from "../common/redis.ts";

const TIMEZONE_SECONDS = 24 * 3600;

/** Queues the settling commands on `pipeline`: the processors send them with the batch's publish, one round trip for both. */
export function queueSettle(
  pipeline: ChainableCommander,
  keys: RedisKeys,
  handled: readonly TaskEvent[],
  applied: readonly AppliedEvent[],
): void {
  const byUser = new Map<string, string[]>();
  for (const e of handled) byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e.event_id]);
  for (const [userId, ids] of byUser) pipeline.hdel(keys.pendingWrites(userId), ...ids);
  for (const e of handled) pipeline.hdel(keys.pendingEvents(e.user_id, e.aggregate_id), e.event_id);
  for (const e of applied)
    if (e.event_type === "settings.updated")
      pipeline.set(keys.userTimezone(e.user_id), e.data.changes.timezone.new, "EX", TIMEZONE_SECONDS);
}
