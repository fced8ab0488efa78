/**
 * Applies a batch of events to PostgreSQL, set-based: load every aggregate the batch touches (one
 * statement), evolve the whole batch in memory with the domain rules (common/domain), and write
 * what changed with its schedule changes (one statement, plus one per kind of deletion the batch
 * has, then in a transaction; storage/queries/projection.ts). Returns what to publish: applied
 * events, and earlier-applied duplicates (their Redis step may not have happened before a crash;
 * it is idempotent).
 *
 * Concurrency: the read takes no lock and the write checks that the batch's users are as read
 * (batch_guard). Only a rebalance, or the two topics of one user, make two batches of a user run
 * at once; the one that loses the check reads and writes again in a transaction that first locks
 * its users, which cannot lose. In the common case a batch costs two round trips to PostgreSQL.
 *
 * Failure isolation: a write the rules refuse (its task was deleted, a name is taken, a later
 * write won) becomes a `write.rejected` event for its user in the same transaction. An event that
 * makes PostgreSQL fail (a data error no check caught) fails the batch's transaction; the batch is
 * then applied again one event per transaction, so only that event is refused (write.rejected +
 * dead letter) and the rest commits. Infrastructure failures (connection, timeout, serialization)
 * are rethrown: the caller retries the whole batch with backoff and never dead-letters it.
 */
import type { DatabaseConnection } from "slonik";
import type { AppliedEvent, TaskEvent } from "../common/contracts/index.ts";
import { evolveBatchSteps, type Rejection, rejectionId, rejectionOf } from "../common/domain/batch.ts";
import { emptyUser, type Tag, type Task, type UserState } from "../common/domain/model.ts";
import { isInfrastructureError, pgErrorCode } from "../common/failures.ts";
import { afterCompletionSpawns, instanceId, instancesEndedWithSeries, movesWithUserZone, timezoneMoveEvents } from "../common/series.ts";
import {
  type BatchKeys,
  type BatchState,
  loadBatchState,
  lockUsers,
  type StoredUser,
  storeChanges,
} from "../storage/queries/projection.ts";
import { scheduleChangesWrite } from "../storage/queries/schedule-changes.ts";
import { projectionChanges, scheduleChangeSteps } from "./changes.ts";
import { inSlices } from "./slices.ts";

export type { Rejection } from "../common/domain/batch.ts";

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

export interface ApplyOptions {
  /**
   * The live processors: record the schedule changes of the batch for the scheduler (under this
   * scope, the deployment's TOPIC_PREFIX) and move a user's recurring tasks when their timezone
   * changes. Replay leaves it out: the log already holds the moves, and the scheduler reads only
   * the live schema.
   */
  scheduling?: { scope: string /** RECURRENCE_LEAD in ms (default 24 h). */; recurrenceLeadMs?: number };
}

/** `db` is the pool, or one connection whose search_path points at a replay schema. */
export async function applyBatch(db: DatabaseConnection, events: TaskEvent[], options: ApplyOptions = {}): Promise<BatchResult> {
  try {
    return await applyOnce(db, events, options);
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
      add(await applyOnce(db, [event], options));
    } catch (err) {
      if (isInfrastructureError(err)) throw err;
      const reason = `cannot be applied: ${(err as Error).message ?? String(err)}`.slice(0, 1000);
      total.rejected.push({ event, code: "invalid", reason });
      const notice = rejectionOf(event, "invalid", "the write holds a value that cannot be stored");
      if (!notice) continue;
      try {
        add(await applyOnce(db, [notice], options));
      } catch (noticeErr) {
        if (isInfrastructureError(noticeErr)) throw noticeErr;
        // Even the notice cannot be stored (its ids are unusable): the dead letter is all there is.
      }
    }
  }
  return total;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ON_TASK = /^(task|reminder|recurring|write)\./;
// A completion or deletion may spawn an after_completion series' next instance, with the series' tags.
const NEEDS_TAGS = /^(task\.created|task\.updated|task\.completed|task\.deleted|recurring\.spawned|tag\.)/;

