/**
 * The state the domain rules work on: a user's tasks (with their tags by name and reminders),
 * tags and timezone. Pure data; the projection in PostgreSQL stores exactly this.
 */
import type { Priority, RecurrenceMode } from "../contracts/events.ts";

export interface Reminder {
  id: string;
  /** ISO-8601 duration before the task's due date, or… */
  before?: string;
  /** …an absolute instant. */
  at?: string;
  remind_at: string;
  notified: boolean;
  notified_at?: string | null;
  /** When the reminder was added (the projection keeps it; the API does not show it). */
  created_at?: string;
}

/** A task as the API returns it (CONTRACT.md "A task"), reminders notified or not. */
export interface Task {
  id: string;
  user_id: string;
  title: string;
  description: string | null;
  status: "pending" | "completed";
  priority: Priority;
  due_date: string | null;
  timezone: string;
  recurrence_rule: string | null;
  /** Absent: `schedule` (the projection always stores one). */
  recurrence_mode?: RecurrenceMode;
  next_occurrence: string | null;
  parent_task_id: string | null;
  /** Tag names, sorted. */
  tags: string[];
  reminders: Reminder[];
  version: number;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export interface Tag {
  id: string;
  name: string;
  color: string | null;
  created_at: string;
  updated_at: string;
}

/**
 * What the rules know of one user. `tasks` holds the tasks loaded (a `null` entry: known not to
 * exist); `tags` is every tag of the user, or null when not loaded (then tag names are taken as
 * written). `versions` holds each aggregate's last version.
 */
export interface UserState {
  id: string;
  timezone: string;
  tasks: ReadonlyMap<string, Task | null>;
  tags: ReadonlyMap<string, Tag> | null;
  versions: ReadonlyMap<string, number>;
  /** Task ids that exist but belong to another user (only a hostile record names one). */
  taken?: ReadonlySet<string>;
}

export const emptyUser = (id: string, timezone = "UTC"): UserState => ({
  id,
  timezone,
  tasks: new Map(),
  tags: new Map(),
  versions: new Map(),
});

/** The task as the API shows it: reminders not notified yet, without the projection's bookkeeping. */
export function taskView(task: Task): Task {
  return {
    ...task,
    reminders: task.reminders
      .filter((r) => !r.notified)
      .map(({ notified_at: _n, created_at: _c, ...r }) => r)
      .sort((a, b) => instant(a.remind_at) - instant(b.remind_at)),
  };
}

/** Comparison of two instants given as ISO strings (any offset). */
export const instant = (iso: string): number => Date.parse(iso);
