/** Reads of the immutable event store, as clients see events (the contract's envelope). */
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import type { AppliedEvent } from "../../common/contracts/index.ts";

/**
 * A row of `envelope`. The event is not checked again on the way out: it passed the contract's
 * schema (common/contracts) before it was stored, and slonik does not validate rows at run time
 * (no result-parser interceptor is installed; see storage/typed-rows.int.test.ts).
 */
const EventRow = z.object({ event: z.custom<AppliedEvent>() });
const SeqRow = z.object({ seq: z.number() });
const EventIdRow = z.object({ event_id: z.string() });

/**
 * How many bytes of events one page of a read holds (always at least one event): a user can make
 * events of ~120 KB (text up to its limits, old and new value of an update), and 1,000 of them in
 * one answer held ingest's event loop for a second and over a gigabyte.
 */
export const PAGE_BYTES = 1024 * 1024;

const envelope = sql.fragment`
  json_build_object(
    'event_id', event_id, 'event_type', event_type, 'schema_version', schema_version, 'user_id', user_id,
    'aggregate_id', aggregate_id, 'version', version, 'seq', seq,
    'timestamp', to_char("timestamp" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'correlation_id', correlation_id, 'data', data) as event`;

const unwrap = (rows: readonly z.infer<typeof EventRow>[]): AppliedEvent[] => rows.map((r) => r.event);

export async function storedEvents(db: CommonQueryMethods, eventIds: string[]): Promise<AppliedEvent[]> {
  if (eventIds.length === 0) return [];
  return unwrap(
    await db.any(
      sql.type(EventRow)`select ${envelope} from events where event_id = any(${sql.array(eventIds, "uuid")}) order by user_id, seq`,
    ),
  );
}

/** Which of these events are stored (applied, or derived from one: its effects are in the projection). */
export async function appliedEventIds(db: CommonQueryMethods, eventIds: readonly string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const ids = await db.anyFirst(
    sql.type(EventIdRow)`select event_id from events where event_id = any(${sql.array([...eventIds], "uuid")})`,
  );
  return new Set(ids);
}

/** Rows read per query while a page is filled: a page stops at its byte budget, and the rows past it are never read. */
const BATCH = 100;

/** A page of events; `more`: there are events after its last. */
export interface EventPage {
  events: AppliedEvent[];
  more: boolean;
}

/**
 * Up to `limit` events of `rows` (a condition on one user's events, read from `source`) after seq `after`, by seq,
 * read BATCH at a time and cut after the event that takes the page past `maxBytes` (as JSON).
 */
async function page(
  db: CommonQueryMethods,
  rows: ReturnType<typeof sql.fragment>,
  after: number,
  limit: number,
  maxBytes: number,
  source = sql.fragment`events`,
): Promise<EventPage> {
  const events: AppliedEvent[] = [];
  let bytes = 0;
  for (let last = after; ; ) {
    const want = Math.min(BATCH, limit - events.length + 1);
    const batch = unwrap(
      await db.any(sql.type(EventRow)`select ${envelope} from ${source} where ${rows} and seq > ${last} order by seq limit ${want}`),
    );
    for (const [i, e] of batch.entries()) {
      if (events.length === limit || bytes >= maxBytes) return { events, more: true };
      events.push(e);
      bytes += Buffer.byteLength(JSON.stringify(e));
      last = e.seq;
      if (i === batch.length - 1 && batch.length < want) return { events, more: false };
    }
    if (batch.length < want) return { events, more: false };
  }
}

/** A user's events with seq in (since, until], oldest first; at most about `maxBytes` of them (one at least) when given. */
export async function eventsSince(
  db: CommonQueryMethods,
  userId: string,
  since: number,
  limit: number,
  until = Number.MAX_SAFE_INTEGER,
  maxBytes?: number,
): Promise<AppliedEvent[]> {
  const rows = sql.fragment`user_id = ${userId} and seq <= ${until}`;
  if (maxBytes !== undefined) return (await page(db, rows, since, limit, maxBytes)).events;
  return unwrap(
    await db.any(sql.type(EventRow)`select ${envelope} from events where ${rows} and seq > ${since} order by seq limit ${limit}`),
  );
}

/** One task's events after the user's seq `afterSeq`, oldest first: up to `limit`, and about PAGE_BYTES of them (one at least). */
export async function aggregateHistory(
  db: CommonQueryMethods,
  userId: string,
  aggregateId: string,
  afterSeq = 0,
  limit = 1000,
): Promise<EventPage> {
  // The task's own events (the aggregate_id index), then ordered: planned with the user's seq, the
  // query walked the user's whole log after `afterSeq` to find them (OFFSET 0 keeps it apart).
  const own = sql.fragment`(select * from events where aggregate_id = ${aggregateId} offset 0) own`;
  return page(db, sql.fragment`user_id = ${userId}`, afterSeq, limit, PAGE_BYTES, own);
}

export async function latestSeq(db: CommonQueryMethods, userId: string): Promise<number> {
  return (await db.maybeOneFirst(sql.type(SeqRow)`select seq from users where id = ${userId}`)) ?? 0;
}
