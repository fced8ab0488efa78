/**
 * Recurrence rules: the CONTRACT.md RRULE subset, parsed strictly and evaluated
 * as wall-clock time in the task's IANA timezone.
 *
 * Evaluation: dtstart is turned into "floating" wall-clock time (the local
 * fields stored in a UTC Date), rrule expands it with no timezone at all, and
 * each result is mapped back to a real instant in the task's zone. So a daily
 * 09:00 task stays at 09:00 local across DST changes.
 *
 * Local times that a DST change makes odd are resolved deterministically:
 * - nonexistent (spring-forward gap): shifted forward by the size of the gap,
 *   e.g. 02:30 on 2026-03-08 in New York becomes 03:30 EDT (as luxon does);
 * - ambiguous (fall-back overlap): the first of the two instants, e.g. 01:30
 *   on 2026-11-01 in New York is 01:30 EDT. luxon's own choice here depends on
 *   the offset at the current date, hence our own resolver.
 */
import { IANAZone } from "luxon";
import rrulePkg from "rrule";
import { MAX_INSTANT_MS } from "./contracts/formats.ts";

// rrule ships a UMD bundle as "main": only the default import works under Node ESM.
const { RRule } = rrulePkg;

export type Frequency = "DAILY" | "WEEKLY" | "MONTHLY";
export type Weekday = "MO" | "TU" | "WE" | "TH" | "FR" | "SA" | "SU";

/** UNTIL is inclusive: a UTC instant, or a calendar date in the task's timezone. */
export type Until =
  | { readonly kind: "instant"; readonly at: Date }
  | { readonly kind: "date"; readonly year: number; readonly month: number; readonly day: number };

export interface RecurrenceRule {
  readonly freq: Frequency;
  readonly interval: number;
  /** WEEKLY only; empty means the weekday of dtstart. */
  readonly byDay: readonly Weekday[];
  /** MONTHLY only; empty means the day of month of dtstart. */
  readonly byMonthDay: readonly number[];
  readonly count: number | null;
  readonly until: Until | null;
}

export type ParseResult =
  | { readonly ok: true; readonly rule: RecurrenceRule; readonly canonical: string }
  | { readonly ok: false; readonly message: string };

export const MAX_INTERVAL = 1000;
export const MAX_COUNT = 100_000;

const FREQUENCIES: readonly Frequency[] = ["DAILY", "WEEKLY", "MONTHLY"];
const WEEKDAYS: readonly Weekday[] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const SUPPORTED_PARTS = new Set(["FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT", "UNTIL"]);
const DAY_MS = 86_400_000;
// Westernmost offset is UTC-12 (instant <= floating + 12h); one hour of margin on top.
const MAX_NEGATIVE_OFFSET_MS = 13 * 3_600_000;

class RuleError extends Error {}

// luxon builds an Intl.DateTimeFormat on every check (~0.3 ms, measured in bench/); zone names are few.
const knownZones = new Map<string, boolean>();
export function isValidTimezone(tz: string): boolean {
  let valid = knownZones.get(tz);
  if (valid === undefined) {
    // Node 22's Intl also accepts UTC offsets ("+05:30") as time zones; the contract asks for IANA names.
    valid = !/^[+-]/.test(tz) && IANAZone.isValidZone(tz);
    if (knownZones.size < 2000) knownZones.set(tz, valid);
  }
  return valid;
}

/** Parses an RRULE value (optionally prefixed by "RRULE:"); names the first bad or unsupported part. */
export function parseRecurrenceRule(input: string): ParseResult {
  try {
    const rule = parseParts(splitParts(input));
    return { ok: true, rule, canonical: formatRecurrenceRule(rule) };
  } catch (err) {
    if (err instanceof RuleError) return { ok: false, message: err.message };
    throw err;
  }
}

/** Canonical form for storage: fixed part order, defaults omitted, lists sorted and deduplicated. */
export function formatRecurrenceRule(rule: RecurrenceRule): string {
  const parts = [`FREQ=${rule.freq}`];
  if (rule.interval !== 1) parts.push(`INTERVAL=${rule.interval}`);
  if (rule.byDay.length > 0) parts.push(`BYDAY=${rule.byDay.join(",")}`);
  if (rule.byMonthDay.length > 0) parts.push(`BYMONTHDAY=${rule.byMonthDay.join(",")}`);
  if (rule.count !== null) parts.push(`COUNT=${rule.count}`);
  if (rule.until !== null) parts.push(`UNTIL=${formatUntil(rule.until)}`);
  return parts.join(";");
}

