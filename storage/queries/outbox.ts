/** The PostgreSQL fallback queue for events the broker could not take (see the migration); ingest's relay drains it. */
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import type { TaskEvent } from "../../common/contracts/index.ts";
import { serializeEvent } from "../../common/contracts/index.ts";
import { NoColumns } from "./rows.ts";

const QueuedRow = z.object({ id: z.number(), user_id: z.string(), payload: z.instanceof(Buffer) });
export type QueuedRow = z.infer<typeof QueuedRow>;
const CountRow = z.object({ count: z.number() });
const LockRow = z.object({ locked: z.boolean() });

/** The advisory lock that lets one relay at a time (across all ingest replicas) drain the queue. */
const RELAY_LOCK_KEY = 7_240_311;

export async function enqueue(db: CommonQueryMethods, event: TaskEvent): Promise<void> {
  await db.query(sql.type(NoColumns)`
    insert into outbox (user_id, event_id, payload) values (${event.user_id}, ${event.event_id}, ${sql.binary(serializeEvent(event))})
    on conflict (event_id) do nothing`);
}

export async function hasQueued(db: CommonQueryMethods, userId?: string): Promise<boolean> {
  return userId === undefined
    ? db.exists(sql.type(NoColumns)`select 1 from outbox`)
    : db.exists(sql.type(NoColumns)`select 1 from outbox where user_id = ${userId}`);
}

export async function oldest(db: CommonQueryMethods, limit: number): Promise<readonly QueuedRow[]> {
  return db.any(sql.type(QueuedRow)`select id, user_id, payload from outbox order by id limit ${limit}`);
}

export async function remove(db: CommonQueryMethods, ids: number[]): Promise<void> {
  await db.query(sql.type(NoColumns)`delete from outbox where id = any(${sql.array(ids, "int8")})`);
}

export async function queuedCount(db: CommonQueryMethods): Promise<number> {
  return db.oneFirst(sql.type(CountRow)`select count(*) from outbox`);
}

/** Takes the relay lock on this connection if no other relay holds it; true when taken. */
export async function tryRelayLock(db: CommonQueryMethods): Promise<boolean> {
  return db.oneFirst(sql.type(LockRow)`select pg_try_advisory_lock(${RELAY_LOCK_KEY}) as locked`);
}

export async function releaseRelayLock(db: CommonQueryMethods): Promise<void> {
  await db.query(sql.type(NoColumns)`select pg_advisory_unlock(${RELAY_LOCK_KEY})`);
}
