/**
 * Which users' channels this fan-out process is subscribed to. A user's channel is subscribed
 * while the process holds at least one socket of that user (one reference per socket), so each
 * process receives only the events of its own users; a second process halves each one's inbound
 * work instead of doubling the total.
 *
 * - `acquire` resolves once Redis has confirmed the subscription (or, for a channel already
 *   subscribed, once every command sent before it on the subscriber connection was processed), so
 *   a replay read started after it cannot miss an event: whatever the read does not see yet is
 *   published later and arrives live (Sessions drops what the replay already sent).
 * - Subscribes requested in the same event-loop turn go out as one SUBSCRIBE.
 * - A channel whose last socket left is unsubscribed only after `idleMs` (clients that reconnect at
 *   once, after 1001/1012/4008, find it still subscribed), in one UNSUBSCRIBE per sweep.
 * - After the subscriber connection came back (ioredis resubscribes what it had, then resends what
 *   was in flight), `reconnected()` makes every acquire wait for a PING sent after all of that.
 */
import { metric } from "../common/metrics.ts";

export interface Subscriber {
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  ping(): Promise<unknown>;
  ping(message: string): Promise<unknown>;
}

type State = "subscribing" | "subscribed" | "unsubscribing" | "failed";
interface Entry {
  userId: string;
  refs: number;
  state: State;
  /** Resolves when the subscription is active (state subscribing). */
  ready: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
  /** When refs last reached 0. */
  idleSince: number;
}

const channelsGauge = metric.gauge("fanout_user_channels", "User channels this fan-out process is subscribed to");
const commands = metric.counter(
  "fanout_subscription_commands_total",
  "SUBSCRIBE and UNSUBSCRIBE commands sent (each for a batch of channels)",
  ["command"],
);

export class Subscriptions {
  private readonly entries = new Map<string, Entry>(); // by channel
  private readonly toSubscribe = new Set<string>();
  private flushScheduled = false;
  /** Resolves when the subscriber connection has processed everything sent before it (see reconnected). */
  private barrier: Promise<void> = Promise.resolve();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly subscriber: Subscriber,
    private readonly channelOf: (userId: string) => string,
    /** How long a channel stays subscribed after its last socket left. */
    private readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The user whose channel this is, while this process tracks it (messages on others are ignored). */
  userOf(channel: string): string | undefined {
    return this.entries.get(channel)?.userId;
  }

  get size(): number {
    return this.entries.size;
  }

  /** One reference (a socket) for `userId`; resolves when events published from now on arrive here. */
  acquire(userId: string): Promise<void> {
    const channel = this.channelOf(userId);
    const entry = this.entries.get(channel);
    if (entry?.state === "subscribed") {
      entry.refs++;
      return this.barrier;
    }
    if (entry?.state === "subscribing") {
      entry.refs++;
      return entry.ready; // its SUBSCRIBE is queued or on the wire
    }
    // New, or its UNSUBSCRIBE is on the wire (the SUBSCRIBE goes out after it on the same
    // connection, so it wins), or its SUBSCRIBE failed: a fresh entry takes its place.
    const fresh = this.newEntry(userId, (entry?.refs ?? 0) + 1);
    this.entries.set(channel, fresh);
    channelsGauge.set(this.entries.size);
    this.queueSubscribe(channel);
    return fresh.ready;
  }

  /** Drops one reference; the channel is unsubscribed `idleMs` after the last one, unless acquired again. */
  release(userId: string) {
    const entry = this.entries.get(this.channelOf(userId));
    if (!entry || entry.refs === 0) return;
    entry.refs--;
    if (entry.refs === 0) {
      entry.idleSince = this.now();
      this.sweepSoon();
    }
  }

  /**
   * The subscriber connection is back (call from its "ready" event, synchronously): ioredis
   * resubscribes and resends right after that event, so a PING queued after them is the point
   * from which every subscription we track is active again.
   */
  reconnected() {
    let done!: () => void;
    this.barrier = new Promise<void>((resolve) => {
      done = resolve;
    });
    queueMicrotask(() => {
      this.subscriber.ping().then(done, done);
    });
  }

  stop() {
    clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private newEntry(userId: string, refs: number): Entry {
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const ready = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    ready.catch(() => {}); // a socket closed before its subscription failed has no one waiting
    return { userId, refs, state: "subscribing", ready, resolve, reject, idleSince: 0 };
  }

  private queueSubscribe(channel: string) {
    this.toSubscribe.add(channel);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushSubscribes());
  }

  private flushSubscribes() {
    this.flushScheduled = false;
    const batch = [...this.toSubscribe];
    this.toSubscribe.clear();
    if (batch.length === 0) return;
    const sent = new Map<string, Entry>();
    for (const channel of batch) {
      const entry = this.entries.get(channel);
      if (entry?.state === "subscribing") sent.set(channel, entry);
    }
    commands.inc({ command: "subscribe" });
    // Redis answers a connection's commands in order, so the PING's reply proves the SUBSCRIBE
    // before it took effect, even if the client's own confirmation of it were lost (a SUBSCRIBE
    // racing an UNSUBSCRIBE of other channels has left ioredis's promise pending forever here).
    Promise.race([this.subscriber.subscribe(...batch), this.subscriber.ping("subscribed")]).then(
      () => {
        for (const [channel, entry] of sent) {
          if (this.entries.get(channel) !== entry || entry.state !== "subscribing") continue;
          entry.state = "subscribed";
          entry.resolve();
          if (entry.refs === 0) this.sweepSoon();
        }
      },
      (err: Error) => {
        for (const [channel, entry] of sent) {
          if (this.entries.get(channel) !== entry || entry.state !== "subscribing") continue;
          entry.state = "failed";
          entry.reject(err);
          if (entry.refs === 0) this.sweepSoon();
        }
      },
    );
  }

  private sweepSoon() {
    if (this.sweepTimer) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined;
      this.sweep();
    }, this.idleMs);
    this.sweepTimer.unref();
  }

  /** Unsubscribes, in one command, every channel idle for `idleMs`; schedules itself again while some are idle but younger. */
  private sweep() {
    const now = this.now();
    const batch: string[] = [];
    let younger = false;
    for (const [channel, entry] of this.entries) {
      if (entry.refs > 0 || entry.state === "subscribing" || entry.state === "unsubscribing") continue;
      if (now - entry.idleSince < this.idleMs) {
        younger = true;
        continue;
      }
      entry.state = "unsubscribing";
      batch.push(channel);
    }
    if (younger) this.sweepSoon();
    if (batch.length === 0) return;
    commands.inc({ command: "unsubscribe" });
    const done = () => {
      for (const channel of batch) {
        const entry = this.entries.get(channel);
        // Acquired meanwhile: it is subscribing again (its SUBSCRIBE follows this UNSUBSCRIBE); keep it.
        if (entry?.state === "unsubscribing") this.entries.delete(channel);
      }
      channelsGauge.set(this.entries.size);
    };
    this.subscriber.unsubscribe(...batch).then(done, done);
  }
}
