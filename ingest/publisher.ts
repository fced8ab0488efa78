/**
 * Ingest's write path. Events go to the task topic keyed by user id; when the broker cannot take
 * a write in time (or the circuit breaker is open after repeated failures) the event goes to the
 * PostgreSQL fallback queue instead and the client still gets 202 with `queued: true`. A user with
 * queued events queues behind them, so per-user order holds. Only when PostgreSQL fails too is
 * the write refused (503).
 */
import CircuitBreaker from "opossum";
import type { TaskEvent } from "../common/contracts/index.ts";
import { eventProblems, serializeEvent } from "../common/contracts/index.ts";
import { clientGone, errors } from "../common/errors.ts";
import type { Producer } from "../common/kafka.ts";
import { logger } from "../common/log.ts";
import { metric } from "../common/metrics.ts";
import type { Db } from "../common/postgres.ts";
import { enqueue, hasQueued } from "../storage/queries/outbox.ts";
import { fieldPath } from "./schemas.ts";

const log = logger("ingest");
const produceSeconds = metric.latency("ingest_produce_seconds", "Time for the broker to acknowledge an event (acks=all)");
const writes = metric.counter("ingest_writes_total", "Accepted writes by path", ["path"]);

export interface EventWriter {
  /**
   * Resolves once the event is durable; `queued` when it waits in the fallback queue. The
   * request's `accept`, if given, admits the event and records it as pending in place of the
   * `accepting` hook; its `clientGone`, once admitted, says whether to write it at all.
   */
  emit(event: TaskEvent, request?: WritingRequest): Promise<{ queued: boolean }>;
}

/** What a write knows of the request it answers (http.ts Ctx). */
export interface WritingRequest {
  accept?: (event: TaskEvent) => Promise<void>;
  /** The client's connection closed: nobody would hear of the write, so it is not made (http.ts clientGone). */
  clientGone?: () => boolean;
}

/** Told of each write before it is produced, and if it is refused after all (read-your-writes bookkeeping). */
export interface WriteHooks {
  accepting(event: TaskEvent): Promise<void>;
  refused(event: TaskEvent): Promise<void>;
}

export interface WriterOptions {
  /** How long a produce may take before the event goes to the fallback queue. */
  produceTimeoutMs: number;
  /** How long "is the fallback queue empty" is trusted before asking PostgreSQL again. */
  queueCheckMs?: number;
}

/**
 * A write the processors could not apply is refused now (400), not accepted and dead-lettered
 * later: the event ingest built from the request is checked against the same contract the
 * processors parse with (e.g. a next occurrence or reminder time that lands outside the
 * supported range).
 */
function refuseUnappliable(event: TaskEvent): void {
  const problems = eventProblems(event);
  if (problems.length === 0) return;
  throw errors.validation(
    problems.map((p) => {
      const [pointer = "", ...message] = p.split(": ");
      const field = pointer.replace(/^\/data\/(task\/|changes\/|reminder\/)?/, "").replace(/\/new$/, "");
      return { path: fieldPath(`/${field}`), message: message.join(": ") };
    }),
  );
}

export function resilientWriter(
  producer: Pick<Producer, "send">,
  db: Db,
  topic: string,
  opts: WriterOptions,
  hooks?: WriteHooks,
): EventWriter & { breaker: CircuitBreaker } {
  const produce = async (event: TaskEvent) => {
    const end = produceSeconds.startTimer();
    await producer.send({
      topic,
      messages: [
        {
          key: event.user_id,
          value: serializeEvent(event),
          headers: { event_type: event.event_type, correlation_id: event.correlation_id },
        },
      ],
    });
    end();
  };
  const breaker = new CircuitBreaker(produce, {
    timeout: opts.produceTimeoutMs,
    errorThresholdPercentage: 50,
    volumeThreshold: 5,
    resetTimeout: 2000,
  });
  breaker.on("open", () => log.warn("broker circuit open: writes go to the fallback queue"));
  breaker.on("close", () => log.info("broker circuit closed: writes go to the broker again"));

  // "Is anything queued at all" is cached briefly: in the normal case no write pays a query for it.
  // One query at a time answers every write waiting for it: when the cache ran out, a thousand
  // writes a second each asking PostgreSQL themselves queued for seconds behind the pool.
  let queueKnownEmptyUntil = 0;
  /** Enqueues started, and those not finished: a check that overlapped one does not vouch for an empty queue. */
  let enqueues = 0;
  let enqueuing = 0;
  let emptyCheck: Promise<boolean> | undefined;
  const queueEmpty = (): Promise<boolean> => {
    if (Date.now() < queueKnownEmptyUntil) return Promise.resolve(true);
    if (emptyCheck) return emptyCheck;
    const startedAt = enqueues;
    const quiet = enqueuing === 0;
    const check = hasQueued(db).then((queued) => {
      if (!queued && quiet && enqueues === startedAt) queueKnownEmptyUntil = Date.now() + (opts.queueCheckMs ?? 250);
      return !queued;
    });
    emptyCheck = check;
    const clear = () => {
      if (emptyCheck === check) emptyCheck = undefined;
    };
    check.then(clear, clear);
    return check;
  };
  const mustQueueBehind = async (userId: string): Promise<boolean> => !(await queueEmpty()) && hasQueued(db, userId);

  const toQueue = async (event: TaskEvent) => {
    try {
      enqueues++;
      enqueuing++;
      queueKnownEmptyUntil = 0;
      try {
        await enqueue(db, event);
      } finally {
        enqueuing--;
      }
      writes.inc({ path: "queued" });
      return { queued: true };
    } catch (err) {
      await hooks?.refused(event);
      log.error({ err: (err as Error).message }, "broker and fallback queue both unavailable");
      throw errors.unavailable("the event log and its fallback queue are both unavailable; retry later");
    }
  };

  return {
    breaker,
    async emit(event, request = {}) {
      refuseUnappliable(event);
      await (request.accept ?? hooks?.accepting)?.(event);
      if (request.clientGone?.()) {
        await hooks?.refused(event);
        throw clientGone();
      }
      let behind: boolean;
      try {
        behind = breaker.opened || (await mustQueueBehind(event.user_id));
      } catch {
        behind = false; // PostgreSQL is down: the broker alone decides.
      }
      if (behind) return toQueue(event);
      try {
        await breaker.fire(event);
        writes.inc({ path: "broker" });
        return { queued: false };
      } catch (err) {
        log.warn({ err: (err as Error).message, event_id: event.event_id }, "broker write failed; queueing");
        return toQueue(event);
      }
    },
  };
}
