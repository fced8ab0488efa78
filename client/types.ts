/**
 * The client's types, taken from the server's own contracts (type-only imports: nothing of the
 * server is bundled). Requests: ingest/schemas.ts; events: common/contracts; responses: the
 * storage views the API serialises.
 */
import type { AppliedEvent, EventType, Priority, RejectReason, TaskEvent } from "../common/contracts/events.ts";
import type { CreateTask, UpdateTask } from "../ingest/schemas.ts";
import type { ReminderView, TaskView } from "../storage/queries/tasks.ts";
import type { ActivityView, TagView } from "../storage/queries/user-data.ts";

export type { AppliedEvent, CreateTask, EventType, Priority, RejectReason, TaskEvent, UpdateTask };
export type Task = TaskView;
export type Reminder = ReminderView;
export type Tag = TagView;
export type Activity = ActivityView;

/** `write.rejected` (CONTRACT.md "Events"): a write accepted with 202 that could not be applied. */
export type WriteRejected = Extract<AppliedEvent, { event_type: "write.rejected" }>;

/** What the WebSocket and the polling endpoint carry: the envelope plus `type`. */
export type ServerEvent = AppliedEvent & { type: string };

/** The answer to every accepted write. */
export interface WriteResult<K extends string, T> {
  status: number;
  event_id: string | null;
  correlation_id: string;
  queued: boolean;
  resource: T;
  kind: K;
}

export interface ListTasksQuery {
  search?: string;
  status?: "pending" | "completed" | "all";
  priority?: Priority | Priority[];
  due_date_start?: string;
  due_date_end?: string;
  tags?: string[];
  sort_by?: "created_at" | "due_date" | "priority" | "title";
  sort_order?: "asc" | "desc";
  limit?: number;
  cursor?: string;
}
