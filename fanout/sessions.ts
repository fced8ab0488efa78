/**
 * WebSocket sessions of one fan-out process. Each user has a uWS topic `u:<user_id>`; a socket
 * joins it only after its replay, so no event is missed or doubled across the switch to live:
 * while replaying, live frames for that user are buffered on the socket, then sent if newer than
 * the replay, all within one cork, before the socket subscribes.
 */
import type { TemplatedApp, WebSocket } from "uWebSockets.js";
import type { PubsubFrame } from "../common/contracts/index.ts";
import { metric } from "../common/metrics.ts";

export interface SocketData {
  userId: string;
  /** Replay from here; null means "from now". */
  since: number | null;
  /** Live frames that arrived during replay; null once live. */
  buffer: PubsubFrame[] | null;
  closed: boolean;
  /** Client messages in the current second (flood guard). */
  inbound: number;
  inboundWindow: number;
}
export type Socket = WebSocket<SocketData>;

export const CLOSE = {
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  restart: 1012,
  /** Application code: the client is too slow to keep up; reconnect with `since`. */
  slowConsumer: 4008,
} as const;

const connections = metric.gauge("ws_connections", "Open WebSocket connections");
const messagesOut = metric.counter("ws_messages_out_total", "Event messages handed to WebSockets (publish counts once per topic)");
const deliverySeconds = metric.latency("ws_delivery_seconds", "Event timestamp to WebSocket send");

export const userTopic = (userId: string) => `u:${userId}`;

export class Sessions {
  private readonly all = new Set<Socket>();
  private readonly perUser = new Map<string, Set<Socket>>();

  constructor(
    private readonly app: TemplatedApp,
    private readonly maxPerUser: number,
  ) {}

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
    if (set?.size === 0) this.perUser.delete(data.userId);
    connections.dec();
  }

  isFull(userId: string): boolean {
    return this.count(userId) >= this.maxPerUser;
  }

  /** A live event from Redis: serialised once for every subscribed socket of the user. */
  deliver(frame: PubsubFrame) {
    const sockets = this.perUser.get(frame.userId);
    if (!sockets) return;
    for (const ws of sockets) ws.getUserData().buffer?.push(frame);
    this.app.publish(userTopic(frame.userId), frame.wire, false);
    messagesOut.inc();
    deliverySeconds.observe(Math.max(0, Date.now() - frame.timestampMs) / 1000);
  }

  /** Sends the replay, then the buffered live frames past it, then joins the user's topic and says ready. */
  goLive(ws: Socket, replay: string[], replayedUpTo: number, latest: number, resync: boolean) {
    const data = ws.getUserData();
    if (data.closed) return;
    ws.cork(() => {
      if (resync) ws.send(JSON.stringify({ type: "resync_required", seq: latest }), false);
      for (const wire of replay) ws.send(wire, false);
      let last = replayedUpTo;
      for (const frame of data.buffer ?? []) {
        if (frame.seq <= last) continue;
        ws.send(frame.wire, false);
        last = frame.seq;
      }
      data.buffer = null;
      ws.subscribe(userTopic(data.userId));
      ws.send(JSON.stringify({ type: "ready", seq: Math.max(latest, last) }), false);
    });
  }

  /** Closes sockets whose unsent backlog passed the limit, with a code that says why. */
  closeSlow(limitBytes: number): number {
    let closed = 0;
    for (const ws of this.all) {
      if (ws.getBufferedAmount() > limitBytes) {
        ws.end(CLOSE.slowConsumer, "slow consumer: reconnect with since");
        closed++;
      }
    }
    return closed;
  }

  closeAll(code: number, reason: string) {
    for (const ws of [...this.all]) ws.end(code, reason);
  }
}
