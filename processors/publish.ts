/**
 * After the PostgreSQL commit: append each applied event to its user's Redis stream (entry id
 * `<seq>-0`, trimmed) and publish it to the fan-out channel, atomically per event in one Lua
 * script. Redelivered events are no-ops: XADD refuses an id at or below the stream's top, and
 * the script then publishes nothing, so nobody is notified twice.
 */
import type { Redis, Result } from "ioredis";
import { type AppliedEvent, pubsubFrame, wireMessage } from "../common/contracts/index.ts";
import type { RedisKeys } from "../common/redis.ts";

// KEYS[1] user stream; ARGV[1] seq, ARGV[2] wire message, ARGV[3] maxlen, ARGV[4] channel, ARGV[5] pub/sub frame
// returns 1 when appended and published, 0 when the stream already had it
const APPEND_AND_PUBLISH = `
local ok = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], ARGV[1] .. '-0', 'e', ARGV[2])
if type(ok) == 'table' and ok.err then return 0 end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    appendAndPublish(stream: string, seq: number, wire: string, maxLen: number, channel: string, frame: string): Result<number, Context>;
  }
}

export function defineAppendAndPublish(redis: Redis) {
  redis.defineCommand("appendAndPublish", { numberOfKeys: 1, lua: APPEND_AND_PUBLISH });
}

/** One round trip for the whole batch; returns how many events were newly published. */
export async function publishApplied(redis: Redis, keys: RedisKeys, events: AppliedEvent[], maxLen: number): Promise<number> {
  if (events.length === 0) return 0;
  const pipeline = redis.pipeline();
  for (const event of events) {
    const wire = wireMessage(event);
    pipeline.appendAndPublish(keys.userStream(event.user_id), event.seq, wire, maxLen, keys.eventsChannel, pubsubFrame(event, wire));
  }
  const results = (await pipeline.exec()) ?? [];
  let published = 0;
  for (const [err, value] of results) {
    if (err) throw err;
    published += value as number;
  }
  return published;
}
