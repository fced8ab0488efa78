/**
 * The task a task.created event makes, as the API returns it: one rule for ingest's 202 answer
 * and the client library's local view. Pure and free of runtime imports, so browsers bundle it.
 */
import type { TaskView } from "../../storage/queries/tasks.ts";
import type { TaskFields } from "./events.ts";

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