/**
 * Up to `limit` occurrences strictly after `after` (and before `before`, when given: the search
 * stops there instead of stepping on to `limit`), as UTC instants.
 * `dtstart` is the instant of the first occurrence; its wall-clock time in
 * `timezone` is the time of day of every occurrence. As in rrule.js (and RFC
 * 5545 leaves it undefined), a dtstart that does not match the rule is not an
 * occurrence itself. COUNT counts from dtstart.
 * Throws RangeError on an invalid rule string, timezone, date or limit.
 */
export function occurrencesAfter(
  rule: RecurrenceRule | string,
  dtstart: Date,
  timezone: string,
  after: Date,
  limit: number,
  before?: Date,
): Date[] {
  const parsed = typeof rule === "string" ? parseOrThrow(rule) : rule;
  if (!isValidTimezone(timezone)) throw new RangeError(`unknown timezone "${timezone}"`);
  if (Number.isNaN(dtstart.getTime())) throw new RangeError("dtstart is not a valid date");
  if (Number.isNaN(after.getTime())) throw new RangeError("after is not a valid date");
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError("limit must be a non-negative integer");
  if (limit === 0) return [];

  const zone = IANAZone.create(timezone);
  const floatingStart = instantToFloating(dtstart.getTime(), zone);
  const found: Date[] = [];

  // UTC offsets stay within -12h..+14h, so a floating time this far before `after`
  // is an earlier instant for sure, and resolving its offset can be skipped.
  const skipBefore = after.getTime() - MAX_NEGATIVE_OFFSET_MS;

  const ahead = fastForward(parsed, floatingStart, skipBefore);
  if (ahead.rule.count !== null && ahead.rule.count <= 0) return [];
  if (!matchesWithin(ahead.rule, ahead.start)) return [];
  let steps = 0;
  toRRule(ahead.rule, new Date(ahead.start)).all((floating) => {
    if (++steps > MAX_STEPS) return false;
    if (floating.getTime() < skipBefore) return true;
    const instant = floatingToInstant(floating.getTime(), zone);
    if (isPastUntil(parsed.until, floating.getTime(), instant)) return false;
    // A series ends where the instants a task may carry end (rrule stops at 9999 in local time, which
    // west of UTC is already in the year 10000).
    if (instant > MAX_INSTANT_MS) return false;
    if (before !== undefined && instant >= before.getTime()) return false;
    if (instant > after.getTime()) found.push(new Date(instant));
    return found.length < limit;
  });
  if (steps > MAX_STEPS) throw new RecurrenceTooCostlyError();
  return found;
}

/**
 * Occurrences one evaluation may step through after fast-forwarding; a rule and start that need
 * more (e.g. a monthly rule with many days, counted from decades ago) are refused rather than
 * allowed to block an event loop (about 10 ms of CPU at this bound).
 */
export const MAX_STEPS = 5000;

export class RecurrenceTooCostlyError extends RangeError {
  constructor() {
    super(`reaching the next occurrence takes more than ${MAX_STEPS} steps from this start; use a later due date or a simpler rule`);
  }
}

/**
 * Every DAILY and WEEKLY period holds an occurrence; a MONTHLY one only when one of its days
 * exists in that month, and rrule steps through empty periods up to the year 9999 looking for
 * one (about 20 ms for a rule that never matches). Month lengths repeat every 400 years, and of
 * every INTERVAL and start month, a rule that matches at all never has more than 15 empty periods
 * in a row (recurrence.test.ts goes through them all); so SEARCH_PERIODS empty periods in a row
 * mean it never matches again, and rrule is never asked to search more than that per occurrence.
 */
export const SEARCH_PERIODS = 16;

