/**
 * The live feed: one user's events, in `seq` order, with nothing lost and nothing doubled, over
 * the WebSocket when it works and over the polling endpoint when it does not.
 *
 * States: idle → connecting → live; on a close it goes reconnecting (backoff with jitter, resume
 * with `since` = the last seq delivered) and back to live; after `wsFailuresBeforePolling` upgrades
 * in a row that never opened (WebSockets blocked, fan-out down) it goes polling
 * (`GET /api/{user}/events?since=`) and keeps probing the WebSocket with backoff; the first probe
 * that reaches `ready` ends the polling. stop() → stopped.
 *
 * Every event passes one gate (`deliver`): a seq at or below the last one is a duplicate and is
 * dropped, the next seq is delivered, a seq further ahead is a gap and the feed resumes from the
 * last seq instead of delivering it. The last seq is kept in `storage` (localStorage in browsers),
 * so a reloaded page resumes where it stopped. `baseline` tells the owner to reload its state
 * over HTTP: at the first connection without a stored seq, on `resync_required`, and when the
 * server's history is behind the stored seq (it was reset).
 */
import { Emitter } from "./emitter.ts";
import { backoffDelay, type Transport } from "./http.ts";
import type { ServerEvent } from "./types.ts";

/** The part of the WebSocket API (browsers, Node 22, the `ws` package) the feed uses. */
export interface WebSocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}
export type WebSocketCtor = new (url: string) => WebSocketLike;

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export type FeedState = "idle" | "connecting" | "live" | "reconnecting" | "polling" | "stopped";

export interface FeedStatus {
  state: FeedState;
  /** What carries events now. */
  transport: "websocket" | "polling" | null;
  /** Reconnect attempts since the last `ready`. */
  attempt: number;
  seq: number | null;
  lastClose?: { code: number; reason: string };
  /** Milliseconds until the next WebSocket attempt, when one is scheduled. */
  retryInMs?: number;
}

export interface FeedEvents extends Record<string, unknown> {
  state: FeedStatus;
  event: ServerEvent;
  baseline: { seq: number; reason: "first" | "resync_required" | "reset" };
  error: Error;
}

export interface FeedOptions {
  wsUrl: string;
  userId: string;
  transport: Transport;
  WebSocket?: WebSocketCtor;
  /** null: keep the seq in memory only. Default: globalThis.localStorage where available. */
  storage?: StorageLike | null;
  backoff?: { initialMs?: number; maxMs?: number };
  pollIntervalMs?: number;
  pollLimit?: number;
  /** Upgrades in a row that never opened before polling starts (default 2). */
  wsFailuresBeforePolling?: number;
  /** An upgrade neither open nor closed after this long counts as failed (default 5000). */
  openTimeoutMs?: number;
  random?: () => number;
}

/** What the client does on each close code (README "Web clients"). */
export const CLOSE_ACTIONS: Record<number, { action: "resume" | "refresh-token" | "backoff"; fast: boolean; meaning: string }> = {
  1000: { action: "backoff", fast: false, meaning: "normal closure by the server" },
  1001: { action: "resume", fast: true, meaning: "server going away: reconnect (elsewhere) with since" },
  1006: { action: "backoff", fast: false, meaning: "connection dropped without a close frame" },
  1008: { action: "backoff", fast: false, meaning: "policy (flood): the client sends nothing, so back off and resume" },
  1009: { action: "backoff", fast: false, meaning: "frame too big: back off and resume" },
  1011: { action: "backoff", fast: false, meaning: "internal server error: back off and resume with since" },
  1012: { action: "resume", fast: true, meaning: "feed restarted: resume with since at once (jittered)" },
  4000: { action: "resume", fast: true, meaning: "the client saw a gap in seq and resumes from its last seq" },
  4001: { action: "refresh-token", fast: true, meaning: "token expired: getToken({refresh:true}), resume with since" },
  4008: { action: "resume", fast: true, meaning: "slow consumer: resume with since" },
};

const GAP_CLOSE = 4000;

export class Feed extends Emitter<FeedEvents> {
  private ws: WebSocketLike | null = null;
  private opened = false;
  private status: FeedStatus = { state: "idle", transport: null, attempt: 0, seq: null };
  private seqValue: number | null;
  private failuresBeforeOpen = 0;
  private refreshToken = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private openTimer: ReturnType<typeof setTimeout> | undefined;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private polling = false;
  /** Between deciding to open a socket and having it (the token is being fetched). */
  private connecting = false;
  private pollGeneration = 0;
  private stopped = true;
  private readonly storage: StorageLike | null;
  private readonly storageKey: string;
  private readonly WS: WebSocketCtor | undefined;
  private readonly initialMs: number;
  private readonly maxMs: number;

