/**
 * The scheduler's intake: the schedule changes the processors record in PostgreSQL (in the
 * transaction that applied the events; storage/queries/schedule-changes.ts). Woken at once by a
 * notification, and by a poll every `pollMs` in case one was missed (a reconnect, a notification
 * sent while the session was down); a full batch is followed by the next one at once. Each pass
 * takes the oldest changes, makes BullMQ match them (schedule.ts applyChanges, no read of the
 * projection) and then settles them: a crash in between leaves the rows, and the next pass does
 * the same again, which changes nothing twice (deterministic job ids, per-task index).
 *
 * Replicas: one at a time takes changes, the holder of a session advisory lock
 * (storage/schedule-listener.ts); the others run due jobs and stand by, retrying the lock at each
 * poll. A lock rather than `for update skip locked`: row locks held while BullMQ is written would
 * make the processors' upsert of the same task wait inside their batch transaction (holding the
 * user's row lock), tying event latency to Redis; and two replicas applying two versions of one
 * task at once could each remove the job the other added. Rows are never locked here, so the
 * processors never wait for the scheduler.
 */
import { logger } from "../common/log.ts";
import { metric } from "../common/metrics.ts";
import type { Db } from "../common/postgres.ts";
import { settleScheduleChanges, takeScheduleChanges } from "../storage/queries/schedule-changes.ts";
import { listenForScheduleChanges, type ScheduleListener } from "../storage/schedule-listener.ts";
import type { Schedule } from "./schedule.ts";

const log = logger("scheduler");
const changesTotal = metric.counter("scheduler_schedule_changes_total", "Schedule changes applied to BullMQ, by outcome", ["outcome"]);
const passSeconds = metric.latency("scheduler_intake_pass_seconds", "Time to take, apply and settle one batch of schedule changes");
const holdsLock = metric.gauge("scheduler_intake_leader", "1 while this process holds the intake lock (takes schedule changes)");

export interface IntakeOptions {
  databaseUrl: string;
  /** The deployment's scope (TOPIC_PREFIX). */
  scope: string;
  connectTimeoutMs: number;
  /** Poll even without a notification this often. @defaultValue 1000 */
  pollMs?: number;
  /** Changes per pass. @defaultValue 500 */
  batchSize?: number;
}

export class ScheduleIntake {
  private listener: ScheduleListener | undefined;
  private connecting: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private woken = false;
  private loop: Promise<void> | undefined;
  private readonly pollMs: number;
  private readonly batchSize: number;

  constructor(
    private readonly db: Db,
    private readonly schedule: Schedule,
    private readonly opts: IntakeOptions,
  ) {
    this.pollMs = opts.pollMs ?? 1000;
    this.batchSize = opts.batchSize ?? 500;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.notify();
    await this.loop;
    await this.listener?.close();
    this.listener = undefined;
    holdsLock.set(0);
  }

  /** Runs a pass now (a notification, or a caller that knows there is work). */
  notify(): void {
    this.woken = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let full = false;
      try {
        if (await this.leading()) full = await this.pass();
      } catch (err) {
        if (!this.stopped) log.warn({ err: (err as Error).message }, "schedule intake pass failed; retrying at the next poll");
      }
      if (!full) await this.idle();
    }
  }

  /** Whether this process may take changes: connected, listening, holding the lock. */
  private async leading(): Promise<boolean> {
    if (!this.listener) {
      this.connecting ??= this.connect().finally(() => {
        this.connecting = undefined;
      });
      await this.connecting;
    }
    const listener = this.listener;
    if (!listener) return false;
    const leading = await listener.tryLock();
    holdsLock.set(leading ? 1 : 0);
    return leading;
  }

  private async connect(): Promise<void> {
    try {
      const listener = await listenForScheduleChanges({
        databaseUrl: this.opts.databaseUrl,
        scope: this.opts.scope,
        connectTimeoutMs: this.opts.connectTimeoutMs,
        onChange: () => this.notify(),
        onLost: (err) => {
          if (this.listener === listener) this.listener = undefined;
          holdsLock.set(0);
          if (!this.stopped) log.warn({ err: err.message }, "schedule intake session lost; reconnecting at the next poll");
        },
      });
      if (this.stopped) await listener.close();
      else this.listener = listener;
    } catch (err) {
      if (!this.stopped) log.warn({ err: (err as Error).message }, "schedule intake cannot listen yet; retrying at the next poll");
    }
  }

  /** One batch: take, apply, settle. True when the batch was full (more may wait). */
  private async pass(): Promise<boolean> {
    const taken = await takeScheduleChanges(this.db, this.opts.scope, this.batchSize);
    if (taken.length === 0) return false;
    const end = passSeconds.startTimer();
    const unreadable = taken.filter((c) => !c.readable);
    if (unreadable.length > 0) {
      changesTotal.inc({ outcome: "unreadable" }, unreadable.length);
      log.warn(
        { tasks: unreadable.slice(0, 5).map((c) => c.task_id) },
        "stored schedule changes that are no schedule; left to the reconcile",
      );
    }
    const readable = taken.filter((c) => c.readable);
    const r = await this.schedule.applyChanges(readable);
    await settleScheduleChanges(this.db, this.opts.scope, taken);
    changesTotal.inc({ outcome: "applied" }, readable.length);
    end();
    log.debug({ changes: taken.length, ...r }, "schedule changes applied");
    return taken.length === this.batchSize;
  }

  private async idle(): Promise<void> {
    if (this.stopped) return;
    if (this.woken) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.pollMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
    this.woken = false;
  }
}