/** Whether a MONTHLY day of `rule` exists in one of SEARCH_PERIODS periods from `floatingStart` (always true for the other FREQs). */
function matchesWithin(rule: RecurrenceRule, floatingStart: number): boolean {
  if (rule.freq !== "MONTHLY" || rule.byMonthDay.length === 0) return true;
  const start = new Date(floatingStart);
  const shortest = Math.min(...rule.byMonthDay.map(Math.abs));
  for (let p = 0; p < SEARCH_PERIODS; p++) {
    const days = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + p * rule.interval + 1, 0)).getUTCDate();
    if (days >= shortest) return true;
  }
  return false;
}

/**
 * Why `rule` has no occurrence at all from `dtstart` in `timezone` (COUNT and UNTIL aside): a
 * MONTHLY rule whose days exist in none of the months its INTERVAL lands on. Null when it has some.
 */
export function neverMatches(rule: RecurrenceRule | string, dtstart: Date, timezone: string): string | null {
  const parsed = typeof rule === "string" ? parseOrThrow(rule) : rule;
  if (!isValidTimezone(timezone)) throw new RangeError(`unknown timezone "${timezone}"`);
  const start = instantToFloating(dtstart.getTime(), IANAZone.create(timezone));
  if (isPastUntil(parsed.until, start, dtstart.getTime()))
    return `never matches: UNTIL=${formatUntil(parsed.until as Until)} is before the series' start (${dtstart.toISOString()})`;
  if (matchesWithin(parsed, start)) return null;
  const month = new Date(start).toLocaleString("en", { month: "long", timeZone: "UTC" });
  const days = parsed.byMonthDay.join(",");
  return `never matches: BYMONTHDAY=${days} is in none of the months INTERVAL=${parsed.interval} lands on from ${month} (in ${timezone})`;
}

/** The first occurrence strictly after `after`, or null when the rule has ended. */
export function nextOccurrence(rule: RecurrenceRule | string, dtstart: Date, timezone: string, after: Date): Date | null {
  return occurrencesAfter(rule, dtstart, timezone, after, 1)[0] ?? null;
}

function parseOrThrow(input: string): RecurrenceRule {
  const result = parseRecurrenceRule(input);
  if (!result.ok) throw new RangeError(result.message);
  return result.rule;
}

function splitParts(input: string): Map<string, string> {
  const lines = input.trim().split(/\s*\r?\n\s*/);
  // Reject iCalendar content lines other than RRULE (EXDATE:..., DTSTART:..., RDATE:...).
  for (const line of lines) {
    const property = /^([A-Za-z-]+):/.exec(line)?.[1]?.toUpperCase();
    if (property !== undefined && property !== "RRULE") {
      throw new RuleError(`unsupported property "${property}" (only a single RRULE is accepted)`);
    }
  }
  if (lines.length > 1) throw new RuleError("only a single RRULE line is accepted");
  const body = (lines[0] ?? "").replace(/^RRULE:/i, "");
  if (body === "") throw new RuleError("recurrence rule is empty");

  const parts = new Map<string, string>();
  // Empty parts ("FREQ=DAILY;") are tolerated, as most RRULE producers emit them.
  for (const raw of body.split(";").filter((p) => p.trim() !== "")) {
    const eq = raw.indexOf("=");
    if (eq <= 0) throw new RuleError(`malformed RRULE part "${raw.trim()}" (expected NAME=VALUE)`);
    const name = raw.slice(0, eq).trim().toUpperCase();
    if (parts.has(name)) throw new RuleError(`RRULE part "${name}" appears more than once`);
    parts.set(
      name,
      raw
        .slice(eq + 1)
        .trim()
        .toUpperCase(),
    );
  }
  for (const name of parts.keys()) {
    if (!SUPPORTED_PARTS.has(name)) throw new RuleError(`unsupported RRULE part "${name}"`);
  }
  return parts;
}

