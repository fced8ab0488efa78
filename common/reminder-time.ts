/**
 * Reminder specs from the API (`{"before":"PT1H"}` relative to the task's due
 * date, or `{"at":"<ISO instant>"}`) and the instant at which they fire.
 */
import { DateTime, Duration } from "luxon";
import { INSTANT_RANGE_MESSAGE, isInstantInRange } from "./contracts/formats.ts";

export type ReminderSpec =
  | { readonly kind: "before" /** Normalized ISO-8601 duration. */; readonly before: string }
  | { readonly kind: "at"; readonly at: Date };

export type ReminderParseResult =
  | { readonly ok: true; readonly spec: ReminderSpec }
  | { readonly ok: false /** e.g. "reminders[1].before" */; readonly path: string; readonly message: string };

export const MAX_REMINDER_LEAD_DAYS = 365;

// A time part followed by Z or a UTC offset ("2026-05-01" alone names no instant).
const TIME_WITH_OFFSET = /T[^+-]*(Z|[+-]\d{2}(:?\d{2})?)$/i;

// The parts of a duration luxon accepts once signs are ruled out, and the milliseconds a
// fraction of each counts for in luxon's arithmetic (a year 365 days, a month 30).
const NUMBER = "(\\d+(?:[.,]\\d+)?)";
const DURATION_PARTS = new RegExp(
  `^P(?:${NUMBER}Y)?(?:${NUMBER}M)?(?:${NUMBER}W)?(?:${NUMBER}D)?(?:T(?:${NUMBER}H)?(?:${NUMBER}M)?(?:${NUMBER}S)?)?$`,
);
const PART_UNITS = [
  ["Y", 31_536_000_000n],
  ["M", 2_592_000_000n],
  ["W", 604_800_000n],
  ["D", 86_400_000n],
  ["H", 3_600_000n],
  ["M", 60_000n],
  ["S", 1_000n],
] as const;
const MAX_LEAD_MS = BigInt(MAX_REMINDER_LEAD_DAYS) * 86_400_000n;

/**
 * A duration without signs, read exactly: its length in milliseconds and its normal form, written
 * from the digits given (luxon's own toISO prints tiny values as "5e-7", which it cannot read back,
 * and its parser drops what is finer than a millisecond). "too fine" when a part is not a whole
 * number of milliseconds; null when it is not such a duration.
 */
function readDuration(iso: string): { ms: bigint; normal: string } | "too fine" | null {
  const match = DURATION_PARTS.exec(iso);
  if (match === null) return null;
  let ms = 0n;
  let date = "";
  let time = "";
  for (const [i, [unit, unitMs]] of PART_UNITS.entries()) {
    const [whole = "", fraction = ""] = (match[i + 1] ?? "0").split(/[.,]/);
    const digits = fraction.replace(/0+$/, "");
    const scale = 10n ** BigInt(digits.length);
    const scaled = BigInt(whole + digits) * unitMs;
    if (scaled % scale !== 0n) return "too fine";
    ms += scaled / scale;
    if (scaled === 0n) continue;
    const part = `${BigInt(whole)}${digits ? `.${digits}` : ""}${unit}`;
    if (i < 4) date += part;
    else time += part;
  }
  return { ms, normal: `P${date}${time ? `T${time}` : ""}` };
}

/** Why a reminder cannot fire at `at` (outside the instants a task may carry), or null. */
export function fireTimeProblem(at: Date): string | null {
  return isInstantInRange(at.getTime()) ? null : `would fire at ${at.toISOString()}, but reminder times ${INSTANT_RANGE_MESSAGE}`;
}

/**
 * Validates one reminder. `path` names it in messages ("reminders[0]" inside a
 * task, "reminder" for a single one); `dueDate` is the task's due date, which a
 * `before` reminder needs, and `timezone` the task's (default "UTC"), in which
 * its fire time is checked.
 */
export function parseReminderSpec(
  input: unknown,
  options: { readonly path?: string; readonly dueDate: Date | null; readonly timezone?: string },
): ReminderParseResult {
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
    const notIso = () => fail(field, `"${before}" is not an ISO-8601 duration (e.g. "PT1H", "P1D", "P1DT2H30M")`);
    if (!Duration.fromISO(before).isValid) return notIso();
    if (before.includes("-")) return fail(field, "must be a positive duration");
    const read = readDuration(before);
    if (read === null) return notIso();
    if (read === "too fine") return fail(field, "is finer than a millisecond (at most 3 decimals of a second)");
    if (read.ms === 0n) return fail(field, "must be a positive duration");
    // Months and years count as 30 and 365 days here (luxon's casual conversion).
    if (read.ms > MAX_LEAD_MS) return fail(field, `must be at most ${MAX_REMINDER_LEAD_DAYS} days`);
    if (options.dueDate === null) return fail(field, "needs due_date");
    const spec = { kind: "before", before: read.normal } as const;
    const problem = fireTimeProblem(reminderFireTime(spec, options.dueDate, options.timezone) as Date);
    if (problem) return fail(field, problem);
    return { ok: true, spec };
  }

  if (at !== undefined) {
    const field = `${path}.at`;
    if (typeof at !== "string") return fail(field, "must be an ISO-8601 date-time string");
    const parsed = DateTime.fromISO(at, { setZone: true });
    if (!parsed.isValid) return fail(field, `"${at}" is not an ISO-8601 date-time`);
    if (!TIME_WITH_OFFSET.test(at)) return fail(field, `"${at}" needs a UTC offset or Z`);
    if (!isInstantInRange(parsed.toMillis())) return fail(field, INSTANT_RANGE_MESSAGE);
    return { ok: true, spec: { kind: "at", at: parsed.toJSDate() } };
  }

  return fail(path, 'must have "before" or "at"');
}

/** Validates a task's `reminders` list; the first bad entry is reported as `reminders[i]...`. */
export function parseReminderSpecs(
  inputs: readonly unknown[],
  dueDate: Date | null,
  timezone?: string,
): { readonly ok: true; readonly specs: ReminderSpec[] } | Extract<ReminderParseResult, { ok: false }> {
  const specs: ReminderSpec[] = [];
  for (const [i, input] of inputs.entries()) {
    const result = parseReminderSpec(input, { path: `reminders[${i}]`, dueDate, ...(timezone !== undefined ? { timezone } : {}) });
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
  const before = Duration.fromISO(spec.before);
  if (!before.isValid) throw new RangeError(`cannot evaluate reminder: "${spec.before}" is not an ISO-8601 duration`);
  return due.minus(before).toJSDate();
}
