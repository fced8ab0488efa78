/** The PostgreSQL fallback queue for events the broker could not take (see the migration). */
import { type CommonQueryMethods, sql } from "slonik";
import type { TaskEvent } from "../common/contracts/index.ts";
import { serializeEvent } from "../common/contracts/index.ts";

export interface QueuedRow {
  id: number;
  user_id: string;
  payload: Buffer;
}

export async function enqueue(db: CommonQueryMethods, event: TaskEvent): Promise<void> {
  await db.query(sql.unsafe`
    insert into outbox (user_id, event_id, payload) values (${event.user_id}, ${event.event_id}, ${sql.binary(serializeEvent(event))})
    on conflict (event_id) do nothing`);
}

export async function hasQueued(db: CommonQueryMethods, userId?: string): Promise<boolean> {
  return userId === undefined
    ? db.exists(sql.unsafe`select 1 from outbox`)
    : db.exists(sql.unsafe`select 1 from outbox where user_id = ${userId}`);
}

export async function oldest(db: CommonQueryMethods, limit: number): Promise<QueuedRow[]> {
  return (await db.any(sql.unsafe`select id, user_id, payload from outbox order by id limit ${limit}`)) as QueuedRow[];
}

export async function remove(db: CommonQueryMethods, ids: number[]): Promise<void> {
  await db.query(sql.unsafe`delete from outbox where id = any(${sql.array(ids, "int8")})`);
}

export async function queuedCount(db: CommonQueryMethods): Promise<number> {
  return (await db.oneFirst(sql.unsafe`select count(*) from outbox`)) as number;
}