  private readonly o: FeedOptions;

  constructor(o: FeedOptions) {
    super();
    this.o = o;
    this.storage = o.storage === undefined ? defaultStorage() : o.storage;
    this.storageKey = `taskstream.seq.${o.userId}`;
    this.WS = o.WebSocket ?? (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
    this.initialMs = o.backoff?.initialMs ?? 250;
    this.maxMs = o.backoff?.maxMs ?? 15_000;
    const stored = this.storage?.getItem(this.storageKey);
    this.seqValue = stored && /^\d+$/.test(stored) ? Number(stored) : null;
    this.status.seq = this.seqValue;
  }

  /** The last seq delivered (or the baseline), null before the first connection. */
  get seq(): number | null {
    return this.seqValue;
  }

  get state(): FeedStatus {
    return { ...this.status };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.setState({ state: "connecting", transport: null, attempt: 0 });
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.openTimer);
    this.stopPolling();
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, "client stopped");
    this.setState({ state: "stopped", transport: null });
  }

  /** Forgets the stored seq (e.g. on sign-out): the next start is a fresh baseline. */
  forget(): void {
    this.seqValue = null;
    this.storage?.removeItem(this.storageKey);
  }

  /** Skips the backoff wait and tries the WebSocket now (e.g. when the browser comes back online). */
  reconnectNow(): void {
    if (this.stopped || this.ws || this.connecting) return;
    clearTimeout(this.reconnectTimer);
    void this.connect();
  }

  private setState(patch: Partial<FeedStatus>) {
    const next: FeedStatus = { ...this.status, ...patch, seq: this.seqValue };
    if (!("retryInMs" in patch)) delete next.retryInMs;
    this.status = next;
    this.emit("state", { ...next });
  }

  private saveSeq(seq: number) {
    this.seqValue = seq;
    try {
      this.storage?.setItem(this.storageKey, String(seq));
    } catch {
      // Storage full or denied (private mode): the seq stays in memory.
    }
  }

  private baseline(seq: number, reason: FeedEvents["baseline"]["reason"]) {
    this.saveSeq(seq);
    this.emit("baseline", { seq, reason });
  }

  /** The one gate every event passes. Returns false on a gap (the caller resumes from the last seq). */
  private deliver(event: ServerEvent): boolean {
    const seq = event.seq;
    if (typeof seq !== "number") return true;
    if (this.seqValue !== null && seq <= this.seqValue) return true;
    if (this.seqValue !== null && seq > this.seqValue + 1) return false;
    this.saveSeq(seq);
    this.emit("event", event);
    return true;
  }

  private async connect(): Promise<void> {
    if (this.stopped || this.connecting || this.ws) return;
    if (!this.WS) {
      this.startPolling();
      return;
    }
    let token: string;
    this.connecting = true;
    try {
      token = await this.o.transport.getToken(this.refreshToken);
      this.refreshToken = false;
    } catch (err) {
      this.emit("error", err as Error);
      this.scheduleReconnect(false);
      return;
    } finally {
      this.connecting = false;
    }
    if (this.stopped || this.ws) return;
    const since = this.seqValue === null ? "" : `&since=${this.seqValue}`;
    const url = `${this.o.wsUrl.replace(/\/+$/, "")}/api/ws/${encodeURIComponent(this.o.userId)}?token=${encodeURIComponent(token)}${since}`;
    let ws: WebSocketLike;
    try {
      ws = new this.WS(url);
    } catch (err) {
      this.emit("error", err as Error);
      this.onClose(null, 1006, "could not open");
      return;
    }
    this.ws = ws;
    this.opened = false;
    this.openTimer = setTimeout(() => {
      if (this.ws === ws && !this.opened) {
        ws.close();
        this.onClose(ws, 1006, "open timed out");
      }
    }, this.o.openTimeoutMs ?? 5000);
    ws.onopen = () => {
      if (this.ws !== ws) return;
      clearTimeout(this.openTimer);
      this.opened = true;
      this.failuresBeforeOpen = 0;
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.onMessage(ws, ev.data);
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => this.onClose(ws, ev.code, ev.reason);
  }

  private onMessage(ws: WebSocketLike, data: unknown) {
    let msg: { type?: string; seq?: number };
    try {
      msg = JSON.parse(typeof data === "string" ? data : String(data));
    } catch {
      return;
    }
    if (msg.type === "ready") {
      const latest = Number(msg.seq ?? 0);
      if (this.seqValue === null) this.baseline(latest, "first");
      else if (latest < this.seqValue) this.baseline(latest, "reset");
      if (this.polling) this.stopPolling();
      this.setState({ state: "live", transport: "websocket", attempt: 0 });
      return;
    }
    if (msg.type === "resync_required") {
      this.baseline(Number(msg.seq ?? 0), "resync_required");
      return;
    }
    if (!this.deliver(msg as ServerEvent)) {
      // A gap: resume from the last seq delivered; the replay fills it.
      ws.close(GAP_CLOSE, "gap in seq");
      this.onClose(ws, GAP_CLOSE, "gap in seq");
    }
  }

  private onClose(ws: WebSocketLike | null, code: number, reason: string) {
    if (ws !== null && this.ws !== ws) return;
    clearTimeout(this.openTimer);
    this.ws = null;
    if (this.stopped) return;
    const wasOpen = this.opened;
    this.opened = false;
    this.status.lastClose = { code, reason };
    if (!wasOpen) {
      // Refused, blocked or unreachable: the browser does not say which. After a few in a row the
      // polling endpoint carries the events (and its 401, if any, refreshes the token).
      this.failuresBeforeOpen++;
      if (this.failuresBeforeOpen >= (this.o.wsFailuresBeforePolling ?? 2)) this.startPolling();
      if (this.failuresBeforeOpen >= 2) this.refreshToken = true;
      this.scheduleReconnect(false);
      return;
    }
    const rule = CLOSE_ACTIONS[code] ?? { action: "backoff", fast: false };
    if (rule.action === "refresh-token") this.refreshToken = true;
    this.scheduleReconnect(rule.fast);
  }

  private scheduleReconnect(fast: boolean) {
    if (this.stopped) return;
    const attempt = this.status.attempt;
    // Fast: a restart or a shed connection; jitter spreads the reconnects of every client at once.
    const delay = fast && attempt === 0 ? Math.round((this.o.random ?? Math.random)() * this.initialMs) : this.delayFor(attempt);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
    this.setState({
      state: this.polling ? "polling" : "reconnecting",
      transport: this.polling ? "polling" : null,
      attempt: attempt + 1,
      retryInMs: delay,
    });
  }

  private delayFor(attempt: number): number {
    // Full jitter, but never below a tenth of the initial delay.
    return Math.max(Math.round(this.initialMs / 10), backoffDelay(attempt, this.initialMs, this.maxMs, this.o.random));
  }

  private startPolling() {
    if (this.polling || this.stopped) return;
    this.polling = true;
    const generation = ++this.pollGeneration;
    this.setState({ state: "polling", transport: "polling" });
    void this.pollLoop(generation);
  }

  private stopPolling() {
    this.polling = false;
    this.pollGeneration++;
    clearTimeout(this.pollTimer);
  }

  private async pollLoop(generation: number) {
    let errors = 0;
    while (this.polling && generation === this.pollGeneration && !this.stopped) {
      let wait = this.o.pollIntervalMs ?? 1000;
      try {
        const fresh = this.seqValue === null;
        const limit = this.o.pollLimit ?? 500;
        const { body } = await this.o.transport.request<{ type?: string; events: ServerEvent[]; seq: number }>(
          "GET",
          `/api/${encodeURIComponent(this.o.userId)}/events`,
          { query: { since: this.seqValue ?? 0, limit: fresh ? 1 : limit } },
        );
        if (generation !== this.pollGeneration) return;
        errors = 0;
        if (fresh) this.baseline(body.seq, "first");
        else if (body.type === "resync_required") this.baseline(body.seq, "resync_required");
        else {
          const delivered = body.events.every((e) => this.deliver(e));
          // More than a page behind (a page stops at `limit` events, or at 1 MiB of them): at once again.
          if (delivered && (body.events.at(-1)?.seq ?? body.seq) < body.seq) wait = 0;
        }
      } catch (err) {
        this.emit("error", err as Error);
        wait = this.delayFor(errors++);
      }
      if (wait > 0) await new Promise<void>((r) => (this.pollTimer = setTimeout(r, wait)));
    }
  }
}

function defaultStorage(): StorageLike | null {
  try {
    const s = (globalThis as { localStorage?: StorageLike }).localStorage;
    return s ?? null;
  } catch {
    return null;
  }
}
