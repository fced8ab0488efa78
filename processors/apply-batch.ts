/**
 * Applies a batch of events to PostgreSQL in one transaction: dedupe by event_id, per-user `seq`
 * and per-aggregate `version`, the projection (handlers/), the immutable event store and the
 * activity feed. Returns what to publish: applied events, and earlier-applied duplicates (their
 * Redis step may not have happened before a crash; it is idempotent).
 *
 * Failure isolation: a write the handlers refuse (its task was deleted, a name is taken, a later
 * write won) becomes a `write.rejected` event for its user in the same transaction. An event that
 * makes PostgreSQL fail (a data error no check caught) fails the batch's transaction; the batch is
 * then applied again one event per transaction, so only that event is refused (write.rejected +
 * dead letter) and the rest commits. Infrastructure failures (connection, timeout, serialization)
 * are rethrown: the caller retries the whole batch with backoff and never dead-letters it.
 */
import { type DatabaseConnection, sql } from "slonik";
import { type AppliedEvent, type EventType, newEvent, type RejectReason, type TaskEvent } from "../common/contracts/index.ts";
import { isInfrastructureError } from "../common/failures.ts";
import { nameBasedUuid } from "../common/ids.ts";
import { storedEvents } from "../storage/queries/events.ts";
import { type ApplyContext, handlers } from "./handlers/index.ts";
import { recordScheduleChangesOf, timezoneMovesAfter } from "./schedule-changes.ts";

export interface Rejection {
  event: TaskEvent;
  code: RejectReason;
  reason: string;
}

export interface BatchResult {
  /** Newly applied, in order, with seq and version (write.rejected events included). */
  applied: AppliedEvent[];
  /** Applied by an earlier delivery; publish again (idempotent) in case that attempt crashed. */
  duplicates: AppliedEvent[];
  /** Skipped as no-ops (e.g. a reminder triggered twice). */
  skipped: number;
  /** Not applied; all but `superseded` ones also go to the dead-letter topic. */
  rejected: Rejection[];
}

/** Events the scheduler makes: nobody wrote them, so nobody is told when they do not apply. */
const SYSTEM_EVENTS = new Set<EventType>(["reminder.triggered", "recurring.spawned", "write.rejected"]);

const rejectionId = (event: TaskEvent) => nameBasedUuid(event.event_id, "write.rejected");

/** The write.rejected event telling `event`'s user why it was not applied; null for system events. */
function rejectionOf(event: TaskEvent, code: RejectReason, message: string): TaskEvent | null {
  if (SYSTEM_EVENTS.has(event.event_type)) return null;
  return newEvent(
    "write.rejected",
    {
      user_id: event.user_id,
      aggregate_id: event.aggregate_id,
      correlation_id: event.correlation_id,
      event_id: rejectionId(event),
    },
    {
      event_id: event.event_id,
      event_type: event.event_type,
      correlation_id: event.correlation_id,
      reason: code,
      message: message.slice(0, 1000),
    },
  );
}

export interface ApplyOptions {
  /**
   * The live processors: record the schedule changes of what is applied for the scheduler (under
   * this scope, the deployment's TOPIC_PREFIX) and move recurring tasks when a user's timezone
   * changes (processors/schedule-changes.ts). Replay leaves it out: the log already holds the
   * moves, and the scheduler reads only the live schema.
   */
  scheduling?: { scope: string };
}

/** `db` is the pool, or one connection whose search_path points at a replay schema. */
export async function applyBatch(db: DatabaseConnection, events: TaskEvent[], options: ApplyOptions = {}): Promise<BatchResult> {
  try {
    return await applyInTransaction(db, events, options);
  } catch (err) {
    if (isInfrastructureError(err) || events.length === 0) throw err;
    return applyOneByOne(db, events, options);
  }
}

/** After a batch failed on its data: each event in its own transaction, in order. */
async function applyOneByOne(db: DatabaseConnection, events: TaskEvent[], options: ApplyOptions): Promise<BatchResult> {
  const total: BatchResult = { applied: [], duplicates: [], skipped: 0, rejected: [] };
  const add = (r: BatchResult) => {
    total.applied.push(...r.applied);
    total.duplicates.push(...r.duplicates);
    total.skipped += r.skipped;
    total.rejected.push(...r.rejected);
  };
  for (const event of events) {
    try {
      add(await applyInTransaction(db, [event], options));
    } catch (err) {
      if (isInfrastructureError(err)) throw err;
      const reason = `cannot be applied: ${(err as Error).message ?? String(err)}`.slice(0, 1000);
      total.rejected.push({ event, code: "invalid", reason });
      const notice = rejectionOf(event, "invalid", "the write holds a value that cannot be stored");
      if (!notice) continue;
      try {
        add(await applyInTransaction(db, [notice], options));
      } catch (noticeErr) {
        if (isInfrastructureError(noticeErr)) throw noticeErr;
        // Even the notice cannot be stored (its ids are unusable): the dead letter is all there is.
      }
    }
  }
  return total;
}

interface ActivityRow {
  event_id: string;
  user_id: string;
  seq: number;
  task_id: string | null;
  action: string;
  summary: string;
  created_at: string;
}

