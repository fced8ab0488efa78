/**
 * @taskstream/client: typed calls for every route of the HTTP API, a live feed that resumes
 * without loss, and a local view that shows writes at once and reconciles them with the events.
 * Runs in browsers and Node 22 (Node 20: pass `WebSocket` from the `ws` package).
 *
 *   const client = createClient({ baseUrl, wsUrl, getToken });
 *   client.view.on("change", render);
 *   await client.start();
 *   await client.tasks.create({ title: "Pay rent" });
 */
import { Feed, type FeedOptions, type StorageLike, type WebSocketCtor } from "./feed.ts";
import { type FetchLike, type GetToken, type RetryPolicy, Transport } from "./http.ts";
import type { Activity, CreateTask, ListTasksQuery, Reminder, ServerEvent, Tag, Task, UpdateTask } from "./types.ts";
import { TaskView } from "./view.ts";

export { CLOSE_ACTIONS, Feed, type FeedState, type FeedStatus, type StorageLike, type WebSocketLike } from "./feed.ts";
export { ApiRequestError, backoffDelay, type GetToken, uuid } from "./http.ts";
export * from "./types.ts";
export { type PendingWrite, TaskView } from "./view.ts";

export interface ClientOptions {
  /** The ingest's base URL, e.g. http://localhost:8080 */
  baseUrl: string;
  /** The fan-out's base URL, e.g. ws://localhost:8090. Default: baseUrl with ws(s):// and the same host. */
  wsUrl?: string;
  /** Returns a token; `refresh: true` after a 401 or a 4001 close asks for a new one. */
  getToken: GetToken;
  /** Default: the token's `sub`. */
  userId?: string;
  WebSocket?: WebSocketCtor;
  fetch?: FetchLike;
  storage?: StorageLike | null;
  retry?: Partial<RetryPolicy>;
  feed?: Pick<FeedOptions, "backoff" | "pollIntervalMs" | "pollLimit" | "wsFailuresBeforePolling" | "openTimeoutMs">;
}

export interface Write<K extends string, T> {
  event_id: string | null;
  correlation_id: string;
  queued: boolean;
  status: number;
  value: T;
  kind: K;
}

export interface WriteOptions {
  /** Default: a fresh UUID per call (a retry inside the call reuses it). */
  idempotencyKey?: string;
}

/** The token's `sub`, read without verifying (the server verifies). */
export function tokenSubject(token: string): string {
  const part = token.split(".")[1] ?? "";
  const b64 = part
    .replace(/-/g, "+")
    .replace(/_/g, "/")
    .padEnd(Math.ceil(part.length / 4) * 4, "=");
  const json = decodeURIComponent([...atob(b64)].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join(""));
  const sub = (JSON.parse(json) as { sub?: unknown }).sub;
  if (typeof sub !== "string" || !sub) throw new Error("the token has no sub");
  return sub;
}

type Body<K extends string, T> = { [P in K]: T } & { event_id: string | null; correlation_id: string; queued: boolean };

