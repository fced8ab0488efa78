/**
 * The client's state machines without a server: the feed (reconnect, resume, gap, polling and
 * back, token refresh per close code), the transport (idempotent retries) and the view
 * (optimistic writes, reconciliation, write.rejected, snapshots).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Feed, type WebSocketLike } from "./feed.ts";
import { backoffDelay, type FetchLike, Transport } from "./http.ts";
import type { ServerEvent, Task } from "./types.ts";
import { TaskView } from "./view.ts";

class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  onopen: WebSocketLike["onopen"] = null;
  onmessage: WebSocketLike["onmessage"] = null;
  onclose: WebSocketLike["onclose"] = null;
  onerror: WebSocketLike["onerror"] = null;
  closedWith: number | undefined;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  get since(): number | null {
    const m = /since=(\d+)/.exec(this.url);
    return m ? Number(m[1]) : null;
  }
  get token(): string {
    return /token=([^&]+)/.exec(this.url)![1]!;
  }
  open() {
    this.onopen?.({});
  }
  send(msg: object) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  serverClose(code: number, reason = "") {
    this.onclose?.({ code, reason });
  }
  close(code?: number) {
    this.closedWith = code ?? 1000;
  }
}
const last = () => FakeSocket.all[FakeSocket.all.length - 1]!;

const ev = (seq: number, over: Partial<ServerEvent> = {}): ServerEvent =>
  ({
    type: "task.completed",
    event_type: "task.completed",
    event_id: `e${seq}`,
    schema_version: "1.0.0",
    user_id: "alice",
    aggregate_id: "t1",
    version: seq,
    seq,
    timestamp: new Date(0).toISOString(),
    correlation_id: "c",
    data: { completed_at: new Date(0).toISOString() },
    ...over,
  }) as ServerEvent;

class MemoryStorage {
  map = new Map<string, string>();
  getItem = (k: string) => this.map.get(k) ?? null;
  setItem = (k: string, v: string) => void this.map.set(k, v);
  removeItem = (k: string) => void this.map.delete(k);
}

function setup(opts: { fetch?: FetchLike; storage?: MemoryStorage } = {}) {
  let tokens = 0;
  const getToken = vi.fn(({ refresh }: { refresh: boolean }) => `tok${++tokens}${refresh ? "r" : ""}`);
  const fetch: FetchLike =
    opts.fetch ??
    (async () => {
      throw new Error("no HTTP in this test");
    });
  const transport = new Transport({ baseUrl: "http://api", getToken, fetch });
  const storage = opts.storage ?? new MemoryStorage();
  const feed = new Feed({
    wsUrl: "ws://fanout",
    userId: "alice",
    transport,
    WebSocket: FakeSocket,
    storage,
    backoff: { initialMs: 100, maxMs: 2000 },
    pollIntervalMs: 500,
    random: () => 0.5,
  });
  const events: ServerEvent[] = [];
  const baselines: string[] = [];
  const states: string[] = [];
  feed.on("event", (e) => events.push(e));
  feed.on("baseline", (b) => baselines.push(`${b.reason}@${b.seq}`));
  feed.on("state", (s) => states.push(s.state));
  return { feed, events, baselines, states, storage, getToken };
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.all = [];
});
afterEach(() => {
  vi.useRealTimers();
});

describe("feed over the WebSocket", () => {
  it("connects without since, takes ready's seq as the baseline, then delivers in order and drops duplicates", async () => {
    const { feed, events, baselines, storage } = setup();
    feed.start();
    await vi.advanceTimersByTimeAsync(0);
    const ws = last();
    expect(ws.url).toBe("ws://fanout/api/ws/alice?token=tok1");
    ws.open();
    ws.send({ type: "ready", seq: 7 });
    expect(baselines).toEqual(["first@7"]);
    expect(feed.state.state).toBe("live");
    ws.send(ev(8));
    ws.send(ev(8));
    ws.send(ev(7));
    ws.send(ev(9));
    expect(events.map((e) => e.seq)).toEqual([8, 9]);
    expect(storage.getItem("taskstream.seq.alice")).toBe("9");
  });

  it("resumes from the stored seq after a page reload, and re-baselines when the server was reset", async () => {
    const storage = new MemoryStorage();
    storage.setItem("taskstream.seq.alice", "41");
    const { feed, baselines } = setup({ storage });
    feed.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(last().since).toBe(41);
    last().open();
    last().send({ type: "ready", seq: 3 });
    expect(baselines).toEqual(["reset@3"]);
    expect(feed.seq).toBe(3);
  });

  it("on a gap closes and resumes from the last delivered seq", async () => {
    const { feed, events } = setup();
    feed.start();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    last().send({ type: "ready", seq: 1 });
    last().send(ev(2));
    const first = last();
    first.send(ev(4));
    expect(first.closedWith).toBe(4000);
    expect(events.map((e) => e.seq)).toEqual([2]);
    await vi.advanceTimersByTimeAsync(100);
    expect(FakeSocket.all).toHaveLength(2);
    expect(last().since).toBe(2);
  });

  it.each([1001, 1012, 4008])("close %i resumes with since after a short jittered delay", async (code) => {
    const { feed, events } = setup();
    feed.start();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    last().send({ type: "ready", seq: 5 });
    last().send(ev(6));
    last().serverClose(code);
    expect(feed.state).toMatchObject({ state: "reconnecting", retryInMs: 50 });
    await vi.advanceTimersByTimeAsync(50);
    expect(last().since).toBe(6);
    last().open();
    last().send(ev(6));
    last().send(ev(7));
    last().send({ type: "ready", seq: 7 });
    expect(events.map((e) => e.seq)).toEqual([6, 7]);
    expect(feed.state).toMatchObject({ state: "live", attempt: 0 });
  });

  it("close 4001 asks getToken for a fresh token and resumes with it", async () => {
    const { feed, getToken } = setup();
    feed.start();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    last().send({ type: "ready", seq: 2 });
    last().serverClose(4001, "token expired");
    await vi.advanceTimersByTimeAsync(100);
    expect(getToken).toHaveBeenLastCalledWith({ refresh: true });
    expect(last().token).toBe("tok2r");
    expect(last().since).toBe(2);
  });

  it.each([1008, 1009, 1011, 1006])("close %i backs off exponentially with jitter, capped", async (code) => {
    const { feed } = setup();
    feed.start();
    await vi.advanceTimersByTimeAsync(0);
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      last().open();
      last().serverClose(code);
      delays.push(feed.state.retryInMs!);
      await vi.advanceTimersByTimeAsync(feed.state.retryInMs!);
    }
    // random() = 0.5: half of min(2000, 100·2^n)
    expect(delays).toEqual([50, 100, 200, 400, 800, 1000, 1000]);
    last().open();
    last().send({ type: "ready", seq: 0 });
    expect(feed.state.attempt).toBe(0);
  });

  it("resync_required makes a new baseline", async () => {
    const storage = new MemoryStorage();
    storage.setItem("taskstream.seq.alice", "1");
    const { feed, baselines } = setup({ storage });
    feed.start();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    last().send({ type: "resync_required", seq: 900 });
    last().send({ type: "ready", seq: 900 });
    expect(baselines).toEqual(["resync_required@900"]);
    expect(feed.seq).toBe(900);
  });

  it("reconnectNow() skips the wait but never opens a second socket", async () => {
    const { feed } = setup();
    feed.start();
    feed.reconnectNow(); // while the first token is being fetched
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.all).toHaveLength(1);
    last().open();
    last().serverClose(1011);
    expect(feed.state.retryInMs).toBeGreaterThan(0);
    feed.reconnectNow();
    feed.reconnectNow();
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.all).toHaveLength(2);
    last().open();
    last().send({ type: "ready", seq: 0 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(2);
    expect(feed.state.state).toBe("live");
  });

  it("stop() closes with 1000 and never reconnects", async () => {
    const { feed } = setup();
    feed.start();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    feed.stop();
    expect(last().closedWith).toBe(1000);
    last().serverClose(1000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(feed.state.state).toBe("stopped");
  });
});

describe("feed falling back to polling", () => {
  it("polls when upgrades never open, delivers the same events, and goes back to the WebSocket", async () => {
    const polled: string[] = [];
    let serverSeq = 3;
    const fetch: FetchLike = async (url) => {
      polled.push(url);
      const since = Number(/since=(\d+)/.exec(url)![1]);
      const events: ServerEvent[] = [];
      for (let s = since + 1; s <= serverSeq; s++) events.push(ev(s));
      return { status: 200, headers: { get: () => null }, text: async () => JSON.stringify({ events, seq: serverSeq }) };
    };
    const storage = new MemoryStorage();
    storage.setItem("taskstream.seq.alice", "1");
    const { feed, events } = setup({ fetch, storage });
    feed.start();
    await vi.advanceTimersByTimeAsync(0);
    last().serverClose(1006); // blocked: never opened
    expect(feed.state.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(feed.state.retryInMs!);
    last().serverClose(1006);
    await vi.advanceTimersByTimeAsync(0);
    expect(feed.state).toMatchObject({ state: "polling", transport: "polling" });
    expect(polled[0]).toBe("http://api/api/alice/events?since=1&limit=500");
    expect(events.map((e) => e.seq)).toEqual([2, 3]);
    serverSeq = 5;
    await vi.advanceTimersByTimeAsync(500);
    expect(events.map((e) => e.seq)).toEqual([2, 3, 4, 5]);
    // The WebSocket probe (sent while polling, from seq 3) now works: its replay overlaps what
    // polling delivered and is dropped, and polling stops at ready.
    const probe = last();
    expect(FakeSocket.all).toHaveLength(3);
    expect(probe.since).toBe(3);
    probe.open();
    probe.send(ev(4));
    probe.send(ev(5));
    probe.send({ type: "ready", seq: 5 });
    probe.send(ev(6));
    expect(events.map((e) => e.seq)).toEqual([2, 3, 4, 5, 6]);
    expect(feed.state).toMatchObject({ state: "live", transport: "websocket" });
    const polls = polled.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(polled.length).toBe(polls);
  });

  it("a fresh client with no seq takes the polled latest seq as its baseline", async () => {
    const fetch: FetchLike = async () => ({
      status: 200,
      headers: { get: () => null },
      text: async () => JSON.stringify({ events: [ev(1)], seq: 12 }),
    });
    const { feed, events, baselines } = setup({ fetch });
    feed.start();
    await vi.advanceTimersByTimeAsync(0);
    last().serverClose(1006);
    await vi.advanceTimersByTimeAsync(feed.state.retryInMs!);
    last().serverClose(1006);
    await vi.advanceTimersByTimeAsync(0);
    expect(baselines).toEqual(["first@12"]);
    expect(events).toEqual([]);
  });
});

describe("transport", () => {
  it("retries a write with the same Idempotency-Key and body after 503 and network errors", async () => {
    vi.useRealTimers();
    const seen: { key?: string; body?: string }[] = [];
    let n = 0;
    const fetch: FetchLike = async (_url, init) => {
      seen.push({ key: init.headers["idempotency-key"], body: init.body });
      n++;
      if (n === 1) throw new TypeError("network");
      if (n === 2) return { status: 503, headers: { get: (h) => (h === "retry-after" ? "0" : null) }, text: async () => "{}" };
      return { status: 202, headers: { get: () => null }, text: async () => '{"ok":true}' };
    };
    const t = new Transport({ baseUrl: "http://api", getToken: () => "t", fetch, retry: { baseDelayMs: 1 } });
    const res = await t.request("POST", "/api/a/tasks", { body: { title: "x" } });
    expect(res.status).toBe(202);
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.key)).size).toBe(1);
    expect(seen[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(seen.map((s) => s.body))).toEqual(new Set(['{"title":"x"}']));
  });

  it("retries a 409 that says when (the key's first request still in progress), and not another 409", async () => {
    vi.useRealTimers();
    const answers = [
      { status: 409, retryAfter: "0", body: '{"error":{"code":"conflict","message":"wait","details":[]}}' },
      { status: 202, retryAfter: null, body: '{"ok":true}' },
    ];
    let calls = 0;
    const fetch: FetchLike = async () => {
      const a = answers[calls++] ?? { status: 409, retryAfter: null, body: '{"error":{"code":"conflict","message":"taken","details":[]}}' };
      return { status: a.status, headers: { get: (h) => (h === "retry-after" ? a.retryAfter : null) }, text: async () => a.body };
    };
    const t = new Transport({ baseUrl: "http://api", getToken: () => "t", fetch, retry: { baseDelayMs: 1 } });
    expect((await t.request("POST", "/api/a/tasks", { body: { title: "x" } })).status).toBe(202);
    expect(calls).toBe(2);
    await expect(t.request("POST", "/api/a/tags", { body: { name: "x" } })).rejects.toMatchObject({ status: 409, message: "taken" });
    expect(calls).toBe(3);
  });

  it("waits out a claim a crashed ingest left (in-progress 409s for up to 15 s) beyond its attempts, then gives up", async () => {
    vi.useFakeTimers();
    let calls = 0;
    const inProgress: FetchLike = async () => {
      calls++;
      return {
        status: calls <= 12 ? 409 : 202,
        headers: { get: (h) => (h === "retry-after" && calls <= 12 ? "1" : null) },
        text: async () => (calls <= 12 ? '{"error":{"code":"conflict","message":"in progress","details":[]}}' : '{"ok":true}'),
      };
    };
    const t = new Transport({ baseUrl: "http://api", getToken: () => "t", fetch: inProgress, retry: { attempts: 5 } });
    const done = t.request("POST", "/api/a/tasks", { body: { title: "x" } });
    await vi.advanceTimersByTimeAsync(13_000);
    expect((await done).status).toBe(202);
    expect(calls).toBe(13);
    // A claim that never lapses: given up after about 20 s.
    let tries = 0;
    const forever: FetchLike = async () => {
      tries++;
      return {
        status: 409,
        headers: { get: (h) => (h === "retry-after" ? "1" : null) },
        text: async () => '{"error":{"code":"conflict","message":"in progress","details":[]}}',
      };
    };
    const stuck = new Transport({ baseUrl: "http://api", getToken: () => "t", fetch: forever }).request("POST", "/api/a/tasks", {
      body: { title: "y" },
    });
    const settled = stuck.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(25_000);
    expect(await settled).toMatchObject({ status: 409 });
    // About 20 s of 1 s waits, far beyond its 5 attempts, and then no more.
    expect(tries).toBeGreaterThanOrEqual(19);
    expect(tries).toBeLessThanOrEqual(22);
    vi.useRealTimers();
  });

  it("refreshes the token once on 401, and reports the API's error body", async () => {
    vi.useRealTimers();
    const tokens: string[] = [];
    const fetch: FetchLike = async (_url, init) => {
      tokens.push(init.headers.authorization!);
      const status = tokens.length === 1 ? 401 : 404;
      return {
        status,
        headers: { get: () => null },
        text: async () => '{"error":{"code":"not_found","message":"task x not found","details":[]}}',
      };
    };
    const t = new Transport({ baseUrl: "http://api", getToken: ({ refresh }) => (refresh ? "fresh" : "old"), fetch });
    await expect(t.request("GET", "/api/a/tasks/x")).rejects.toMatchObject({ status: 404, code: "not_found" });
    expect(tokens).toEqual(["Bearer old", "Bearer fresh"]);
  });

  it("backoff is full jitter under an exponential cap", () => {
    expect(backoffDelay(0, 100, 1000, () => 1)).toBe(100);
    expect(backoffDelay(3, 100, 1000, () => 1)).toBe(800);
    expect(backoffDelay(10, 100, 1000, () => 1)).toBe(1000);
    expect(backoffDelay(10, 100, 1000, () => 0)).toBe(0);
  });
});

const task = (over: Partial<Task> = {}): Task => ({
  id: "t1",
  user_id: "alice",
  title: "Pay rent",
  description: null,
  status: "pending",
  priority: "medium",
  due_date: null,
  timezone: "UTC",
  recurrence_rule: null,
  next_occurrence: null,
  parent_task_id: null,
  tags: [],
  reminders: [],
  version: 1,
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:00.000Z",
  completed_at: null,
  ...over,
});
const created = (seq: number, id: string, title: string, eventId = `e${seq}`) =>
  ev(seq, {
    type: "task.created",
    event_type: "task.created",
    event_id: eventId,
    aggregate_id: id,
    version: 1,
    data: {
      task: {
        title,
        description: null,
        priority: "medium",
        due_date: null,
        timezone: "UTC",
        recurrence_rule: null,
        next_occurrence: null,
        parent_task_id: null,
        tags: [],
        reminders: [],
      },
    },
  } as Partial<ServerEvent>);
const rejected = (seq: number, of: string, reason = "not_found") =>
  ({
    ...ev(seq),
    type: "write.rejected",
    event_type: "write.rejected",
    event_id: `r${seq}`,
    data: { event_id: of, event_type: "task.updated", correlation_id: "c", reason, message: "task was deleted" },
  }) as unknown as ServerEvent;

describe("local view", () => {
  it("shows a create at once and confirms it with its event", () => {
    const v = new TaskView();
    v.optimistic({ eventId: "e1", correlationId: "c", kind: "create", taskId: "t1", task: task() });
    expect(v.tasks.map((t) => t.title)).toEqual(["Pay rent"]);
    expect(v.isPending("t1")).toBe(true);
    v.apply(created(1, "t1", "Pay rent"));
    expect(v.isPending("t1")).toBe(false);
    expect(v.get("t1")).toMatchObject({ title: "Pay rent", version: 1 });
  });

  it("rolls an update back on write.rejected and says why", () => {
    const v = new TaskView();
    v.apply(created(1, "t1", "Pay rent"));
    v.optimistic({ eventId: "e2", correlationId: "c", kind: "update", taskId: "t1", task: task({ title: "Pay rent!", version: 2 }) });
    expect(v.get("t1")!.title).toBe("Pay rent!");
    const reasons: string[] = [];
    v.on("rejected", (r) => reasons.push(`${r.reason}:${r.pending?.kind}`));
    v.apply(rejected(2, "e2"));
    expect(reasons).toEqual(["not_found:update"]);
    expect(v.get("t1")!.title).toBe("Pay rent");
  });

  it("an event that beats its own 202 is not overlaid afterwards", () => {
    const v = new TaskView();
    v.apply(created(1, "t1", "from the event", "e1"));
    v.optimistic({ eventId: "e1", correlationId: "c", kind: "create", taskId: "t1", task: task({ title: "from the 202" }) });
    expect(v.isPending("t1")).toBe(false);
    expect(v.get("t1")!.title).toBe("from the event");
    v.apply(rejected(2, "e9"));
    v.optimistic({ eventId: "e9", correlationId: "c", kind: "update", taskId: "t1", task: task({ title: "rejected" }) });
    expect(v.get("t1")!.title).toBe("from the event");
  });

  it("a pending delete hides the task even under later pending writes", () => {
    const v = new TaskView();
    v.apply(created(1, "t1", "a"));
    v.optimistic({ eventId: "d", correlationId: "c", kind: "delete", taskId: "t1", task: null });
    v.optimistic({ eventId: "u", correlationId: "c", kind: "update", taskId: "t1", task: task({ title: "b" }) });
    expect(v.get("t1")).toBeUndefined();
    expect(v.tasks).toEqual([]);
  });

  it("a rejected create disappears", () => {
    const v = new TaskView();
    v.optimistic({ eventId: "e1", correlationId: "c", kind: "create", taskId: "t9", task: task({ id: "t9" }) });
    v.apply(rejected(1, "e1", "invalid"));
    expect(v.tasks).toEqual([]);
  });

  it("ignores stale events and keeps deletions over a later snapshot", async () => {
    const v = new TaskView();
    v.apply(created(1, "t1", "a"));
    v.apply(ev(2, { aggregate_id: "t1", version: 2 }));
    v.apply(
      ev(3, { aggregate_id: "t1", version: 2, event_type: "task.uncompleted", type: "task.uncompleted", data: {} } as Partial<ServerEvent>),
    );
    expect(v.get("t1")!.status).toBe("completed");
    v.apply(ev(4, { aggregate_id: "t1", version: 3, event_type: "task.deleted", type: "task.deleted", data: {} } as Partial<ServerEvent>));
    await v.reload(async () => ({ tasks: [task({ id: "t1", version: 2 })] }));
    expect(v.tasks).toEqual([]);
  });

  it("a snapshot drops tasks deleted while away but keeps those events brought during the fetch", async () => {
    const v = new TaskView();
    v.apply(created(1, "gone", "gone"));
    await v.reload(async () => {
      v.apply(created(2, "new", "new"));
      return { tasks: [task({ id: "old", title: "old" })] };
    });
    expect(v.tasks.map((t) => t.id).sort()).toEqual(["new", "old"]);
  });

  it("a tag renamed or deleted is renamed or removed on the tasks that carry it; a deleted series' instances lose their reminders, and go by their own events", async () => {
    const v = new TaskView();
    const reminder = { id: "r1", before: "PT1H", remind_at: "2030-01-01T00:00:00.000Z", notified: false };
    await v.reload(async () => ({
      tasks: [
        task({ id: "a", tags: ["Alpha", "beta"] }),
        task({ id: "b", tags: ["beta"] }),
        task({ id: "s", recurrence_rule: "FREQ=DAILY", reminders: [reminder] }),
        task({ id: "i", parent_task_id: "s", reminders: [reminder] }),
        task({ id: "done", parent_task_id: "s", status: "completed", reminders: [reminder] }),
      ],
      tags: [{ id: "tA", name: "Alpha", color: null, created_at: "2026-01-01T00:00:00.000Z" }],
    }));
    const tagEvent = (seq: number, type: "tag.updated" | "tag.deleted", data: object) =>
      ev(seq, { event_type: type, type, aggregate_id: "tA", data } as Partial<ServerEvent>);
    v.apply(tagEvent(1, "tag.updated", { changes: { name: { old: "Alpha", new: "zeta" } } }));
    expect([v.get("a")?.tags, v.get("b")?.tags, v.tags.get("tA")?.name]).toEqual([["beta", "zeta"], ["beta"], "zeta"]);
    v.apply(tagEvent(2, "tag.deleted", {}));
    expect([v.get("a")?.tags, v.tags.has("tA")]).toEqual([["beta"], false]);
    v.apply(ev(3, { event_type: "task.deleted", type: "task.deleted", aggregate_id: "s", version: 2, data: {} } as Partial<ServerEvent>));
    expect([v.get("s"), v.get("i")?.reminders, v.get("done")?.reminders]).toEqual([undefined, [], [reminder]]);
    v.apply(ev(4, { event_type: "task.deleted", type: "task.deleted", aggregate_id: "i", version: 2, data: {} } as Partial<ServerEvent>));
    expect([v.get("i"), v.get("done")?.status]).toEqual([undefined, "completed"]);
    // A rename that arrives while a snapshot is fetched (the snapshot read before it, same version) stands.
    v.tags.set("tB", { id: "tB", name: "beta", color: null, created_at: "2026-01-01T00:00:00.000Z" });
    await v.reload(async () => {
      v.apply(
        ev(5, {
          event_type: "tag.updated",
          type: "tag.updated",
          aggregate_id: "tB",
          data: { changes: { name: { old: "beta", new: "gamma" } } },
        } as Partial<ServerEvent>),
      );
      return { tasks: [task({ id: "b", tags: ["beta"] })] };
    });
    expect(v.get("b")?.tags).toEqual(["gamma"]);
    // A tag the view never saw made (a task write made it): the applied event names it.
    v.apply(
      ev(6, { event_type: "tag.deleted", type: "tag.deleted", aggregate_id: "tUnseen", data: { name: "gamma" } } as Partial<ServerEvent>),
    );
    expect([v.get("a")?.tags, v.get("b")?.tags]).toEqual([[], []]);
  });

  it("applies updates with their new values and reports fired reminders", () => {
    const v = new TaskView();
    v.apply(created(1, "t1", "a"));
    v.apply(
      ev(2, {
        event_type: "task.updated",
        type: "task.updated",
        version: 2,
        data: { changes: { title: { old: "a", new: "b" }, tags: { old: [], new: ["z", "a"] } } },
      } as Partial<ServerEvent>),
    );
    expect(v.get("t1")).toMatchObject({ title: "b", tags: ["a", "z"], version: 2 });
    const reminders = [
      { id: "r2", at: "2030-01-02T00:00:00.000Z", remind_at: "2030-01-02T00:00:00.000Z" },
      { id: "r1", before: "PT1H", remind_at: "2030-01-01T00:00:00.000Z" },
    ];
    v.apply(
      ev(3, {
        event_type: "task.updated",
        type: "task.updated",
        version: 3,
        data: { changes: { reminders: { old: [], new: reminders } } },
      } as Partial<ServerEvent>),
    );
    expect(v.get("t1")?.reminders).toEqual([
      { id: "r1", before: "PT1H", remind_at: "2030-01-01T00:00:00.000Z", notified: false },
      { id: "r2", at: "2030-01-02T00:00:00.000Z", remind_at: "2030-01-02T00:00:00.000Z", notified: false },
    ]);
    const fired: string[] = [];
    v.on("reminder", (r) => fired.push(r.event.data.title));
    v.apply(
      ev(4, {
        event_type: "reminder.triggered",
        type: "reminder.triggered",
        version: 4,
        data: { reminder_id: "r1", remind_at: "x", fired_at: "x", late: false, title: "b" },
      } as Partial<ServerEvent>),
    );
    expect(fired).toEqual(["b"]);
    // A due date moved: the applied event says where the `before` reminders went.
    v.apply(
      ev(5, {
        event_type: "task.updated",
        type: "task.updated",
        version: 5,
        data: {
          changes: { due_date: { old: "2030-01-01T01:00:00.000Z", new: "2030-02-01T01:00:00.000Z" } },
          moved_reminders: { old: [], new: [{ id: "r1", before: "PT1H", remind_at: "2030-02-01T00:00:00.000Z" }] },
        },
      } as Partial<ServerEvent>),
    );
    expect(v.get("t1")).toMatchObject({
      due_date: "2030-02-01T01:00:00.000Z",
      reminders: [{ id: "r1", before: "PT1H", remind_at: "2030-02-01T00:00:00.000Z", notified: false }],
    });
  });
});
