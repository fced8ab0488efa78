/**
 * Reminder specs from the API (`{"before":"PT1H"}` relative to the task's due
 * date, or `{"at":"<ISO instant>"}`) and the instant at which they fire.
 */
import { DateTime, Duration } from "luxon";

export type ReminderSpec =
  | { readonly kind: "before" /** Normalized ISO-8601 duration. */; readonly before: string }
  | { readonly kind: "at"; readonly at: Date };

export type ReminderParseResult =
  | { readonly ok: true; readonly spec: ReminderSpec }
  | { readonly ok: false /** e.g. "reminders[1].before" */; readonly path: string; readonly message: string };

export const MAX_REMINDER_LEAD_DAYS = 365;

// A time part followed by Z or a UTC offset ("2026-05-01" alone names no instant).
const TIME_WITH_OFFSET = /T[^+-]*(Z|[+-]\d{2}(:?\d{2})?)$/i;

/**
 * Validates one reminder. `path` names it in messages ("reminders[0]" inside a
 * task, "reminder" for a single one); `dueDate` is the task's due date, which a
 * `before` reminder needs.
 */
export function parseReminderSpec(input: unknown, options: { readonly path?: string; readonly dueDate: Date | null }): ReminderParseResult {
  const path = options.path ?? "reminder";
  const fail = (field: string, message: string): ReminderParseResult => ({
    ok: false,
    path: field,
    message: `${field} ${message}`,
  });

  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return fail(path, 'must be an object with "before" or "at"');
  }
  const unknownKey = Object.keys(input).find((k) => k !== "before" && k !== "at");
  if (unknownKey !== undefined) return fail(`${path}.${unknownKey}`, 'is not allowed (use "before" or "at")');

  const { before, at } = input as { before?: unknown; at?: unknown };
  if (before !== undefined && at !== undefined) return fail(path, 'must have either "before" or "at", not both');

  if (before !== undefined) {
    const field = `${path}.before`;
    if (typeof before !== "string") return fail(field, 'must be an ISO-8601 duration string like "PT1H"');
    const duration = Duration.fromISO(before);
    if (!duration.isValid) {
      return fail(field, `"${before}" is not an ISO-8601 duration (e.g. "PT1H", "P1D", "P1DT2H30M")`);
    }
    const values = Object.values(duration.toObject());
    if (values.some((v) => v < 0) || values.every((v) => v === 0)) return fail(field, "must be a positive duration");
    // Months and years count as 30 and 365 days here (luxon's casual conversion).
    if (duration.as("days") > MAX_REMINDER_LEAD_DAYS) {
      return fail(field, `must be at most ${MAX_REMINDER_LEAD_DAYS} days`);
    }
    if (options.dueDate === null) return fail(field, "needs due_date");
    return { ok: true, spec: { kind: "before", before: duration.toISO() ?? before } };
  }

  if (at !== undefined) {
    const field = `${path}.at`;
    if (typeof at !== "string") return fail(field, "must be an ISO-8601 date-time string");
    const parsed = DateTime.fromISO(at, { setZone: true });
    if (!parsed.isValid) return fail(field, `"${at}" is not an ISO-8601 date-time`);
    if (!TIME_WITH_OFFSET.test(at)) return fail(field, `"${at}" needs a UTC offset or Z`);
    return { ok: true, spec: { kind: "at", at: parsed.toJSDate() } };
  }

  return fail(path, 'must have "before" or "at"');
}

/** Validates a task's `reminders` list; the first bad entry is reported as `reminders[i]...`. */
export function parseReminderSpecs(
  inputs: readonly unknown[],
  dueDate: Date | null,
): { readonly ok: true; readonly specs: ReminderSpec[] } | Extract<ReminderParseResult, { ok: false }> {
  const specs: ReminderSpec[] = [];
  for (const [i, input] of inputs.entries()) {
    const result = parseReminderSpec(input, { path: `reminders[${i}]`, dueDate });
    if (!result.ok) return result;
    specs.push(result.spec);
  }
  return { ok: true, specs };
}

/**
 * When a reminder fires, or null for a `before` reminder on a task without a
 * due date. Hours, minutes and seconds are exact; days, weeks, months and years
 * are calendar units in `timezone` (so "P1D" before a 09:00 due date fires at
 * 09:00 the day before, even across a DST change). The default "UTC" makes a
 * day exactly 24 hours.
 */
export function reminderFireTime(spec: ReminderSpec, dueDate: Date | null, timezone = "UTC"): Date | null {
  if (spec.kind === "at") return spec.at;
  if (dueDate === null) return null;
  const due = DateTime.fromJSDate(dueDate, { zone: timezone });
  if (!due.isValid) throw new RangeError(`cannot evaluate reminder: ${due.invalidExplanation ?? "invalid due date or timezone"}`);
  return due.minus(Duration.fromISO(spec.before)).toJSDate();
}