/** Which rows the batch's events are evolved against. */
export function batchKeys(events: readonly TaskEvent[], withSeries = false): BatchKeys {
  const taskIds = new Set<string>();
  const tagUsers = new Set<string>();
  const seriesUsers = new Set<string>();
  const deletedTasks = new Set<string>();
  for (const e of events) {
    if (e.event_type === "task.deleted" && UUID.test(e.aggregate_id)) deletedTasks.add(e.aggregate_id);
    if (ON_TASK.test(e.event_type) && UUID.test(e.aggregate_id)) taskIds.add(e.aggregate_id);
    if (e.event_type === "recurring.spawned" && e.data.task.parent_task_id && UUID.test(e.data.task.parent_task_id))
      taskIds.add(e.data.task.parent_task_id);
    // A series switched to after_completion spawns its current instance, which may exist already (spawned ahead by the clock).
    if (e.event_type === "task.updated" && e.data.changes.recurrence_mode?.new === "after_completion" && UUID.test(e.aggregate_id)) {
      const next = e.data.changes.next_occurrence?.new;
      if (next) taskIds.add(instanceId(e.aggregate_id, next));
    }
    if (NEEDS_TAGS.test(e.event_type)) tagUsers.add(e.user_id);
    if (withSeries && e.event_type === "settings.updated") seriesUsers.add(e.user_id);
  }
  return {
    users: [...new Set(events.map((e) => e.user_id))],
    eventIds: [...new Set(events.flatMap((e) => [e.event_id, rejectionId(e.event_id)]))].filter((id) => UUID.test(id)),
    taskIds: [...taskIds],
    tagUsers: [...tagUsers],
    seriesUsers: [...seriesUsers],
    aggregateIds: [...new Set(events.map((e) => e.aggregate_id))],
    deletedTasks: [...deletedTasks],
  };
}

/**
 * A timezone change moves the user's recurring tasks that followed the old zone, right after it:
 * those in it that were created without a timezone of their own (or before that was recorded).
 */
function timezoneMoves(applied: AppliedEvent, state: UserState): Iterable<TaskEvent> {
  if (applied.event_type !== "settings.updated") return [];
  return movesWithUserZone(
    applied,
    [...state.tasks.values()].filter((t) => t !== null),
    new Date(),
  );
}

/**
 * A recurring task created in the user's timezone (none given) that reaches the log after a
 * change of that timezone (decided before the change, produced after it) moves as the change
 * moved the user's other series.
 */
function lateCreationMove(applied: AppliedEvent, state: UserState): TaskEvent[] {
  if (applied.event_type !== "task.created" || !applied.data.timezone_defaulted) return [];
  const task = state.tasks.get(applied.aggregate_id);
  if (!task || task.recurrence_rule === null || task.timezone === state.timezone) return [];
  return [...timezoneMoveEvents(applied, state.timezone, [task], new Date())];
}

/**
 * The events an applied one makes follow right after it: timezone moves, after_completion
 * instances, the deletion of a deleted series' instances still to come. All are decided on `state`
 * as it is now, before any of them applies; the moves are made as they are taken (one per series
 * of the user).
 */
function* followUps(applied: AppliedEvent, state: UserState, was: Task | null): Generator<TaskEvent> {
  const moves = timezoneMoves(applied, state);
  const others = [
    ...lateCreationMove(applied, state),
    ...afterCompletionSpawns(applied, state.tasks, was),
    ...instancesEndedWithSeries(applied, state.tasks, was),
  ];
  yield* moves;
  yield* others;
}

/** Read without locks and write checked; when another batch of a user came in between, again under locks. */
async function applyOnce(db: DatabaseConnection, events: TaskEvent[], options: ApplyOptions): Promise<BatchResult> {
  const keys = batchKeys(events, options.scheduling !== undefined);
  const loaded = await loadBatchState(db, keys);
  const stored = new Map(loaded.users.map((u) => [u.id, u]));
  const users = keys.users.map((id) => stored.get(id) ?? { id, seq: 0, timezone: emptyUser(id).timezone });
  const { result, write } = await evolveLoaded(events, keys, users, loaded, options);
  try {
    await write(db);
    return result;
  } catch (err) {
    if (!LOST_RACE.has(pgErrorCode(err) ?? "")) throw err;
    return db.transaction(async (tx) => {
      const locked = await lockUsers(tx, keys.users);
      const { result, write } = await evolveLoaded(events, keys, locked, await loadBatchState(tx, keys), options);
      await write(tx);
      return result;
    });
  }
}

/**
 * Another batch changed one of the batch's users meanwhile: batch_guard's serialization failure
 * (storage/migrations), or a unique violation when that batch's events took the same seqs first.
 * Under the users' locks neither can come from a race, so there they are what they say.
 */
const LOST_RACE = new Set(["40001", "23505"]);