function parseParts(parts: Map<string, string>): RecurrenceRule {
  const freqValue = parts.get("FREQ");
  if (freqValue === undefined) throw new RuleError("FREQ is required");
  const freq = parseFreq(freqValue);

  const byDayValue = parts.get("BYDAY");
  if (byDayValue !== undefined && freq !== "WEEKLY") {
    throw new RuleError(`BYDAY is only supported with FREQ=WEEKLY, not FREQ=${freq}`);
  }
  const byMonthDayValue = parts.get("BYMONTHDAY");
  if (byMonthDayValue !== undefined && freq !== "MONTHLY") {
    throw new RuleError(`BYMONTHDAY is only supported with FREQ=MONTHLY, not FREQ=${freq}`);
  }
  const countValue = parts.get("COUNT");
  const untilValue = parts.get("UNTIL");
  if (countValue !== undefined && untilValue !== undefined) {
    throw new RuleError("COUNT and UNTIL cannot be used together");
  }
  const intervalValue = parts.get("INTERVAL");

  return {
    freq,
    interval: intervalValue === undefined ? 1 : parsePositiveInt("INTERVAL", intervalValue, MAX_INTERVAL),
    byDay: byDayValue === undefined ? [] : parseByDay(byDayValue),
    byMonthDay: byMonthDayValue === undefined ? [] : parseByMonthDay(byMonthDayValue),
    count: countValue === undefined ? null : parsePositiveInt("COUNT", countValue, MAX_COUNT),
    until: untilValue === undefined ? null : parseUntil(untilValue),
  };
}

function parseFreq(value: string): Frequency {
  const freq = FREQUENCIES.find((f) => f === value);
  if (freq !== undefined) return freq;
  const known = ["YEARLY", "HOURLY", "MINUTELY", "SECONDLY"].includes(value);
  throw new RuleError(
    known
      ? `FREQ=${value} is not supported (use DAILY, WEEKLY or MONTHLY)`
      : `FREQ=${value} is not a valid frequency (use DAILY, WEEKLY or MONTHLY)`,
  );
}

function parsePositiveInt(name: string, value: string, max: number): number {
  const n = /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= max)) throw new RuleError(`${name} must be an integer from 1 to ${max}, got "${value}"`);
  return n;
}

function parseByDay(value: string): Weekday[] {
  const days = new Set<Weekday>();
  for (const item of value.split(",")) {
    const day = WEEKDAYS.find((d) => d === item);
    if (day !== undefined) {
      days.add(day);
    } else if (/^[+-]?\d+(MO|TU|WE|TH|FR|SA|SU)$/.test(item)) {
      throw new RuleError(`BYDAY value "${item}" is not supported (numbered weekdays are not; use MO..SU)`);
    } else {
      throw new RuleError(`BYDAY value "${item}" is not a weekday (use MO, TU, WE, TH, FR, SA, SU)`);
    }
  }
  return WEEKDAYS.filter((d) => days.has(d));
}

function parseByMonthDay(value: string): number[] {
  const days = new Set<number>();
  for (const item of value.split(",")) {
    const n = /^[+-]?\d{1,2}$/.test(item) ? Number(item) : Number.NaN;
    if (!(n >= -31 && n <= 31 && n !== 0)) {
      throw new RuleError(`BYMONTHDAY value "${item}" must be 1..31 or -31..-1`);
    }
    days.add(n);
  }
  return [...days].sort((a, b) => a - b);
}

function parseUntil(value: string): Until {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z)?$/.exec(value);
  if (m === null) {
    throw new RuleError(`UNTIL "${value}" must be a UTC date-time like 20261231T235959Z or a date like 20261231`);
  }
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = m.slice(1).map((f) => Number(f ?? "0"));
  // Date.UTC rolls 20260230 over to March; a round trip catches impossible dates and times.
  const check = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const valid =
    check.getUTCFullYear() === year &&
    check.getUTCMonth() + 1 === month &&
    check.getUTCDate() === day &&
    check.getUTCHours() === hour &&
    check.getUTCMinutes() === minute &&
    check.getUTCSeconds() === second;
  if (!valid) {
    throw new RuleError(`UNTIL "${value}" is not a valid date`);
  }
  return m[4] === undefined ? { kind: "date", year, month, day } : { kind: "instant", at: check };
}

function formatUntil(until: Until): string {
  if (until.kind === "instant") return until.at.toISOString().replace(/[-:]|\.\d{3}/g, "");
  const pad = (n: number, width: number): string => String(n).padStart(width, "0");
  return `${pad(until.year, 4)}${pad(until.month, 2)}${pad(until.day, 2)}`;
}

/** A date UNTIL includes every occurrence on that local date. */
function isPastUntil(until: Until | null, floating: number, instant: number): boolean {
  if (until === null) return false;
  if (until.kind === "date") return floating >= Date.UTC(until.year, until.month - 1, until.day + 1);
  return instant > until.at.getTime();
}

