/**
 * The live dashboard: plain DOM on @taskstream/client. The list renders from the client's local
 * view (optimistic writes at once, reconciled by the events); filters and sort apply locally.
 */
import { ApiRequestError, type Client, createClient, type ServerEvent, type Task, tokenSubject } from "../client/index.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const store = window.localStorage;
const params = new URLSearchParams(location.search);
const defaults = {
  api: params.get("api") ?? store.getItem("taskstream.api") ?? `${location.protocol}//${location.hostname}:8080`,
  ws: params.get("ws") ?? store.getItem("taskstream.ws") ?? `${location.protocol === "https:" ? "wss" : "ws"}://${location.hostname}:8090`,
};

let client: Client | undefined;
let renderQueued = false;
const PRIORITY_RANK = { low: 0, medium: 1, high: 2, urgent: 3 } as const;

// ---------- sign-in ----------
$<HTMLInputElement>("api-url").value = defaults.api;
$<HTMLInputElement>("ws-url").value = defaults.ws;
const saved = store.getItem("taskstream.token");
if (saved) void signIn(saved);

$("dev-token").addEventListener("click", async () => {
  const user = $<HTMLInputElement>("dev-user").value.trim();
  const res = await fetch(`/dev-token?user=${encodeURIComponent(user)}`).catch(() => null);
  if (!res?.ok) {
    $("signin-error").textContent = "No dev token endpoint here (it exists only on `make dev`'s dashboard server): paste a token.";
    return;
  }
  $<HTMLTextAreaElement>("token").value = (await res.json()).token;
});

$("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  void signIn($<HTMLTextAreaElement>("token").value.trim());
});

$("signout").addEventListener("click", () => {
  client?.feed?.forget();
  client?.stop();
  client = undefined;
  store.removeItem("taskstream.token");
  location.reload();
});

async function signIn(token: string) {
  let user: string;
  try {
    user = tokenSubject(token);
  } catch {
    $("signin-error").textContent = "That is not a token.";
    return;
  }
  const api = $<HTMLInputElement>("api-url").value.trim() || defaults.api;
  const ws = $<HTMLInputElement>("ws-url").value.trim() || defaults.ws;
  // After a 401 or a 4001 close the client asks for a fresh token: the dev server can mint one
  // for the same user; anywhere else the user signs in again.
  let current = token;
  const getToken = async ({ refresh }: { refresh: boolean }) => {
    if (!refresh || !expired(current)) return current;
    const res = await fetch(`/dev-token?user=${encodeURIComponent(user)}`).catch(() => null);
    if (res?.ok) {
      current = (await res.json()).token as string;
      store.setItem("taskstream.token", current);
      return current;
    }
    sessionExpired();
    throw new Error("session expired: sign in again");
  };
  const c = createClient({ baseUrl: api, wsUrl: ws, getToken });
  try {
    await c.settings.get();
  } catch (err) {
    $("signin-error").textContent = err instanceof ApiRequestError ? `${err.status}: ${err.message}` : `Cannot reach ${api}`;
    store.removeItem("taskstream.token");
    return;
  }
  store.setItem("taskstream.token", token);
  store.setItem("taskstream.api", api);
  store.setItem("taskstream.ws", ws);
  client = c;
  (window as unknown as { taskstream: Client }).taskstream = c;
  $("who").textContent = user;
  $("signin-view").hidden = true;
  $("app-view").hidden = false;
  $("signout").hidden = false;
  c.view.on("change", scheduleRender);
  c.view.on("reminder", ({ task, event }) => note(`Reminder: ${event.data.title}${event.data.late ? " (late)" : ""}`, task?.id));
  c.view.on("rejected", (r) => toast(`Not saved (${r.reason}): ${r.message}`));
  c.view.on("activity", (e) => activity(e));
  const feed = await c.start();
  feed.on("state", (s) => {
    const el = $("conn");
    el.dataset.state = s.state;
    el.textContent = s.state === "live" ? "live" : s.state === "polling" ? "polling (no WebSocket)" : s.state;
  });
  const status = feed.state;
  $("conn").dataset.state = status.state;
  $("conn").textContent = status.state;
  window.addEventListener("online", () => feed.reconnectNow());
  const past = await c.activity({ limit: 30 }).catch(() => ({ activity: [] }));
  for (const a of past.activity.reverse()) addActivity(a.summary || a.action, a.created_at);
  $<HTMLInputElement>("new-title").focus();
}

function expired(token: string): boolean {
  try {
    const exp = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))).exp as number;
    return exp * 1000 <= Date.now() + 5000;
  } catch {
    return true;
  }
}

function sessionExpired() {
  client?.stop();
  client = undefined;
  store.removeItem("taskstream.token");
  $("app-view").hidden = true;
  $("signin-view").hidden = false;
  $("signin-error").textContent = "Your session expired: sign in again.";
}

