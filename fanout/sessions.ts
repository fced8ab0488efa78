/**
 * WebSocket sessions of one fan-out process. Each user has a uWS topic `u:<user_id>`; a socket
 * joins it only after its replay, so no event is missed or doubled across the switch to live:
 * while replaying, live frames for that user are buffered on the socket, then sent if newer than
 * the replay, all within one cork, before the socket subscribes (or, when its replay ran ahead
 * of what pub/sub has carried the user's other sockets here, once the topic catches up).
 */
import type { TemplatedApp, WebSocket } from "uWebSockets.js";
import type { PubsubFrame } from "../common/contracts/index.ts";
import { metric } from "../common/metrics.ts";

export interface SocketData {
  userId: string;
  /** Replay from here; null means "from now". */
  since: number | null;
  /** When the token the socket was opened with expires (ms); the socket is closed with 4001 then. */
  expiresAt: number;
  /** Live frames that arrived during replay; null once live. */
  buffer: PubsubFrame[] | null;
  /** Their size, held to WS_MAX_BACKPRESSURE_BYTES: past it they are dropped and read from the log instead. */
  bufferBytes: number;
  /** Replay messages not sent yet (paced by backpressure), the next index, the seq they reach, the latest seq known. */
  queue: string[];
  next: number;
  queuedUpTo: number;
  latest: number;
  /** A replay page is being read (the replay is read in pages up to `latest`, not all at once). */
  fetching: boolean;
  closed: boolean;
  /** Client messages in the current second (flood guard). */
  inbound: number;
  inboundWindow: number;
  /**
   * Live (it got `ready`) but not on the user's topic yet: its replay reached this seq while the
   * user's other sockets here had been carried only to an older one (the frames between are still
   * on their way from Redis). It joins the topic when the topic carries a newer frame.
   */
  joinAt: number | null;
}
export type Socket = WebSocket<SocketData>;

/** A new socket's state: replaying (live frames buffered) until `goLive` has sent its replay. */
export const newSocketData = (userId: string, since: number | null, expiresAt: number): SocketData => ({
  userId,
  since,
  expiresAt,
  buffer: [],
  bufferBytes: 0,
  queue: [],
  next: 0,
  queuedUpTo: 0,
  latest: 0,
  fetching: false,
  closed: false,
  inbound: 0,
  inboundWindow: 0,
  joinAt: null,
});

export const CLOSE = {
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  restart: 1012,
  /** Application code: the token expired; reconnect with a fresh token and `since`. */
  tokenExpired: 4001,
  /** Application code: the client is too slow to keep up; reconnect with `since`. */
  slowConsumer: 4008,
} as const;

const connections = metric.gauge("ws_connections", "Open WebSocket connections");
const messagesOut = metric.counter("ws_messages_out_total", "Event messages handed to WebSockets (publish counts once per topic)");
const deliverySeconds = metric.latency("ws_delivery_seconds", "Event timestamp to WebSocket send");
const slowClosed = metric.counter(
  "ws_slow_consumer_closed_total",
  "WebSockets closed because their backlog passed WS_MAX_BACKPRESSURE_BYTES",
);

const replayOverflows = metric.counter(
  "ws_replay_buffer_overflows_total",
  "Times a replaying WebSocket's buffered live frames passed WS_MAX_BACKPRESSURE_BYTES and were left to the replay to read from the log",
);

export const userTopic = (userId: string) => `u:${userId}`;

/** Closes `ws` from outside uWS's own callbacks (timers, Redis, a replay read): uWS wants writes corked. */
export function endCorked(ws: Socket, code: number, reason: string) {
  ws.cork(() => ws.end(code, reason));
}

export class Sessions {
  private readonly all = new Set<Socket>();
  private readonly perUser = new Map<string, Set<Socket>>();
  /** Per user with live sockets here: the highest seq the user's topic carried (or its first socket went live at). */
  private readonly lastSeq = new Map<string, number>();

  constructor(
    private readonly app: TemplatedApp,
    /** The next page of a user's replay: wire messages with seq > `after`, oldest first. */
    private readonly replayPage: (userId: string, after: number) => Promise<string[]>,
    private readonly maxPerUser: number,
    /** A live socket with more than this unsent is closed as a slow consumer (WS_MAX_BACKPRESSURE_BYTES). */
    private readonly maxBacklog: number,
  ) {}

  /** Replay pauses while a socket has more than this buffered. */
  private get highWater() {
    return this.maxBacklog / 2;
  }

  count(userId: string): number {
    return this.perUser.get(userId)?.size ?? 0;
  }

  get size(): number {
    return this.all.size;
  }

  add(ws: Socket) {
    const { userId } = ws.getUserData();
    this.all.add(ws);
    const set = this.perUser.get(userId) ?? new Set<Socket>();
    this.perUser.set(userId, set);
    set.add(ws);
    connections.inc();
  }

  remove(ws: Socket) {
    const data = ws.getUserData();
    data.closed = true;
    this.all.delete(ws);
    const set = this.perUser.get(data.userId);
    set?.delete(ws);
    if (set?.size === 0) {
      this.perUser.delete(data.userId);
      this.lastSeq.delete(data.userId);
    }
    connections.dec();
  }

  isFull(userId: string): boolean {
    return this.count(userId) >= this.maxPerUser;
  }

