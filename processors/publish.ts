/**
 * After the PostgreSQL commit: append each applied event to its user's Redis stream (entry id
 * `<seq>-0`, trimmed) and publish it to the fan-out channel, atomically per event in one Lua
 * script, strictly in seq order per user. Redelivered events are no-ops (already in the stream:
 * nothing published, nobody notified twice).
 *
 * Order across concurrent batches: one user's events can be applied by two batches at once (two
 * topics, concurrent partitions, a rebalance). Batch B can commit seq N+1 only after batch A
 * committed N (the users row lock), but B may reach Redis first. The script then refuses N+1 as
 * a gap, and B publishes N itself from PostgreSQL (where it is committed) before N+1; A's own
 * publish of N later finds it present. So the stream and the channel never skip a seq.
 */
import type { ChainableCommander, Redis, Result } from "ioredis";
import { type AppliedEvent, pubsubFrame, wireMessage } from "../common/contracts/index.ts";
import type { Db } from "../common/postgres.ts";
import type { RedisKeys } from "../common/redis.ts";
import { withSpan } from "../common/telemetry.ts";
import { eventsSince } from "../storage/queries/events.ts";

/** A missing stream (new user, or Redis lost it) counts as a gap only this close to seq 1; beyond, it starts the stream afresh. */
const FRESH_STREAM_FILL_LIMIT = 1000;

// KEYS[1] user stream; ARGV[1] seq, ARGV[2] wire message, ARGV[3] maxlen, ARGV[4] channel, ARGV[5] pub/sub frame,
// ARGV[6] fresh-stream fill limit
// returns 1 when appended and published, 0 when the stream already had it,
// -(top + 1) when seq would leave a gap after the stream's top seq (nothing done)
const APPEND_AND_PUBLISH = `
local seq = tonumber(ARGV[1])
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local top = 0
if #last > 0 then top = tonumber(string.match(last[1][1], '^(%d+)')) end
if seq <= top then return 0 end
if seq > top + 1 and (top > 0 or seq <= tonumber(ARGV[6])) then return -(top + 1) end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], ARGV[1] .. '-0', 'e', ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    appendAndPublish(
      stream: string,
      seq: number,
      wire: string,
      maxLen: number,
      channel: string,
      frame: string,
      freshLimit: number,
    ): Result<number, Context>;
  }
}

export function defineAppendAndPublish(redis: Redis) {
  redis.defineCommand("appendAndPublish", { numberOfKeys: 1, lua: APPEND_AND_PUBLISH });
}

/** Commands sent after a batch's first publish round, in the same pipeline (the processors settle ingest's pending writes there). */
export type AfterPublish = (pipeline: ChainableCommander) => void;

async function run(redis: Redis, keys: RedisKeys, events: AppliedEvent[], maxLen: number, after?: AfterPublish): Promise<number[]> {
  const pipeline = redis.pipeline();
  for (const event of events) {
    const wire = wireMessage(event);
    pipeline.appendAndPublish(
      keys.userStream(event.user_id),
      event.seq,
      wire,
      maxLen,
      keys.userChannel(event.user_id),
      pubsubFrame(event, wire),
      FRESH_STREAM_FILL_LIMIT,
    );
  }
  after?.(pipeline);
  const results = (await pipeline.exec()) ?? [];
  for (const [err] of results) if (err) throw err;
  return results.slice(0, events.length).map(([, value]) => value as number);
}

const bySeq = (events: AppliedEvent[]) =>
  [...events].sort((a, b) => (a.user_id === b.user_id ? a.seq - b.seq : a.user_id < b.user_id ? -1 : 1));

/**
 * One round trip (with `after`'s commands in it), more only to fill a gap; returns how many events
 * were newly published (fillers included).
 */
export function publishApplied(
  redis: Redis,
  db: Db,
  keys: RedisKeys,
  events: AppliedEvent[],
  maxLen: number,
  after?: AfterPublish,
): Promise<number> {
  return withSpan("processors publish", { attributes: { "taskstream.events": events.length } }, async () => {
    let todo = bySeq(events);
    let published = 0;
    for (let round = 0; todo.length > 0 || (round === 0 && after); round++) {
      if (round === 4) throw new Error("could not close a seq gap in a Redis stream after 4 rounds; the batch will be retried");
      const results = await run(redis, keys, todo, maxLen, round === 0 ? after : undefined);
      const retry: AppliedEvent[] = [];
      const gapAfter = new Map<string, { top: number; first: number }>(); // per user: the stream's top, our first refused seq
      results.forEach((r, i) => {
        const event = todo[i] as AppliedEvent;
        if (r > 0) published++;
        if (r >= 0) return;
        retry.push(event);
        if (!gapAfter.has(event.user_id)) gapAfter.set(event.user_id, { top: -r - 1, first: event.seq });
      });
      const fillers: AppliedEvent[] = [];
      for (const [userId, { top, first }] of gapAfter) fillers.push(...(await eventsSince(db, userId, top, first - top - 1, first - 1)));
      todo = bySeq([...fillers, ...retry]);
    }
    return published;
  });
}