// ---------- writes ----------
const fromLocal = (v: string): string | null => (v ? new Date(v).toISOString() : null);
const toLocal = (iso: string | null): string => {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
};
const tagList = (v: string) =>
  v
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);

async function attempt(what: string, fn: () => Promise<unknown>) {
  try {
    await fn();
  } catch (err) {
    toast(`${what} failed: ${err instanceof ApiRequestError ? err.message : String(err)}`);
  }
}

$("new-reminder").addEventListener("change", () => {
  $("create").classList.toggle("with-at", $<HTMLSelectElement>("new-reminder").value === "at");
});

$("create").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = new FormData(e.target as HTMLFormElement);
  const title = String(f.get("title") ?? "").trim();
  if (!title || !client) return;
  const due = fromLocal(String(f.get("due") ?? ""));
  const reminder = String(f.get("reminder") ?? "");
  const remindAt = fromLocal(String(f.get("remind-at") ?? ""));
  const repeat = String(f.get("repeat") ?? "");
  const reminders = reminder === "at" ? (remindAt ? [{ at: remindAt }] : []) : reminder && due ? [{ before: reminder }] : [];
  const c = client;
  void attempt("Adding the task", () =>
    c.tasks.create({
      title,
      priority: String(f.get("priority")) as Task["priority"],
      ...(due ? { due_date: due } : {}),
      ...(tagList(String(f.get("tags") ?? "")).length ? { tags: tagList(String(f.get("tags"))) } : {}),
      ...(reminders.length ? { reminders } : {}),
      ...(repeat ? { recurrence_rule: repeat } : {}),
    }),
  );
  $<HTMLInputElement>("new-title").value = "";
  $<HTMLInputElement>("new-title").focus();
});

let editing: string | null = null;
function openEdit(task: Task) {
  editing = task.id;
  $<HTMLInputElement>("edit-name").value = task.title;
  $<HTMLTextAreaElement>("edit-description").value = task.description ?? "";
  $<HTMLSelectElement>("edit-priority").value = task.priority;
  $<HTMLInputElement>("edit-due").value = toLocal(task.due_date);
  $<HTMLInputElement>("edit-tags").value = task.tags.join(", ");
  $<HTMLSelectElement>("edit-repeat").value = task.recurrence_rule?.match(/FREQ=\w+/)?.[0] ?? "";
  $<HTMLDialogElement>("edit").showModal();
}
$("edit-cancel").addEventListener("click", () => $<HTMLDialogElement>("edit").close());
$("edit-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const task = editing ? client?.view.get(editing) : undefined;
  $<HTMLDialogElement>("edit").close();
  if (!task || !client) return;
  const repeat = $<HTMLSelectElement>("edit-repeat").value;
  const c = client;
  void attempt("Saving", () =>
    c.tasks.update(task.id, {
      title: $<HTMLInputElement>("edit-name").value.trim() || task.title,
      description: $<HTMLTextAreaElement>("edit-description").value || null,
      priority: $<HTMLSelectElement>("edit-priority").value as Task["priority"],
      due_date: fromLocal($<HTMLInputElement>("edit-due").value),
      tags: tagList($<HTMLInputElement>("edit-tags").value),
      recurrence_rule: repeat ? (task.recurrence_rule?.startsWith(repeat) ? task.recurrence_rule : repeat) : null,
    }),
  );
});

$("list").addEventListener("click", (e) => {
  const button = (e.target as HTMLElement).closest("button");
  const id = (e.target as HTMLElement).closest<HTMLElement>("[data-task-id]")?.dataset.taskId;
  const task = id ? client?.view.get(id) : undefined;
  if (!button || !task || !client) return;
  const c = client;
  if (button.dataset.action === "edit") openEdit(task);
  if (button.dataset.action === "delete") void attempt("Deleting", () => c.tasks.delete(task.id));
  if (button.dataset.action === "skip") void attempt("Skipping", () => c.tasks.skipOccurrence(task.id));
});
$("list").addEventListener("change", (e) => {
  const box = e.target as HTMLInputElement;
  const id = box.closest<HTMLElement>("[data-task-id]")?.dataset.taskId;
  if (!id || !client || box.type !== "checkbox") return;
  const c = client;
  void attempt("Updating", () => (box.checked ? c.tasks.complete(id) : c.tasks.uncomplete(id)));
});