async function applyInTransaction(db: DatabaseConnection, events: TaskEvent[], options: ApplyOptions): Promise<BatchResult> {
  return db.transaction(async (tx) => {
    const ids = [...new Set(events.flatMap((e) => [e.event_id, rejectionId(e)]))];
    const earlier = await storedEvents(tx, ids);
    const seen = new Set(earlier.map((e) => e.event_id));
    const result: BatchResult = { applied: [], duplicates: earlier, skipped: 0, rejected: [] };

    // Lock every user of the batch in a fixed order (no deadlock between concurrent partitions).
    const userIds = [...new Set(events.map((e) => e.user_id))].sort();
    await tx.query(sql.unsafe`
      insert into users (id, created_at, updated_at) select u, now(), now() from unnest(${sql.array(userIds, "text")}) u
      on conflict (id) do nothing`);
    const seqs = new Map(
      (
        (await tx.any(sql.unsafe`select id, seq from users where id = any(${sql.array(userIds, "text")}) order by id for update`)) as {
          id: string;
          seq: number;
        }[]
      ).map((u) => [u.id, u.seq]),
    );

    // Every aggregate's current version in one round trip (not one query per event).
    const aggregateIds = [...new Set(events.map((e) => e.aggregate_id))];
    const versions = new Map<string, number>(
      (
        (await tx.any(sql.unsafe`
          select a as aggregate_id, coalesce((select max(version) from events where aggregate_id = a), 0) as version
          from unnest(${sql.array(aggregateIds, "text")}) a`)) as { aggregate_id: string; version: number }[]
      ).map((r) => [r.aggregate_id, Number(r.version)]),
    );
    const ctx: ApplyContext = {
      tx,
      async nextVersion(aggregateId) {
        let v = versions.get(aggregateId);
        if (v === undefined) {
          v = (await tx.oneFirst(sql.unsafe`
            select coalesce(max(version), 0) from events where aggregate_id = ${aggregateId}`)) as number;
        }
        versions.set(aggregateId, v + 1);
        return v + 1;
      },
    };

    const activity: ActivityRow[] = [];
    const apply = async (event: TaskEvent): Promise<void> => {
      if (seen.has(event.event_id)) return;
      seen.add(event.event_id);
      const handler = handlers[event.event_type] as (e: TaskEvent, c: ApplyContext) => ReturnType<(typeof handlers)[EventType]>;
      const versionBefore = versions.get(event.aggregate_id);
      const outcome = await handler(event, ctx);
      if (outcome.kind !== "applied") {
        // Not stored, so it must not use up a version of its aggregate.
        if (versionBefore === undefined) versions.delete(event.aggregate_id);
        else versions.set(event.aggregate_id, versionBefore);
      }
      if (outcome.kind === "skipped") {
        result.skipped++;
        return;
      }
      if (outcome.kind === "rejected") {
        result.rejected.push({ event, code: outcome.code, reason: outcome.reason });
        const notice = rejectionOf(event, outcome.code, outcome.reason);
        if (notice) await apply(notice);
        return;
      }
      const seq = (seqs.get(event.user_id) ?? 0) + 1;
      seqs.set(event.user_id, seq);
      const version = versions.get(event.aggregate_id) ?? 1;
      const applied = { ...event, seq, version, ...(outcome.data ? { data: outcome.data } : {}) } as AppliedEvent;
      result.applied.push(applied);
      activity.push({
        event_id: event.event_id,
        user_id: event.user_id,
        seq,
        task_id: outcome.taskId ?? null,
        action: event.event_type,
        summary: outcome.summary,
        created_at: event.timestamp,
      });
      // A timezone change moves the user's recurring tasks that followed it, right after it.
      if (options.scheduling && applied.event_type === "settings.updated") {
        for (const move of await timezoneMovesAfter(tx, applied)) await apply(move);
      }
    };
    for (const event of events) await apply(event);

    if (result.applied.length > 0) {
      await tx.query(sql.unsafe`
        insert into events (event_id, user_id, seq, aggregate_id, version, event_type, schema_version, "timestamp", correlation_id, data)
        select x.event_id, x.user_id, x.seq, x.aggregate_id, x.version, x.event_type, x.schema_version, x.timestamp, x.correlation_id, x.data
        from jsonb_to_recordset(${sql.jsonb(result.applied as never)}) as x(
          event_id uuid, user_id text, seq bigint, aggregate_id text, version int, event_type text, schema_version text,
          "timestamp" timestamptz, correlation_id uuid, data jsonb)`);
      await tx.query(sql.unsafe`
        insert into activity_logs (event_id, user_id, seq, task_id, action, summary, created_at)
        select x.event_id, x.user_id, x.seq, x.task_id, x.action, x.summary, x.created_at
        from jsonb_to_recordset(${sql.jsonb(activity as never)}) as x(
          event_id uuid, user_id text, seq bigint, task_id text, action text, summary text, created_at timestamptz)`);
      const bumped = [...seqs].map(([id, seq]) => ({ id, seq }));
      await tx.query(sql.unsafe`
        update users u set seq = x.seq from jsonb_to_recordset(${sql.jsonb(bumped)}) as x(id text, seq bigint)
        where u.id = x.id and u.seq <> x.seq`);
      if (options.scheduling) await recordScheduleChangesOf(tx, result.applied, options.scheduling.scope);
    }
    return result;
  });
}
