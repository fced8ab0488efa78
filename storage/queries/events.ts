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

/** A user's events with seq in (since, until], oldest first. */
export async function eventsSince(
  db: CommonQueryMethods,
  userId: string,
  since: number,
  limit: number,
  until = Number.MAX_SAFE_INTEGER,
): Promise<AppliedEvent[]> {
  return unwrap(
    await db.any(sql.type(EventRow)`
      select ${envelope} from events where user_id = ${userId} and seq > ${since} and seq <= ${until} order by seq limit ${limit}`),
  );
}

/** Every event of one task, oldest first. */
export async function aggregateHistory(db: CommonQueryMethods, userId: string, aggregateId: string): Promise<AppliedEvent[]> {
  return unwrap(
    await db.any(
      sql.type(EventRow)`select ${envelope} from events where user_id = ${userId} and aggregate_id = ${aggregateId} order by version`,
    ),
  );
}

export async function latestSeq(db: CommonQueryMethods, userId: string): Promise<number> {
  return (await db.maybeOneFirst(sql.type(SeqRow)`select seq from users where id = ${userId}`)) ?? 0;
}
