/**
 * The state the domain rules work on: a user's tasks (with their tags by name and reminders),
 * tags and timezone. Pure data; the projection in PostgreSQL stores exactly this.
 */
import type { ReminderSpec } from "../contracts/events.ts";
import type { ReminderView, TaskView } from "../contracts/task-view.ts";

/** A reminder as the projection keeps it: the API's view plus its bookkeeping. */
export interface Reminder extends ReminderView {
  notified_at?: string | null;
  /** When the reminder was added (the projection keeps it; the API does not show it). */
  created_at?: string;
}

/** A task as the API returns it (CONTRACT.md "A task"; tags by name, sorted), reminders notified or not. */
/** A reminder as an event carries it (the projection's state of it left out). */
export const reminderSpecOf = ({ id, before, at, remind_at }: Reminder): ReminderSpec => ({
  id,
  ...(before !== undefined ? { before } : {}),
  ...(at !== undefined ? { at } : {}),
  remind_at,
});

export interface Task extends Omit<TaskView, "reminders"> {
  reminders: Reminder[];
  /**
   * Whether a recurring task moves with the user's timezone: true when created without one of
   * its own, false when created with one, null when created before this was recorded (then a
   * series in the user's timezone does). The projection keeps it; the API does not show it.
   */
  follows_user_timezone?: boolean | null;
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
export function taskView({ follows_user_timezone: _f, ...task }: Task): Task {
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
