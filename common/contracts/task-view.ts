/**
 * The task a task.created event makes, as the API returns it: one rule for ingest's 202 answer
 * and the client library's local view. Pure and free of runtime imports, so browsers bundle it.
 */
import type { Priority, RecurrenceMode, TaskFields } from "./events.ts";

/** A pending reminder of a task, as the API returns it. */
export interface ReminderView {
  id: string;
  before?: string;
  at?: string;
  remind_at: string;
  notified: boolean;
}

/** A task as the API returns it (CONTRACT.md "A task"); storage/queries/tasks.ts reads rows of this shape. */
export interface TaskView {
  id: string;
  user_id: string;
  title: string;
  description: string | null;
  status: "pending" | "completed";
  priority: Priority;
  due_date: string | null;
  timezone: string;
  recurrence_rule: string | null;
  /** Always set by the server; optional in the type so views built before the field existed still fit. */
  recurrence_mode?: RecurrenceMode;
  next_occurrence: string | null;
  parent_task_id: string | null;
  tags: string[];
  reminders: ReminderView[];
  version: number;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export function createdTaskView(userId: string, id: string, f: TaskFields, timestamp: string, version = 1): TaskView {
  return {
    id,
    user_id: userId,
    title: f.title,
    description: f.description,
    status: "pending",
    priority: f.priority,
    due_date: f.due_date,
    timezone: f.timezone,
    recurrence_rule: f.recurrence_rule,
    recurrence_mode: f.recurrence_mode ?? "schedule",
    next_occurrence: f.next_occurrence,
    parent_task_id: f.parent_task_id,
    tags: [...f.tags].sort(),
    reminders: f.reminders.map((r) => ({ ...r, notified: false })),
    version,
    created_at: timestamp,
    updated_at: timestamp,
    completed_at: null,
  };
}