function toRRule(rule: RecurrenceRule, floatingStart: Date): InstanceType<typeof RRule> {
  const freq = { DAILY: RRule.DAILY, WEEKLY: RRule.WEEKLY, MONTHLY: RRule.MONTHLY }[rule.freq];
  return new RRule({
    freq,
    interval: rule.interval,
    dtstart: floatingStart,
    wkst: RRule.MO,
    byweekday: rule.byDay.length > 0 ? rule.byDay.map((d) => RRule[d]) : null,
    bymonthday: rule.byMonthDay.length > 0 ? [...rule.byMonthDay] : null,
    count: rule.count,
  });
}

/**
 * rrule always iterates from dtstart. A series restarted a whole number of periods later has the
 * same occurrences from there on, so jump to the last period start before `target`; with COUNT,
 * what the skipped periods held comes off the count. Every skipped DAILY/WEEKLY period holds the
 * same number of occurrences (a window of INTERVAL weeks from dtstart covers each weekday of the
 * active week once); MONTHLY periods are counted month by month (day 31 is not in every month).
 */
function fastForward(rule: RecurrenceRule, floatingStart: number, target: number): { rule: RecurrenceRule; start: number } {
  if (target <= floatingStart) return { rule, start: floatingStart };
  if (rule.freq !== "MONTHLY") {
    const period = rule.interval * (rule.freq === "DAILY" ? 1 : 7) * DAY_MS;
    const periods = Math.floor((target - floatingStart) / period);
    const perPeriod = rule.freq === "DAILY" ? 1 : Math.max(1, rule.byDay.length);
    const count = rule.count === null ? null : rule.count - periods * perPeriod;
    return { rule: { ...rule, count }, start: floatingStart + periods * period };
  }
  const start = new Date(floatingStart);
  const startMonth = start.getUTCFullYear() * 12 + start.getUTCMonth();
  const dayOfMonth = start.getUTCDate();
  const timeOfDay = floatingStart - Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), dayOfMonth);
  const at = (month: number) => Date.UTC(Math.floor(month / 12), month % 12, 1) + timeOfDay;
  const t = new Date(target);
  let periods = Math.floor((t.getUTCFullYear() * 12 + t.getUTCMonth() - startMonth) / rule.interval);
  while (periods > 0 && at(startMonth + periods * rule.interval) > target) periods--;
  if (periods <= 0) return { rule, start: floatingStart };
  // The new dtstart is the 1st of an active month, so the day of month must be explicit.
  const byMonthDay = rule.byMonthDay.length > 0 ? rule.byMonthDay : [dayOfMonth];
  let count = rule.count;
  if (count !== null) {
    for (let p = 0; p < periods && count > 0; p++) {
      const month = startMonth + p * rule.interval;
      const days = new Date(Date.UTC(Math.floor(month / 12), (month % 12) + 1, 0)).getUTCDate();
      const held = new Set(
        byMonthDay.map((d) => (d > 0 ? d : days + d + 1)).filter((d) => d >= 1 && d <= days && (p > 0 || d >= dayOfMonth)),
      );
      count -= held.size;
    }
  }
  return { rule: { ...rule, byMonthDay, count }, start: at(startMonth + periods * rule.interval) };
}

/** The wall-clock time of `instant` in `zone`, as a timestamp read as UTC (what rrule iterates over). */
function instantToFloating(instant: number, zone: IANAZone): number {
  return instant + zone.offset(instant) * 60_000;
}

/**
 * Maps floating wall-clock ms to the real instant in `zone`. The offsets a day
 * before and a day after bracket any single DST transition: when both fit, the
 * local time is ambiguous and the earlier instant wins; when neither fits, it
 * falls in a gap and is read with the pre-transition offset, which moves it
 * forward by the size of the gap.
 */
function floatingToInstant(floating: number, zone: IANAZone): number {
  const before = zone.offset(floating - DAY_MS);
  const after = zone.offset(floating + DAY_MS);
  if (before === after) return floating - before * 60_000; // no transition nearby: the common case
  const fits = [before, after]
    .map((offset) => floating - offset * 60_000)
    .filter((instant) => floating - zone.offset(instant) * 60_000 === instant);
  return fits.length > 0 ? Math.min(...fits) : floating - before * 60_000;
}
