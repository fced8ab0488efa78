/** Reads of the immutable event store, as clients see events (the contract's envelope). */
import { type CommonQueryMethods, sql } from "slonik";
import type { AppliedEvent } from "../../common/contracts/index.ts";

const envelope = sql.fragment`
  json_build_object(
    'event_id', event_id, 'event_type', event_type, 'schema_version', schema_version, 'user_id', user_id,
    'aggregate_id', aggregate_id, 'version', version, 'seq', seq,
    'timestamp', to_char("timestamp" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'correlation_id', correlation_id, 'data', data) as event`;

const unwrap = (rows: readonly unknown[]): AppliedEvent[] => rows.map((r) => (r as { event: AppliedEvent }).event);

export async function storedEvents(db: CommonQueryMethods, eventIds: string[]): Promise<AppliedEvent[]> {
  if (eventIds.length === 0) return [];
  return unwrap(
    await db.any(sql.unsafe`select ${envelope} from events where event_id = any(${sql.array(eventIds, "uuid")}) order by user_id, seq`),
  );
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
    await db.any(sql.unsafe`
      select ${envelope} from events where user_id = ${userId} and seq > ${since} and seq <= ${until} order by seq limit ${limit}`),
  );
}

/** Every event of one task, oldest first. */
export async function aggregateHistory(db: CommonQueryMethods, userId: string, aggregateId: string): Promise<AppliedEvent[]> {
  return unwrap(
    await db.any(sql.unsafe`select ${envelope} from events where user_id = ${userId} and aggregate_id = ${aggregateId} order by version`),
  );
}

export async function latestSeq(db: CommonQueryMethods, userId: string): Promise<number> {
  return ((await db.maybeOneFirst(sql.unsafe`select seq from users where id = ${userId}`)) as number | null) ?? 0;
}