// ---------- rendering ----------
for (const id of ["search", "filter-status", "filter-priority", "filter-tag", "sort"])
  $(id).addEventListener(id === "search" ? "input" : "change", scheduleRender);

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function visibleTasks(): Task[] {
  if (!client) return [];
  const q = $<HTMLInputElement>("search").value.trim().toLowerCase();
  const status = $<HTMLSelectElement>("filter-status").value;
  const priority = $<HTMLSelectElement>("filter-priority").value;
  const tag = $<HTMLSelectElement>("filter-tag").value.toLowerCase();
  const [sortBy, order] = $<HTMLSelectElement>("sort").value.split(":") as [string, string];
  const dir = order === "desc" ? -1 : 1;
  const key = (t: Task): string | number =>
    sortBy === "priority"
      ? PRIORITY_RANK[t.priority]
      : sortBy === "title"
        ? t.title.toLowerCase()
        : sortBy === "due_date"
          ? (t.due_date ?? "9999")
          : t.created_at;
  return client.view.tasks
    .filter((t) => status === "all" || t.status === status)
    .filter((t) => !priority || t.priority === priority)
    .filter((t) => !tag || t.tags.some((x) => x.toLowerCase() === tag))
    .filter((t) => !q || `${t.title} ${t.description ?? ""} ${t.tags.join(" ")}`.toLowerCase().includes(q))
    .sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      return ka < kb ? -dir : ka > kb ? dir : a.id < b.id ? -1 : 1;
    });
}

const fmt = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });

function render() {
  if (!client) return;
  const tasks = visibleTasks();
  const list = $("list");
  const items = tasks.map((t) => {
    const li = document.createElement("li");
    li.className = "task";
    li.dataset.taskId = t.id;
    li.dataset.status = t.status;
    li.dataset.pending = String(client!.view.isPending(t.id));
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = t.status === "completed";
    box.id = `done-${t.id}`;
    const body = document.createElement("div");
    const label = document.createElement("label");
    label.htmlFor = box.id;
    label.className = "title";
    label.textContent = t.title;
    const meta = document.createElement("div");
    meta.className = "meta";
    const span = (text: string, cls = "") => {
      const s = document.createElement("span");
      s.textContent = text;
      if (cls) s.className = cls;
      meta.append(s);
    };
    span(t.priority, `badge p-${t.priority}`);
    if (t.due_date) span(`due ${fmt(t.due_date)}`);
    if (t.recurrence_rule)
      span(`repeats ${t.recurrence_rule.replace("FREQ=", "").toLowerCase()}${t.next_occurrence ? `, next ${fmt(t.next_occurrence)}` : ""}`);
    if (t.parent_task_id) span("occurrence");
    for (const r of t.reminders) span(`reminder ${fmt(r.remind_at)}`);
    for (const tag of t.tags) span(`#${tag}`, "tag");
    if (li.dataset.pending === "true") span("saving…");
    body.append(label, meta);
    const actions = document.createElement("div");
    actions.className = "actions";
    const button = (action: string, text: string) => {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.action = action;
      b.textContent = text;
      b.setAttribute("aria-label", `${text} “${t.title}”`);
      actions.append(b);
    };
    button("edit", "Edit");
    if (t.recurrence_rule && t.next_occurrence) button("skip", "Skip next");
    button("delete", "Delete");
    li.append(box, body, actions);
    return li;
  });
  const focused = document.activeElement?.id;
  list.replaceChildren(...items);
  if (focused?.startsWith("done-")) document.getElementById(focused)?.focus();
  $("empty").hidden = tasks.length > 0;
  $("count").textContent = `(${tasks.length} of ${client.view.tasks.length})`;
  const tagSelect = $<HTMLSelectElement>("filter-tag");
  const names = [...new Set(client.view.tasks.flatMap((t) => t.tags))].sort();
  if (tagSelect.options.length - 1 !== names.length) {
    const current = tagSelect.value;
    tagSelect.replaceChildren(new Option("any", ""), ...names.map((n) => new Option(n, n)));
    tagSelect.value = names.includes(current) ? current : "";
  }
}

// ---------- side panels ----------
function note(text: string, taskId?: string) {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  if (taskId) li.dataset.taskId = taskId;
  $("notes").prepend(li);
}

function toast(text: string) {
  const div = document.createElement("div");
  div.className = "toast";
  div.textContent = text;
  $("toasts").append(div);
  setTimeout(() => div.remove(), 6000);
}

const DESCRIBE: Record<string, (e: ServerEvent) => string> = {
  "task.created": (e) => `created “${(e.data as { task: { title: string } }).task.title}”`,
  "task.updated": (e) => `updated ${Object.keys((e.data as { changes: object }).changes).join(", ")}`,
  "task.completed": () => "completed a task",
  "task.uncompleted": () => "reopened a task",
  "task.deleted": () => "deleted a task",
  "recurring.spawned": (e) => `new occurrence “${(e.data as { task: { title: string } }).task.title}”`,
  "reminder.triggered": (e) => `reminder “${(e.data as { title: string }).title}”`,
  "write.rejected": (e) => `rejected: ${(e.data as { message: string }).message}`,
};
function activity(e: ServerEvent) {
  addActivity(DESCRIBE[e.event_type]?.(e) ?? e.event_type, e.timestamp);
}
function addActivity(text: string, at: string) {
  const li = document.createElement("li");
  li.textContent = `${new Date(at).toLocaleTimeString()} ${text}`;
  const list = $("activity");
  list.prepend(li);
  while (list.children.length > 100) list.lastElementChild?.remove();
}
