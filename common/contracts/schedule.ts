/**
 * Schedule changes: what the processors hand the scheduler, in the same PostgreSQL transaction as
 * the events that caused them (the table `schedule_changes`, storage/queries/schedule-changes.ts).
 * One row per task holds its latest desired schedule; the scheduler makes BullMQ match it and
 * never re-reads the projection for it. Processors produce these, the scheduler consumes them.
 */
import { type Static, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import "./formats.ts";

const Instant = Type.String({ format: "date-time" });

/** A task's scheduling state: what decides which delayed jobs it needs (scheduler/plan.ts desiredJobs). */
export const TaskSchedule = Type.Object(
  {
    status: Type.Union([Type.Literal("pending"), Type.Literal("completed")]),
    recurrence_rule: Type.Union([Type.String(), Type.Null()]),
    next_occurrence: Type.Union([Instant, Type.Null()]),
    /**
     * When the occurrence job fires: the lead time before next_occurrence its instance is spawned
     * at (common/series.ts spawnTime). Absent (older rows): at next_occurrence.
     */
    spawn_at: Type.Optional(Instant),
    /** Reminders not notified yet (a completed task keeps them, but they need no jobs). */
    reminders: Type.Array(Type.Object({ id: Type.String({ format: "uuid" }), remind_at: Instant }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type TaskSchedule = Static<typeof TaskSchedule>;

/**
 * The latest desired schedule of one task. `schedule: null` means the task needs no jobs at all
 * (deleted, completed without a series, no pending reminder and no next occurrence): the scheduler
 * removes whatever jobs it still indexes for it. `version` is the task's version when the change
 * was recorded (its delete event's version for a deleted task); a row never goes back to a lower one.
 */
export interface ScheduleChange {
  task_id: string;
  user_id: string;
  version: number;
  schedule: TaskSchedule | null;
}

const checkSchedule = TypeCompiler.Compile(TaskSchedule);
/** True when `v` is a TaskSchedule (a row read back is checked, not cast). */
export const isTaskSchedule = (v: unknown): v is TaskSchedule => checkSchedule.Check(v);

/** Whether a task in this state needs any job (the rule of scheduler/plan.ts desiredJobs, without the planning). */
export const needsJobs = (s: TaskSchedule): boolean =>
  (s.status === "pending" && s.reminders.length > 0) || (s.recurrence_rule !== null && s.next_occurrence !== null);

/** The schedule to record for a task's state: null when it needs no job. */
export const scheduleOrNull = (s: TaskSchedule | null): TaskSchedule | null => (s && needsJobs(s) ? s : null);
