/**
 * A batch of events evolved in memory, in order: which apply (each gets its user's next seq and
 * its aggregate's next version), which are duplicates, skipped or rejected, and what each user's
 * state is afterwards. A rejected write becomes a write.rejected event for its user, evolved
 * like any other. Pure; the processors load the states and store the result.
 */

import { newEvent } from "../contracts/envelope.ts";
import type { AppliedEvent, EventType, RejectReason, TaskEvent } from "../contracts/events.ts";
import { nameBasedUuid } from "../ids.ts";
import { evolve } from "./evolve.ts";
import type { Task, UserState } from "./model.ts";

export interface Rejection {
  event: TaskEvent;
  code: RejectReason;
  reason: string;
}

export interface ActivityEntry {
  event_id: string;
  user_id: string;
  seq: number;
  task_id: string | null;
  action: string;
  summary: string;
  created_at: string;
}

export interface BatchOutcome {
  /** Newly applied, in order, with seq and version (write.rejected events included). */
  applied: AppliedEvent[];
  activity: ActivityEntry[];
  skipped: number;
  /** Not applied; all but `superseded` ones also go to the dead-letter topic. */
  rejected: Rejection[];
  /** Each user's state after the batch. */
  states: Map<string, UserState>;
  /** Each user's last seq after the batch. */
  seqs: Map<string, number>;
}

/** Events the scheduler makes: nobody wrote them, so nobody is told when they do not apply. */
const SYSTEM_EVENTS = new Set<EventType>(["reminder.triggered", "recurring.spawned", "write.rejected"]);

/** The id of the write.rejected event that answers `eventId`: one per write, however often it is redelivered. */
export const rejectionId = (eventId: string): string => nameBasedUuid(eventId, "write.rejected");

/** The write.rejected event telling `event`'s user why it was not applied; null for system events. */
export function rejectionOf(event: TaskEvent, code: RejectReason, message: string): TaskEvent | null {
  if (SYSTEM_EVENTS.has(event.event_type)) return null;
  return newEvent(
    "write.rejected",
    {
      user_id: event.user_id,
      aggregate_id: event.aggregate_id,
      correlation_id: event.correlation_id,
      event_id: rejectionId(event.event_id),
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

/**
 * `states` and `seqs` hold every user of the batch as loaded; `seen` the event ids already
 * applied (they are skipped here; the caller republishes them).
 */
export function evolveBatch(...args: Parameters<typeof evolveBatchSteps>): BatchOutcome {
  const steps = evolveBatchSteps(...args);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * evolveBatch one event at a time: the generator stops after each event it applies (follow-ups
 * included), so a caller with other work (the processors' event loop) can run it in slices.
 */
export function* evolveBatchSteps(
  states: ReadonlyMap<string, UserState>,
  seqs: ReadonlyMap<string, number>,
  events: readonly TaskEvent[],
  seen: ReadonlySet<string>,
  /**
   * Events an applied event makes follow right after it, for the same user (a timezone change moves
   * the user's series); `was` is the event's task as it was before it (a deleted one is gone after).
   * Taken one at a time: a long list may be made as it is taken.
   */
  followUps?: (applied: AppliedEvent, state: UserState, was: Task | null) => Iterable<TaskEvent>,
): Generator<void, BatchOutcome> {
  const out: BatchOutcome = { applied: [], activity: [], skipped: 0, rejected: [], states: new Map(states), seqs: new Map(seqs) };
  const done = new Set(seen);
  // The maps evolve copies during this batch are the batch's own: later events change them in place.
  const own = new WeakSet<object>();
  function* apply(event: TaskEvent): Generator<void> {
    // A write answered with write.rejected is done too: redelivered, it must not apply after its writer was told it failed.
    if (done.has(event.event_id) || (!SYSTEM_EVENTS.has(event.event_type) && done.has(rejectionId(event.event_id)))) return;
    yield;
    const state = out.states.get(event.user_id);
    if (!state) throw new Error(`no state loaded for user ${event.user_id}`);
    const was = state.tasks.get(event.aggregate_id) ?? null;
    const outcome = evolve(state, event, own);
    if (outcome.kind === "skipped") {
      out.skipped++;
      return;
    }
    if (outcome.kind === "rejected") {
      out.rejected.push({ event, code: outcome.code, reason: outcome.reason });
      const notice = rejectionOf(event, outcome.code, outcome.reason);
      if (notice) yield* apply(notice);
      return;
    }
    // Done only once stored (as a later batch learns from the store): a skipped event leaves no trace.
    done.add(event.event_id);
    out.states.set(event.user_id, outcome.state);
    const seq = (out.seqs.get(event.user_id) ?? 0) + 1;
    out.seqs.set(event.user_id, seq);
    const stored = { ...event, seq, version: outcome.version, ...(outcome.data ? { data: outcome.data } : {}) } as AppliedEvent;
    out.applied.push(stored);
    out.activity.push({
      event_id: event.event_id,
      user_id: event.user_id,
      seq,
      task_id: outcome.taskId ?? null,
      action: event.event_type,
      summary: outcome.summary,
      created_at: event.timestamp,
    });
    for (const next of followUps?.(stored, outcome.state, was) ?? []) yield* apply(next);
  }
  for (const event of events) yield* apply(event);
  return out;
}
