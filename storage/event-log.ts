/**
 * A user's applied events after a given seq, as wire messages: from the Redis stream while it
 * still holds them, from PostgreSQL's event store for anything older, and for everything while
 * Redis is unreachable. Used by the fan-out (replay on reconnect) and the polling endpoint, so
 * both answer the same.
 */
import type { Redis } from "ioredis";
import { wireMessage } from "../common/contracts/index.ts";
import { isInfrastructureError } from "../common/failures.ts";
import type { Db } from "../common/postgres.ts";
import type { RedisKeys } from "../common/redis.ts";
import { eventsSince, latestSeq, PAGE_BYTES } from "./queries/events.ts";

export type SinceResult =
  | { kind: "events"; wire: string[]; latest: number }
  /** The client is further behind than replay allows, or ahead of the history (it was reset). */
  | { kind: "resync_required"; latest: number };

const seqOf = (id: string): number => Number(id.slice(0, id.indexOf("-")));

/** Stream entries read per call: a page stops at PAGE_BYTES, and Redis need not send far more first. */
const STREAM_BATCH = 100;

/** A Redis read's answer, or null when Redis cannot answer now (the event store then serves the read). */
async function orNull<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch (err) {
    if (isInfrastructureError(err)) return null;
    throw err;
  }
}

/** The stream's first and last seq (null: empty), or null when Redis cannot answer now. */
async function streamBounds(redis: Redis, stream: string): Promise<{ first: number | null; last: number | null } | null> {
  const ends = await orNull(Promise.all([redis.xrange(stream, "-", "+", "COUNT", 1), redis.xrevrange(stream, "+", "-", "COUNT", 1)]));
  return ends && { first: ends[0][0] ? seqOf(ends[0][0][0]) : null, last: ends[1][0] ? seqOf(ends[1][0][0]) : null };
}

export async function readSince(
  redis: Redis,
  db: Db,
  keys: RedisKeys,
  userId: string,
  since: number,
  limit: number,
  maxBehind: number,
): Promise<SinceResult> {
  const stream = keys.userStream(userId);
  const bounds = await streamBounds(redis, stream);
  // Without Redis the event store serves it all: it holds every applied event (the stream only the latest).
  const streamFirst = bounds?.first ?? null;
  const latest = bounds?.last ?? (await latestSeq(db, userId));
  if (since > latest || latest - since > maxBehind) return { kind: "resync_required", latest };
  if (since === latest) return { kind: "events", wire: [], latest };

  const wire: string[] = [];
  let bytes = 0;
  const add = (w: string) => {
    wire.push(w);
    bytes += Buffer.byteLength(w);
  };
  const room = () => wire.length < limit && bytes < PAGE_BYTES;
  if (streamFirst === null || streamFirst > since + 1) {
    // Older than the stream keeps: the event store has them, up to where the stream starts.
    const until = streamFirst === null ? latest : streamFirst - 1;
    for (const e of await eventsSince(db, userId, since, limit, until, PAGE_BYTES)) add(wireMessage(e));
    if (since + wire.length < until) return { kind: "events", wire, latest }; // the page is full
  }
  // From the stream, in batches, while the page has room.
  for (let from = Math.max(since + 1, streamFirst ?? Number.POSITIVE_INFINITY); streamFirst !== null && room(); ) {
    const entries = await redis.xrange(stream, `${from}-0`, "+", "COUNT", Math.min(limit - wire.length, STREAM_BATCH));
    // New events may have trimmed the stream since its start was read: what it dropped
    // meanwhile comes from the event store, so the result stays contiguous from `since`.
    const first = entries[0] ? seqOf(entries[0][0]) : latest + 1;
    if (first > from) {
      const wanted = Math.min(first - from, limit - wire.length);
      const filled = await eventsSince(db, userId, from - 1, wanted, first - 1, PAGE_BYTES - bytes);
      for (const e of filled) add(wireMessage(e));
      if (filled.length < wanted || !room()) break;
    }
    for (const [id, fields] of entries) {
      if (!room()) break;
      add(fields[1] as string);
      from = seqOf(id) + 1;
    }
    if (entries.length < STREAM_BATCH) break;
  }
  return { kind: "events", wire, latest };
}

/** The user's latest seq: the stream's top, or the event store's when the stream is empty or Redis unreachable. */
export async function latestSeqOf(redis: Redis, db: Db, keys: RedisKeys, userId: string): Promise<number> {
  const last = await orNull(redis.xrevrange(keys.userStream(userId), "+", "-", "COUNT", 1));
  return last?.[0] ? seqOf(last[0][0]) : latestSeq(db, userId);
}
