/**
 * The statements of `replay` (processors/replay.ts): the scratch schema it rebuilds the projection
 * in, the event store read in chunks, and the diff of each table against the live projection.
 */
import { type CommonQueryMethods, type DatabasePool, type DatabasePoolConnection, sql } from "slonik";
import { z } from "zod";
import type { TaskEvent } from "../../common/contracts/index.ts";

/** A row of `eventsAfter`: the event is not checked again (it passed the contract's schema before it was stored). */
const ReplayEventRow = z.object({ user_id: z.string(), seq: z.number(), event: z.custom<TaskEvent>() });
export type ReplayEvent = z.infer<typeof ReplayEventRow>;
const CountRow = z.object({ count: z.number() });

/** Runs `fn` on one connection whose search_path is `schema, public`, reset afterwards. */
export async function inSchema<T>(db: DatabasePool, schema: string, fn: (c: DatabasePoolConnection) => Promise<T>): Promise<T> {
  return db.connect(async (c) => {
    await c.query(sql.unsafe`select set_config('search_path', ${`${schema}, public`}, false)`);
    try {
      return await fn(c);
    } finally {
      await c.query(sql.unsafe`reset search_path`);
    }
  });
}

export async function dropSchema(db: CommonQueryMethods, schema: string, { ifExists = false } = {}): Promise<void> {
  await db.query(
    ifExists
      ? sql.unsafe`drop schema if exists ${sql.identifier([schema])} cascade`
      : sql.unsafe`drop schema ${sql.identifier([schema])} cascade`,
  );
}

/** Up to `limit` events of public.events after `position` (user_id, seq), in that order; of `users` only when given. */
export async function eventsAfter(
  db: CommonQueryMethods,
  position: readonly [string, number],
  limit: number,
  users?: readonly string[],
): Promise<readonly ReplayEvent[]> {
  const userFilter = users ? sql.fragment`and user_id = any(${sql.array([...users], "text")})` : sql.fragment``;
  return db.any(sql.type(ReplayEventRow)`
    select user_id, seq, json_build_object(
      'event_id', event_id, 'event_type', event_type, 'schema_version', schema_version, 'user_id', user_id,
      'aggregate_id', aggregate_id, 'timestamp', to_char("timestamp" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'correlation_id', correlation_id, 'data', data) as event
    from public.events where (user_id, seq) > (${position[0]}, ${position[1]}) ${userFilter}
    order by user_id, seq limit ${limit}`);
}

/**
 * The rows of `table` (its `columns`) that are in one of public and `schema` and not in the other,
 * counted with multiplicity. With `users`, only their rows of public are compared (other users may
 * share the database, e.g. in tests).
 */
export async function tableDifferences(
  db: CommonQueryMethods,
  schema: string,
  table: string,
  columns: readonly string[],
  users?: readonly string[],
): Promise<number> {
  const s = sql.identifier([schema, table]);
  const p = sql.identifier(["public", table]);
  const c = sql.join(
    columns.map((col) => sql.identifier([col])),
    sql.fragment`, `,
  );
  const only = users ? sql.array([...users], "text") : null;
  const scope = !only
    ? sql.fragment``
    : table === "users"
      ? sql.fragment`where id = any(${only})`
      : table === "task_tags"
        ? sql.fragment`where task_id in (select id from ${sql.identifier(["public", "tasks"])} where user_id = any(${only}))`
        : sql.fragment`where user_id = any(${only})`;
  return db.oneFirst(sql.type(CountRow)`
    select count(*) from (
      (select ${c} from ${p} ${scope} except all select ${c} from ${s})
      union all
      (select ${c} from ${s} except all select ${c} from ${p} ${scope})) d`);
}
