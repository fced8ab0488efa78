/**
 * /openapi.json, generated from the routes ingest registered and the TypeBox schemas that
 * validate them (ingest/schemas.ts) and the events they produce (common/contracts).
 */
import type { TSchema } from "@sinclair/typebox";
import { TaskEvent, WireEvent } from "../common/contracts/index.ts";
import { responses as r } from "./responses.ts";
import {
  AttachTag,
  CreateTag,
  CreateTask,
  EventsQuery,
  HistoryQuery,
  ListQuery,
  ListTasksQuery,
  PageQuery,
  ReminderInput,
  Settings,
  UpdateTag,
  UpdateTask,
} from "./schemas.ts";

export const registeredRoutes: { method: string; path: string }[] = [];

const patterns = new Map<string, RegExp>();
/** The methods the registered routes take on `path` (a concrete path: `/api/alice/tasks`). */
export function methodsOf(path: string): string[] {
  const methods = new Set<string>();
  for (const r of registeredRoutes) {
    let re = patterns.get(r.path);
    if (!re) {
      re = new RegExp(`^${r.path.replace(/:\w+/g, "[^/]+")}$`);
      patterns.set(r.path, re);
    }
    if (re.test(path)) methods.add(r.method.toUpperCase());
  }
  if (methods.has("GET")) methods.add("HEAD");
  return [...methods].sort();
}

/** Request and response schemas by route; writes.int.test.ts checks every route is here and answers as it says. */
export const routeSchemas: Record<string, { summary: string; body?: TSchema; query?: TSchema; response: object }> = {
  "POST /api/:user_id/tasks": { summary: "Create a task", body: CreateTask, response: r.taskWrite },
  "GET /api/:user_id/tasks": { summary: "List, search, filter and sort tasks", query: ListTasksQuery, response: r.taskList },
  "GET /api/:user_id/tasks/:task_id": { summary: "One task with its tags and pending reminders", response: r.task },
  "PATCH /api/:user_id/tasks/:task_id": { summary: "Update fields of a task", body: UpdateTask, response: r.taskWrite },
  "PUT /api/:user_id/tasks/:task_id": { summary: "Update fields of a task (same as PATCH)", body: UpdateTask, response: r.taskWrite },
  "DELETE /api/:user_id/tasks/:task_id": { summary: "Delete a task; cancels its reminders and recurrence", response: r.taskWrite },
  "POST /api/:user_id/tasks/:task_id/complete": { summary: "Mark a task completed", response: r.taskWrite },
  "POST /api/:user_id/tasks/:task_id/uncomplete": { summary: "Reopen a completed task", response: r.taskWrite },
  "POST /api/:user_id/tasks/:task_id/skip-occurrence": { summary: "Skip the next occurrence of a recurring task", response: r.taskWrite },
  "GET /api/:user_id/tasks/:task_id/history": {
    summary: "Every event of a task, oldest first, in pages",
    query: HistoryQuery,
    response: r.history,
  },
  "POST /api/:user_id/tasks/:task_id/reminders": { summary: "Add a reminder", body: ReminderInput, response: r.reminderWrite },
  "DELETE /api/:user_id/tasks/:task_id/reminders/:reminder_id": { summary: "Remove a reminder", response: r.reminderWrite },
  "GET /api/:user_id/reminders": { summary: "Pending reminders of all tasks, soonest first", query: ListQuery, response: r.reminderList },
  "GET /api/:user_id/tags": { summary: "The user's tags, by name (case-insensitive)", query: ListQuery, response: r.tagList },
  "POST /api/:user_id/tags": { summary: "Create a tag", body: CreateTag, response: r.tagWrite },
  "PATCH /api/:user_id/tags/:tag_id": { summary: "Rename or recolour a tag", body: UpdateTag, response: r.tagWrite },
  "PUT /api/:user_id/tags/:tag_id": { summary: "Rename or recolour a tag (same as PATCH)", body: UpdateTag, response: r.tagWrite },
  "DELETE /api/:user_id/tags/:tag_id": { summary: "Delete a tag", response: r.tagWrite },
  "POST /api/:user_id/tasks/:task_id/tags": { summary: "Tag a task (by tag_id or name)", body: AttachTag, response: r.taskWrite },
  "DELETE /api/:user_id/tasks/:task_id/tags/:tag_id": { summary: "Untag a task", response: r.taskWrite },
  "GET /api/:user_id/settings": { summary: "The user's settings", response: r.settings },
  "PUT /api/:user_id/settings": {
    summary: "Change the user's timezone; future recurrences follow it",
    body: Settings,
    response: r.settingsWrite,
  },
  "GET /api/:user_id/activity-logs": { summary: "Activity feed, newest first", query: PageQuery, response: r.activity },
  "GET /api/:user_id/events": { summary: "Polling fallback: events after `since`, oldest first", query: EventsQuery, response: r.events },
};

const ErrorBody = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: {
        code: { type: "string" },
        message: { type: "string" },
        details: { type: "array", items: { type: "object", properties: { path: { type: "string" }, message: { type: "string" } } } },
      },
      required: ["code", "message", "details"],
    },
  },
};

export function openApiDocument(): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const { method, path } of registeredRoutes) {
    const key = `${method.toUpperCase()} ${path}`;
    const spec = routeSchemas[key];
    const oaPath = path.replace(/:(\w+)/g, "{$1}");
    const params = [...path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    const query = spec?.query
      ? Object.entries((spec.query as unknown as { properties: Record<string, TSchema> }).properties).map(([name, schema]) => ({
          name,
          in: "query",
          required: false,
          schema,
        }))
      : [];
    const isWrite = method !== "get";
    const body = spec ? { content: { "application/json": { schema: spec.response } } } : {};
    const operations = paths[oaPath] ?? {};
    paths[oaPath] = operations;
    operations[method] = {
      summary: spec?.summary ?? key,
      security: [{ bearer: [] }],
      parameters: [
        ...params,
        ...query,
        ...(isWrite ? [{ name: "Idempotency-Key", in: "header", required: false, schema: { type: "string", maxLength: 200 } }] : []),
      ],
      ...(spec?.body ? { requestBody: { required: true, content: { "application/json": { schema: spec.body } } } } : {}),
      responses: {
        [isWrite ? "202" : "200"]: {
          description: isWrite
            ? "Accepted: the resource as it will be once applied, event_id, correlation_id, queued (a task, tag or settings write that changes nothing: the resource as it is, event_id null, no event)"
            : "OK",
          ...body,
        },
        ...Object.fromEntries(
          ["400", "401", "403", "404", "405", "408", "409", "413", "415", "429", "431", "503"].map((s) => [
            s,
            {
              description: "Error",
              // 429, a 503 when the broker and the fallback queue are both unavailable, and a 409 for an
              // Idempotency-Key whose first request is still in progress say when to retry.
              ...(s === "429" || s === "503" || s === "409"
                ? { headers: { "Retry-After": { schema: { type: "integer" }, description: "Seconds to wait" } } }
                : {}),
              content: { "application/json": { schema: ErrorBody } },
            },
          ]),
        ),
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "taskstream",
      version: "1.0.0",
      description:
        "Event-driven real-time task API. Events as clients receive them (WebSocket ws://host:FANOUT_PORT/api/ws/{user_id}, GET /events): components.schemas.WireEvent; as written to the broker: TaskEvent.",
    },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } }, schemas: { TaskEvent, WireEvent } },
    paths,
  };
}