export function createClient(options: ClientOptions) {
  const transport = new Transport({
    baseUrl: options.baseUrl,
    getToken: options.getToken,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
  });
  const wsUrl = options.wsUrl ?? options.baseUrl.replace(/^http/, "ws");
  let userId = options.userId;
  const user = async () => {
    userId ??= tokenSubject(await transport.getToken());
    return encodeURIComponent(userId);
  };
  const view = new TaskView();
  let feed: Feed | undefined;

  const get = async <T>(path: string, query?: Record<string, string | number | undefined>) =>
    (await transport.request<T>("GET", `/api/${await user()}${path}`, query ? { query } : {})).body;

  async function write<K extends string, T>(
    kind: K,
    method: string,
    path: string,
    body: unknown,
    opts: WriteOptions = {},
  ): Promise<Write<K, T>> {
    const res = await transport.request<Body<K, T>>(method, `/api/${await user()}${path}`, {
      ...(body !== undefined ? { body } : {}),
      ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}),
    });
    const b = res.body;
    return { status: res.status, event_id: b.event_id, correlation_id: b.correlation_id, queued: b.queued, value: b[kind], kind };
  }

  /** A task write: laid over the view at once, confirmed or rolled back by its event. */
  async function taskWrite(kind: string, method: string, path: string, body: unknown, opts?: WriteOptions, deletes = false) {
    const w = await write<"task", Task>("task", method, path, body, opts);
    if (w.event_id && w.value)
      view.optimistic({ eventId: w.event_id, correlationId: w.correlation_id, kind, taskId: w.value.id, task: deletes ? null : w.value });
    return w;
  }

  const id = encodeURIComponent;
  const tasks = {
    list: (q: ListTasksQuery = {}) =>
      get<{ tasks: Task[]; next_cursor: string | null }>("/tasks", {
        ...q,
        priority: Array.isArray(q.priority) ? q.priority.join(",") : q.priority,
        tags: q.tags?.join(","),
      }),
    /** Every page of a list (follows next_cursor), up to `max` tasks. */
    async listAll(q: Omit<ListTasksQuery, "cursor" | "limit"> = {}, max = 5000): Promise<Task[]> {
      const out: Task[] = [];
      let cursor: string | undefined;
      do {
        const page = await tasks.list({ ...q, limit: 200, ...(cursor ? { cursor } : {}) });
        out.push(...page.tasks);
        cursor = page.next_cursor ?? undefined;
      } while (cursor && out.length < max);
      return out;
    },
    get: async (taskId: string) => (await get<{ task: Task }>(`/tasks/${id(taskId)}`)).task,
    /** Every event of the task, oldest first (follows the pages: `next_after`). */
    async history(taskId: string): Promise<ServerEvent[]> {
      const out: ServerEvent[] = [];
      let after: number | null = 0;
      while (after !== null) {
        const page: { events: ServerEvent[]; next_after: number | null } = await get(
          `/tasks/${id(taskId)}/history${after ? `?after=${after}` : ""}`,
        );
        out.push(...page.events);
        // A server without pages (no next_after), or one that did not move on, ends it.
        after = page.next_after != null && page.next_after > after ? page.next_after : null;
      }
      return out;
    },
    create: (input: CreateTask, o?: WriteOptions) => taskWrite("create", "POST", "/tasks", input, o),
    update: (taskId: string, patch: UpdateTask, o?: WriteOptions) => taskWrite("update", "PATCH", `/tasks/${id(taskId)}`, patch, o),
    replace: (taskId: string, patch: UpdateTask, o?: WriteOptions) => taskWrite("update", "PUT", `/tasks/${id(taskId)}`, patch, o),
    delete: (taskId: string, o?: WriteOptions) => taskWrite("delete", "DELETE", `/tasks/${id(taskId)}`, undefined, o, true),
    complete: (taskId: string, o?: WriteOptions) => taskWrite("complete", "POST", `/tasks/${id(taskId)}/complete`, undefined, o),
    uncomplete: (taskId: string, o?: WriteOptions) => taskWrite("uncomplete", "POST", `/tasks/${id(taskId)}/uncomplete`, undefined, o),
    skipOccurrence: (taskId: string, o?: WriteOptions) => taskWrite("skip", "POST", `/tasks/${id(taskId)}/skip-occurrence`, undefined, o),
    attachTag: (taskId: string, tag: { tag_id: string } | { name: string }, o?: WriteOptions) =>
      taskWrite("tag", "POST", `/tasks/${id(taskId)}/tags`, tag, o),
    detachTag: (taskId: string, tagId: string, o?: WriteOptions) =>
      taskWrite("untag", "DELETE", `/tasks/${id(taskId)}/tags/${id(tagId)}`, undefined, o),
  };

  const reminders = {
    list: async () => (await get<{ reminders: (Reminder & { task_id: string })[] }>("/reminders")).reminders,
    add: (taskId: string, input: { before: string } | { at: string }, o?: WriteOptions) =>
      write<"reminder", Reminder & { task_id: string }>("reminder", "POST", `/tasks/${id(taskId)}/reminders`, input, o),
    delete: (taskId: string, reminderId: string, o?: WriteOptions) =>
      write<"reminder", Reminder & { task_id: string }>(
        "reminder",
        "DELETE",
        `/tasks/${id(taskId)}/reminders/${id(reminderId)}`,
        undefined,
        o,
      ),
  };

  const tags = {
    list: async () => (await get<{ tags: Tag[] }>("/tags")).tags,
    create: (input: { name: string; color?: string | null }, o?: WriteOptions) => write<"tag", Tag>("tag", "POST", "/tags", input, o),
    update: (tagId: string, patch: { name?: string; color?: string | null }, o?: WriteOptions) =>
      write<"tag", Tag>("tag", "PATCH", `/tags/${id(tagId)}`, patch, o),
    delete: (tagId: string, o?: WriteOptions) => write<"tag", Tag>("tag", "DELETE", `/tags/${id(tagId)}`, undefined, o),
  };

  const settings = {
    get: async () => (await get<{ settings: { timezone: string } }>("/settings")).settings,
    update: (s: { timezone: string }, o?: WriteOptions) => write<"settings", { timezone: string }>("settings", "PUT", "/settings", s, o),
  };

  /** The activity feed, newest first; page with `cursor` (next_cursor), or with `offset` (next_offset, absent when paging by cursor). */
  const activity = (q: { limit?: number; offset?: number; cursor?: string } = {}) =>
    get<{ activity: Activity[]; next_cursor: string | null; next_offset?: number | null }>("/activity-logs", q);
  /** The polling endpoint itself (the feed uses it when WebSockets are blocked). */
  const events = (q: { since?: number; limit?: number } = {}) =>
    get<{ type?: "resync_required"; events: ServerEvent[]; seq: number }>("/events", q);

  const reloadView = () => view.reload(async () => ({ tasks: await tasks.listAll({ status: "all" }), tags: await tags.list() }));

  return {
    get userId() {
      return userId;
    },
    tasks,
    reminders,
    tags,
    settings,
    activity,
    events,
    openapi: async () => (await transport.request<unknown>("GET", "/openapi.json")).body,
    /** The local, live view (filled by start()). */
    view,
    /** The live feed (created by start()). */
    get feed(): Feed | undefined {
      return feed;
    },
    /** Loads the view over HTTP and starts the live feed; the view follows it from then on. */
    async start(): Promise<Feed> {
      if (!feed) {
        await user();
        feed = new Feed({
          wsUrl,
          userId: userId!,
          transport,
          ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
          ...(options.storage !== undefined ? { storage: options.storage } : {}),
          ...options.feed,
        });
        feed.on("event", (e) => view.apply(e));
        feed.on("baseline", () => void reloadView().catch(() => {}));
      }
      const hadSeq = feed.seq !== null;
      feed.start();
      // With a stored seq the feed resumes (no baseline): the snapshot is loaded here instead.
      if (hadSeq) await reloadView();
      return feed;
    },
    reload: reloadView,
    stop() {
      feed?.stop();
    },
  };
}

export type Client = ReturnType<typeof createClient>;