/**
 * The batch's writes an earlier delivery rejected (their write.rejected is stored, so they are
 * done): rejected again, with the stored reason, since the dead letter of that delivery may not
 * have been sent before it failed or crashed. The dead-letter topic is at least once, like the rest.
 */
function rejectedBefore(events: readonly TaskEvent[], seen: readonly AppliedEvent[]): Rejection[] {
  const byId = new Map(events.map((e) => [e.event_id, e]));
  const out: Rejection[] = [];
  for (const stored of seen) {
    if (stored.event_type !== "write.rejected") continue;
    const event = byId.get(stored.data.event_id);
    if (event) out.push({ event, code: stored.data.reason, reason: stored.data.message });
  }
  return out;
}

/**
 * Evolves the batch over its loaded state; `write` stores what changed (in a transaction when it
 * deletes rows). In slices (slices.ts): a batch that moves a user's thousand series does not hold
 * the event loop meanwhile.
 */
async function evolveLoaded(events: TaskEvent[], keys: BatchKeys, users: StoredUser[], loaded: BatchState, options: ApplyOptions) {
  const tasks = new Map<string, Map<string, Task | null>>();
  const tags = new Map<string, Map<string, Tag>>();
  for (const u of keys.tagUsers) tags.set(u, new Map());
  const ownerOf = new Map(loaded.tasks.map((t) => [t.id, t.user_id]));
  for (const t of loaded.tasks) {
    // A task loaded for another reason than its own event (a series a timezone change moves) has its version on its row.
    if (loaded.versions[t.id] === undefined) loaded.versions[t.id] = t.version;
    const mine = tasks.get(t.user_id) ?? new Map<string, Task | null>();
    mine.set(t.id, t);
    tasks.set(t.user_id, mine);
  }
  for (const { user_id, ...tag } of loaded.tags) tags.get(user_id)?.set(tag.id, tag);
  // Each user gets the versions of its own events' aggregates (a user's first change copies only those).
  const versions = new Map<string, Map<string, number>>();
  for (const e of [...events, ...loaded.tasks.map((t) => ({ user_id: t.user_id, aggregate_id: t.id }))]) {
    const v = loaded.versions[e.aggregate_id];
    if (v === undefined) continue;
    const mine = versions.get(e.user_id) ?? new Map<string, number>();
    mine.set(e.aggregate_id, Number(v));
    versions.set(e.user_id, mine);
  }
  // A task id another user holds is taken: creating it is a conflict, anything else on it finds nothing.
  const foreign = new Map<string, Set<string>>();
  for (const e of events) {
    const owner = ownerOf.get(e.aggregate_id);
    if (owner === undefined || owner === e.user_id) continue;
    foreign.set(e.user_id, (foreign.get(e.user_id) ?? new Set()).add(e.aggregate_id));
  }
  const states = new Map<string, UserState>();
  const seqs = new Map<string, number>();
  for (const u of users) {
    states.set(u.id, {
      id: u.id,
      timezone: u.timezone,
      tasks: tasks.get(u.id) ?? new Map(),
      tags: tags.get(u.id) ?? null,
      versions: versions.get(u.id) ?? new Map(),
      ...(foreign.has(u.id) ? { taken: foreign.get(u.id) } : {}),
    });
    seqs.set(u.id, u.seq);
  }
  const seen = new Set(loaded.seen.map((e) => e.event_id));
  const outcome = await inSlices(evolveBatchSteps(states, seqs, events, seen, options.scheduling ? followUps : undefined));
  const schedule = options.scheduling
    ? scheduleChangesWrite(
        await inSlices(scheduleChangeSteps(states, outcome.states, options.scheduling.recurrenceLeadMs)),
        options.scheduling.scope,
      )
    : null;
  const changes = projectionChanges(states, outcome.states, seqs, outcome.seqs, outcome.applied, outcome.activity);
  const deletes = changes.deletedTasks.length + changes.deletedTags.length + changes.relinkedTasks.length + changes.deletedReminders.length;
  const result: BatchResult = {
    applied: outcome.applied,
    duplicates: loaded.seen,
    skipped: outcome.skipped,
    rejected: [...rejectedBefore(events, loaded.seen), ...outcome.rejected],
  };
  const write = (db: DatabaseConnection): Promise<void> =>
    deletes > 0 ? db.transaction((tx) => storeChanges(tx, changes, schedule)) : storeChanges(db, changes, schedule);
  return { result, write };
}
