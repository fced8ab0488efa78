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
const PageRow = z.object({ event: z.custom<AppliedEvent>(), fetched: z.number() });
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

/**
 * The first `limit` events of `rows` (a condition on one user's `events`) by seq, cut after the
 * event that takes the page past `maxBytes` of data.
 */
async function page(db: CommonQueryMethods, rows: ReturnType<typeof sql.fragment>, limit: number, maxBytes: number): Promise<EventPage> {
  const found = await db.any(sql.type(PageRow)`
    select ${envelope}, fetched from (
      select *, sum(octet_length(data::text)) over (order by seq) - octet_length(data::text) as before,
        row_number() over (order by seq) as n, (count(*) over ())::int as fetched
      from (select * from events where ${rows} order by seq limit ${limit + 1}) firsts
    ) page where before < ${maxBytes} and n <= ${limit} order by seq`);
  return { events: found.map((r) => r.event), more: found.length > 0 && found.length < (found[0] as { fetched: number }).fetched };
}

/** A page of events; `more`: there are events after its last. */
export interface EventPage {
  events: AppliedEvent[];
  more: boolean;
}

/** A user's events with seq in (since, until], oldest first; at most `maxBytes` of them (one at least) when given. */
export async function eventsSince(
  db: CommonQueryMethods,
  userId: string,
  since: number,
  limit: number,
  until = Number.MAX_SAFE_INTEGER,
  maxBytes?: number,
): Promise<AppliedEvent[]> {
  const rows = sql.fragment`user_id = ${userId} and seq > ${since} and seq <= ${until}`;
  if (maxBytes !== undefined) return (await page(db, rows, limit, maxBytes)).events;
  return unwrap(await db.any(sql.type(EventRow)`select ${envelope} from events where ${rows} order by seq limit ${limit}`));
}

/** One task's events after the user's seq `afterSeq`, oldest first: up to `limit`, and PAGE_BYTES of them (one at least). */
export async function aggregateHistory(
  db: CommonQueryMethods,
  userId: string,
  aggregateId: string,
  afterSeq = 0,
  limit = 1000,
): Promise<EventPage> {
  return page(db, sql.fragment`user_id = ${userId} and aggregate_id = ${aggregateId} and seq > ${afterSeq}`, limit, PAGE_BYTES);
}

export async function latestSeq(db: CommonQueryMethods, userId: string): Promise<number> {
  return (await db.maybeOneFirst(sql.type(SeqRow)`select seq from users where id = ${userId}`)) ?? 0;
}