  /**
   * A live event from Redis: serialised once for every subscribed socket of the user. The
   * processors publish each user's events strictly in seq order, each once (processors/publish.ts);
   * a frame at or below what the user's topic already carried is never sent twice all the same.
   */
  deliver(frame: PubsubFrame) {
    const sockets = this.perUser.get(frame.userId);
    if (!sockets) return;
    for (const ws of sockets) {
      const data = ws.getUserData();
      if (data.buffer === null) continue;
      data.buffer.push(frame);
      data.bufferBytes += frame.wire.length;
      if (data.bufferBytes > this.maxBacklog) {
        // A long replay (or one the client does not read, which stays paused) would hold every live
        // frame meanwhile. These are in the log already: the replay goes on to read them there.
        data.latest = Math.max(data.latest, frame.seq);
        data.buffer = [];
        data.bufferBytes = 0;
        replayOverflows.inc();
      }
    }
    if (frame.seq <= (this.lastSeq.get(frame.userId) ?? 0)) return;
    this.lastSeq.set(frame.userId, frame.seq);
    const joinAfter: Socket[] = [];
    for (const ws of sockets) {
      const data = ws.getUserData();
      if (data.joinAt === null) continue;
      if (frame.seq > data.joinAt) this.join(ws);
      else if (frame.seq === data.joinAt) joinAfter.push(ws); // it has this frame from its replay
    }
    this.app.publish(userTopic(frame.userId), frame.wire, false);
    for (const ws of joinAfter) this.join(ws);
    messagesOut.inc();
    deliverySeconds.observe(Math.max(0, Date.now() - frame.timestampMs) / 1000);
    this.closeSlowConsumers(sockets);
  }

  /**
   * Starts sending the replay; `pump` continues on every drain. Once the replay and the live
   * frames buffered meanwhile (those past it) are sent, the socket joins the user's topic and
   * gets `ready`, in the same synchronous step, so nothing slips between replay and live.
   */
  goLive(ws: Socket, replay: string[], replayedUpTo: number, latest: number, resync: boolean) {
    const data = ws.getUserData();
    if (data.closed) return;
    if (resync) ws.cork(() => ws.send(JSON.stringify({ type: "resync_required", seq: latest }), false));
    data.queue = replay;
    data.next = 0;
    data.queuedUpTo = replayedUpTo;
    // Live frames dropped while the replay was being read raised `latest` already.
    data.latest = Math.max(data.latest, latest);
    this.pump(ws);
  }

  /** Sends queued replay messages while the socket's backlog stays under the high-water mark. */
  pump(ws: Socket) {
    const data = ws.getUserData();
    if (data.closed || data.buffer === null) return;
    ws.cork(() => {
      for (;;) {
        if (data.next >= data.queue.length && data.queuedUpTo < data.latest) {
          this.fetchReplayPage(ws);
          return;
        }
        if (data.next >= data.queue.length) {
          data.queue = [];
          data.next = 0;
          for (const frame of data.buffer ?? []) {
            if (frame.seq <= data.queuedUpTo) continue;
            data.queue.push(frame.wire);
            data.queuedUpTo = frame.seq;
          }
          data.buffer = [];
          data.bufferBytes = 0;
          if (data.queue.length === 0) {
            data.buffer = null;
            const ready = Math.max(data.latest, data.queuedUpTo);
            const carried = this.lastSeq.get(data.userId);
            // The user's first live socket here has seen everything up to `ready`: an older frame
            // published later (a redelivery, a Redis that lost the stream) is not sent again.
            if (carried === undefined) this.lastSeq.set(data.userId, ready);
            // The replay read Redis's stream past what pub/sub has brought the user's other
            // sockets so far: joining now would send this one those frames a second time.
            if (carried !== undefined && carried < ready) data.joinAt = ready;
            else ws.subscribe(userTopic(data.userId));
            ws.send(JSON.stringify({ type: "ready", seq: ready }), false);
            return;
          }
        }
        if (ws.getBufferedAmount() > this.highWater) return; // the drain handler calls pump again
        ws.send(data.queue[data.next++]!, false);
      }
    });
  }

  private join(ws: Socket) {
    const data = ws.getUserData();
    data.joinAt = null;
    if (!data.closed) ws.subscribe(userTopic(data.userId));
  }

  /** Reads the next replay page, then pumps on; an empty page ends the replay where the log ends. */
  private fetchReplayPage(ws: Socket) {
    const data = ws.getUserData();
    if (data.fetching) return;
    data.fetching = true;
    this.replayPage(data.userId, data.queuedUpTo).then(
      (page) => {
        data.fetching = false;
        if (data.closed) return;
        data.queue = page;
        data.next = 0;
        data.queuedUpTo += page.length;
        if (page.length === 0) data.latest = data.queuedUpTo;
        this.pump(ws);
      },
      () => {
        data.fetching = false;
        if (!data.closed) endCorked(ws, CLOSE.internal, "replay failed; reconnect with since");
      },
    );
  }

  /**
   * Closes live sockets whose unsent backlog passed the limit, with a code that says why (called on
   * delivery and on a short timer, since uWS writes published messages at the end of the loop
   * iteration). A client that has stopped reading altogether cannot see that close frame behind
   * its backlog and sees the connection drop (1006); either way it resumes with `since` and loses
   * nothing.
   */
  closeSlowConsumers(sockets: Iterable<Socket> = this.all) {
    for (const ws of [...sockets]) {
      if (ws.getUserData().buffer !== null || ws.getBufferedAmount() <= this.maxBacklog) continue;
      endCorked(ws, CLOSE.slowConsumer, "slow consumer: reconnect with since");
      slowClosed.inc();
    }
  }

  /** Sockets whose token has expired are closed with 4001 (CONTRACT.md): the client reconnects with a fresh one. */
  closeExpired(now: number) {
    for (const ws of [...this.all]) {
      if (ws.getUserData().expiresAt <= now) endCorked(ws, CLOSE.tokenExpired, "token expired: reconnect with a fresh token and since");
    }
  }

  closeAll(code: number, reason: string) {
    for (const ws of [...this.all]) endCorked(ws, code, reason);
  }
}
