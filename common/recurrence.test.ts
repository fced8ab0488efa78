import fc from "fast-check";
import { DateTime, Settings } from "luxon";
import { afterEach, describe, expect, it } from "vitest";
import {
  isValidTimezone,
  neverMatches,
  nextOccurrence,
  occurrencesAfter,
  parseRecurrenceRule,
  type RecurrenceRule,
  RecurrenceTooCostlyError,
  SEARCH_PERIODS,
} from "./recurrence.ts";

const EPOCH = new Date(0);
const iso = (dates: readonly Date[]): string[] => dates.map((d) => d.toISOString());
const at = (s: string): Date => new Date(s);

function parsed(rule: string): RecurrenceRule {
  const result = parseRecurrenceRule(rule);
  if (!result.ok) throw new Error(result.message);
  return result.rule;
}

describe("parseRecurrenceRule accepts the CONTRACT subset", () => {
  it.each([
    ["FREQ=DAILY", "FREQ=DAILY"],
    ["RRULE:FREQ=DAILY;INTERVAL=1", "FREQ=DAILY"],
    ["FREQ=DAILY;INTERVAL=3", "FREQ=DAILY;INTERVAL=3"],
    ["FREQ=DAILY;INTERVAL=1000", "FREQ=DAILY;INTERVAL=1000"],
    ["FREQ=WEEKLY", "FREQ=WEEKLY"],
    ["FREQ=WEEKLY;BYDAY=FR,MO,WE", "FREQ=WEEKLY;BYDAY=MO,WE,FR"],
    ["rrule:freq=weekly;byday=mo,mo;interval=2", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"],
    ["FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU"],
    ["FREQ=MONTHLY", "FREQ=MONTHLY"],
    ["FREQ=MONTHLY;BYMONTHDAY=15,1,-1", "FREQ=MONTHLY;BYMONTHDAY=-1,1,15"],
    ["FREQ=MONTHLY;BYMONTHDAY=+5,-31,31", "FREQ=MONTHLY;BYMONTHDAY=-31,5,31"],
    ["COUNT=5;FREQ=DAILY", "FREQ=DAILY;COUNT=5"],
    ["FREQ=DAILY;UNTIL=20261231T235959Z", "FREQ=DAILY;UNTIL=20261231T235959Z"],
    ["FREQ=DAILY;UNTIL=20261231", "FREQ=DAILY;UNTIL=20261231"],
    ["FREQ=WEEKLY;BYDAY=TU;INTERVAL=2;COUNT=10", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=10"],
    ["  FREQ=DAILY;  ", "FREQ=DAILY"],
  ])("%j -> %j", (input, canonical) => {
    const result = parseRecurrenceRule(input);
    expect(result).toMatchObject({ ok: true, canonical });
    // The canonical form is a fixed point.
    expect(parseRecurrenceRule(canonical)).toMatchObject({ ok: true, canonical });
  });

  it("returns structured fields", () => {
    expect(parsed("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE,MO;UNTIL=20261231T235959Z")).toEqual({
      freq: "WEEKLY",
      interval: 2,
      byDay: ["MO", "WE"],
      byMonthDay: [],
      count: null,
      until: { kind: "instant", at: at("2026-12-31T23:59:59Z") },
    });
    expect(parsed("FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20260630").until).toEqual({
      kind: "date",
      year: 2026,
      month: 6,
      day: 30,
    });
  });
});

describe("parseRecurrenceRule rejects everything else, naming the part", () => {
  it.each([
    ["", "recurrence rule is empty"],
    ["RRULE:", "recurrence rule is empty"],
    ["FREQ=YEARLY", "FREQ=YEARLY is not supported (use DAILY, WEEKLY or MONTHLY)"],
    ["FREQ=HOURLY", "FREQ=HOURLY is not supported"],
    ["FREQ=MINUTELY;INTERVAL=5", "FREQ=MINUTELY is not supported"],
    ["FREQ=FORTNIGHTLY", "FREQ=FORTNIGHTLY is not a valid frequency"],
    ["INTERVAL=2", "FREQ is required"],
    ["FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1", 'unsupported RRULE part "BYSETPOS"'],
    ["FREQ=DAILY;BYHOUR=9", 'unsupported RRULE part "BYHOUR"'],
    ["FREQ=DAILY;BYMINUTE=30", 'unsupported RRULE part "BYMINUTE"'],
    ["FREQ=MONTHLY;BYMONTH=1", 'unsupported RRULE part "BYMONTH"'],
    ["FREQ=WEEKLY;WKST=SU", 'unsupported RRULE part "WKST"'],
    ["FREQ=DAILY;EXDATE=20260105", 'unsupported RRULE part "EXDATE"'],
    ["FREQ=DAILY;X-NAME=1", 'unsupported RRULE part "X-NAME"'],
    ["RRULE:FREQ=DAILY\nEXDATE:20260105T140000Z", 'unsupported property "EXDATE"'],
    ["DTSTART:20260101T090000Z\nRRULE:FREQ=DAILY", 'unsupported property "DTSTART"'],
    ["RDATE:20260105T140000Z", 'unsupported property "RDATE"'],
    ["FREQ=DAILY;COUNT=3;COUNT=4", 'RRULE part "COUNT" appears more than once'],
    ["FREQ=DAILY;freq=WEEKLY", 'RRULE part "FREQ" appears more than once'],
    ["FREQ=DAILY;COUNT", 'malformed RRULE part "COUNT" (expected NAME=VALUE)'],
    ["FREQ=DAILY;=3", 'malformed RRULE part "=3"'],
    ["FREQ=DAILY;INTERVAL=0", 'INTERVAL must be an integer from 1 to 1000, got "0"'],
    ["FREQ=DAILY;INTERVAL=1001", 'INTERVAL must be an integer from 1 to 1000, got "1001"'],
    ["FREQ=DAILY;INTERVAL=-1", 'INTERVAL must be an integer from 1 to 1000, got "-1"'],
    ["FREQ=DAILY;INTERVAL=1.5", 'INTERVAL must be an integer from 1 to 1000, got "1.5"'],
    ["FREQ=DAILY;INTERVAL=", 'INTERVAL must be an integer from 1 to 1000, got ""'],
    ["FREQ=DAILY;COUNT=0", 'COUNT must be an integer from 1 to 100000, got "0"'],
    ["FREQ=DAILY;COUNT=ten", 'COUNT must be an integer from 1 to 100000, got "TEN"'],
    ["FREQ=DAILY;COUNT=3;UNTIL=20261231", "COUNT and UNTIL cannot be used together"],
    ["FREQ=DAILY;BYDAY=MO", "BYDAY is only supported with FREQ=WEEKLY, not FREQ=DAILY"],
    ["FREQ=MONTHLY;BYDAY=MO", "BYDAY is only supported with FREQ=WEEKLY, not FREQ=MONTHLY"],
    ["FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY is only supported with FREQ=MONTHLY, not FREQ=WEEKLY"],
    ["FREQ=WEEKLY;BYDAY=1MO", 'BYDAY value "1MO" is not supported'],
    ["FREQ=WEEKLY;BYDAY=MO,-1FR", 'BYDAY value "-1FR" is not supported'],
    ["FREQ=WEEKLY;BYDAY=XX", 'BYDAY value "XX" is not a weekday'],
    ["FREQ=WEEKLY;BYDAY=MO,,TU", 'BYDAY value "" is not a weekday'],
    ["FREQ=MONTHLY;BYMONTHDAY=0", 'BYMONTHDAY value "0" must be 1..31 or -31..-1'],
    ["FREQ=MONTHLY;BYMONTHDAY=32", 'BYMONTHDAY value "32" must be 1..31 or -31..-1'],
    ["FREQ=MONTHLY;BYMONTHDAY=1,-32", 'BYMONTHDAY value "-32" must be 1..31 or -31..-1'],
    ["FREQ=DAILY;UNTIL=2026-12-31", 'UNTIL "2026-12-31" must be a UTC date-time like 20261231T235959Z'],
    ["FREQ=DAILY;UNTIL=20261231T235959", 'UNTIL "20261231T235959" must be a UTC date-time'],
    ["FREQ=DAILY;UNTIL=20260230", 'UNTIL "20260230" is not a valid date'],
    ["FREQ=DAILY;UNTIL=20261231T246000Z", 'UNTIL "20261231T246000Z" is not a valid date'],
  ])("%j -> %s", (input, fragment) => {
    const result = parseRecurrenceRule(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(fragment);
  });
});

interface OccurrenceCase {
  readonly name: string;
  readonly rule: string;
  readonly dtstart: string;
  readonly timezone: string;
  readonly after?: string;
  readonly limit: number;
  readonly expected: readonly string[];
}

function runCases(cases: readonly OccurrenceCase[]): void {
  it.each(cases)("$name", ({ rule, dtstart, timezone, after, limit, expected }) => {
    const afterDate = after === undefined ? EPOCH : at(after);
    expect(iso(occurrencesAfter(rule, at(dtstart), timezone, afterDate, limit))).toEqual(expected);
  });
}

// Thursday 2026-01-01. Times in UTC so only the rule forms are exercised.
describe("occurrencesAfter: every supported form (UTC)", () => {
  runCases([
    {
      name: "DAILY",
      rule: "FREQ=DAILY",
      dtstart: "2026-01-01T09:00:00Z",
      timezone: "UTC",
      limit: 3,
      expected: ["2026-01-01T09:00:00.000Z", "2026-01-02T09:00:00.000Z", "2026-01-03T09:00:00.000Z"],
    },
    {
      name: "DAILY;INTERVAL=3",
      rule: "FREQ=DAILY;INTERVAL=3",
      dtstart: "2026-01-01T09:00:00Z",
      timezone: "UTC",
      limit: 3,
      expected: ["2026-01-01T09:00:00.000Z", "2026-01-04T09:00:00.000Z", "2026-01-07T09:00:00.000Z"],
    },
    {
      name: "WEEKLY defaults to the weekday of dtstart",
      rule: "FREQ=WEEKLY",
      dtstart: "2026-01-01T09:00:00Z",
      timezone: "UTC",
      limit: 3,
      expected: ["2026-01-01T09:00:00.000Z", "2026-01-08T09:00:00.000Z", "2026-01-15T09:00:00.000Z"],
    },
    {
      name: "WEEKLY;INTERVAL=2",
      rule: "FREQ=WEEKLY;INTERVAL=2",
      dtstart: "2026-01-01T09:00:00Z",
      timezone: "UTC",
      limit: 3,
      expected: ["2026-01-01T09:00:00.000Z", "2026-01-15T09:00:00.000Z", "2026-01-29T09:00:00.000Z"],
    },
    {
      name: "WEEKLY;BYDAY=MO,WE,FR (a dtstart off the rule is not an occurrence)",
      rule: "FREQ=WEEKLY;BYDAY=MO,WE,FR",
      dtstart: "2026-01-01T09:00:00Z",
      timezone: "UTC",
      limit: 4,
      expected: ["2026-01-02T09:00:00.000Z", "2026-01-05T09:00:00.000Z", "2026-01-07T09:00:00.000Z", "2026-01-09T09:00:00.000Z"],
    },
    {
      name: "WEEKLY;INTERVAL=2;BYDAY=TU,TH (weeks start on Monday)",
      rule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH",
      dtstart: "2026-01-01T09:00:00Z",
      timezone: "UTC",
      limit: 4,
      expected: ["2026-01-01T09:00:00.000Z", "2026-01-13T09:00:00.000Z", "2026-01-15T09:00:00.000Z", "2026-01-27T09:00:00.000Z"],
    },
    {
      name: "MONTHLY defaults to the day of month of dtstart",
      rule: "FREQ=MONTHLY",
      dtstart: "2026-01-15T09:00:00Z",
      timezone: "UTC",
      limit: 3,
      expected: ["2026-01-15T09:00:00.000Z", "2026-02-15T09:00:00.000Z", "2026-03-15T09:00:00.000Z"],
    },
    {
      name: "MONTHLY;INTERVAL=2",
      rule: "FREQ=MONTHLY;INTERVAL=2",
      dtstart: "2026-01-15T09:00:00Z",
      timezone: "UTC",
      limit: 3,
      expected: ["2026-01-15T09:00:00.000Z", "2026-03-15T09:00:00.000Z", "2026-05-15T09:00:00.000Z"],
    },
    {
      name: "MONTHLY;BYMONTHDAY=1,15",
      rule: "FREQ=MONTHLY;BYMONTHDAY=1,15",
      dtstart: "2026-01-10T09:00:00Z",
      timezone: "UTC",
      limit: 4,
      expected: ["2026-01-15T09:00:00.000Z", "2026-02-01T09:00:00.000Z", "2026-02-15T09:00:00.000Z", "2026-03-01T09:00:00.000Z"],
    },
    {
      name: "MONTHLY;BYMONTHDAY=31 skips Feb, Apr and Jun (RFC 5545)",
      rule: "FREQ=MONTHLY;BYMONTHDAY=31",
      dtstart: "2026-01-31T09:00:00Z",
      timezone: "UTC",
      limit: 5,
      expected: [
        "2026-01-31T09:00:00.000Z",
        "2026-03-31T09:00:00.000Z",
        "2026-05-31T09:00:00.000Z",
        "2026-07-31T09:00:00.000Z",
        "2026-08-31T09:00:00.000Z",
      ],
    },
    {
      name: "MONTHLY from the 31st without BYMONTHDAY skips short months too",
      rule: "FREQ=MONTHLY",
      dtstart: "2026-01-31T09:00:00Z",
      timezone: "UTC",
      limit: 3,
      expected: ["2026-01-31T09:00:00.000Z", "2026-03-31T09:00:00.000Z", "2026-05-31T09:00:00.000Z"],
    },
    {
      name: "MONTHLY;BYMONTHDAY=30 skips February only",
      rule: "FREQ=MONTHLY;BYMONTHDAY=30",
      dtstart: "2026-01-30T09:00:00Z",
      timezone: "UTC",
      limit: 3,
      expected: ["2026-01-30T09:00:00.000Z", "2026-03-30T09:00:00.000Z", "2026-04-30T09:00:00.000Z"],
    },
    {
      name: "MONTHLY;BYMONTHDAY=29 keeps February in a leap year",
      rule: "FREQ=MONTHLY;BYMONTHDAY=29",
      dtstart: "2028-01-29T09:00:00Z",
      timezone: "UTC",
      limit: 3,
      expected: ["2028-01-29T09:00:00.000Z", "2028-02-29T09:00:00.000Z", "2028-03-29T09:00:00.000Z"],
    },
    {
      name: "MONTHLY;BYMONTHDAY=-1 is the last day of each month",
      rule: "FREQ=MONTHLY;BYMONTHDAY=-1",
      dtstart: "2026-01-15T09:00:00Z",
      timezone: "UTC",
      limit: 4,
      expected: ["2026-01-31T09:00:00.000Z", "2026-02-28T09:00:00.000Z", "2026-03-31T09:00:00.000Z", "2026-04-30T09:00:00.000Z"],
    },
    {
      name: "MONTHLY;BYMONTHDAY=-1 in a leap February",
      rule: "FREQ=MONTHLY;BYMONTHDAY=-1",
      dtstart: "2028-02-01T09:00:00Z",
      timezone: "UTC",
      limit: 1,
      expected: ["2028-02-29T09:00:00.000Z"],
    },
    {
      name: "MONTHLY;BYMONTHDAY=-31 exists only in 31-day months",
      rule: "FREQ=MONTHLY;BYMONTHDAY=-31",
      dtstart: "2026-01-01T09:00:00Z",
      timezone: "UTC",
      limit: 3,
      expected: ["2026-01-01T09:00:00.000Z", "2026-03-01T09:00:00.000Z", "2026-05-01T09:00:00.000Z"],
    },
  ]);
});

describe("occurrencesAfter: COUNT, UNTIL and the after bound", () => {
  runCases([
    {
      name: "COUNT ends the series",
      rule: "FREQ=DAILY;COUNT=3",
      dtstart: "2026-01-01T09:00:00Z",
      timezone: "UTC",
      limit: 10,
      expected: ["2026-01-01T09:00:00.000Z", "2026-01-02T09:00:00.000Z", "2026-01-03T09:00:00.000Z"],
    },
    {
      name: "COUNT counts from dtstart, not from after",
      rule: "FREQ=DAILY;COUNT=5",
      dtstart: "2026-01-01T09:00:00Z",
      timezone: "UTC",
      after: "2026-01-03T09:00:00Z",
      limit: 10,
      expected: ["2026-01-04T09:00:00.000Z", "2026-01-05T09:00:00.000Z"],
    },
    {
      name: "WEEKLY;BYDAY=MO,FR;COUNT=3",
      rule: "FREQ=WEEKLY;BYDAY=MO,FR;COUNT=3",
      dtstart: "2026-01-05T09:00:00Z",
      timezone: "UTC",
      limit: 10,
      expected: ["2026-01-05T09:00:00.000Z", "2026-01-09T09:00:00.000Z", "2026-01-12T09:00:00.000Z"],
    },
    {
      name: "MONTHLY;BYMONTHDAY=31;COUNT=3 does not count skipped months",
      rule: "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3",
      dtstart: "2026-01-31T09:00:00Z",
      timezone: "UTC",
      limit: 10,
      expected: ["2026-01-31T09:00:00.000Z", "2026-03-31T09:00:00.000Z", "2026-05-31T09:00:00.000Z"],
    },
    {
      name: "UNTIL instant is inclusive",
      rule: "FREQ=DAILY;UNTIL=20260103T090000Z",
      dtstart: "2026-01-01T09:00:00Z",
      timezone: "UTC",
      limit: 10,
      expected: ["2026-01-01T09:00:00.000Z", "2026-01-02T09:00:00.000Z", "2026-01-03T09:00:00.000Z"],
    },
    {
      name: "UNTIL instant one second earlier excludes that day",
      rule: "FREQ=DAILY;UNTIL=20260103T085959Z",
      dtstart: "2026-01-01T09:00:00Z",
      timezone: "UTC",
      limit: 10,
      expected: ["2026-01-01T09:00:00.000Z", "2026-01-02T09:00:00.000Z"],
    },
    {
      name: "UNTIL date includes that whole date",
      rule: "FREQ=DAILY;UNTIL=20260103",
      dtstart: "2026-01-01T09:00:00Z",
      timezone: "UTC",
      limit: 10,
      expected: ["2026-01-01T09:00:00.000Z", "2026-01-02T09:00:00.000Z", "2026-01-03T09:00:00.000Z"],
    },
    {
      // 23:30 New York is 04:30Z the next UTC day; the local date decides.
      name: "UNTIL date is a date in the task's timezone",
      rule: "FREQ=DAILY;UNTIL=20260103",
      dtstart: "2026-01-02T04:30:00Z",
      timezone: "America/New_York",
      limit: 10,
      expected: ["2026-01-02T04:30:00.000Z", "2026-01-03T04:30:00.000Z", "2026-01-04T04:30:00.000Z"],
    },
    {
      name: "UNTIL on MONTHLY;BYMONTHDAY=-1",
      rule: "FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20260430T235959Z",
      dtstart: "2026-01-01T09:00:00Z",
      timezone: "UTC",
      limit: 10,
      expected: ["2026-01-31T09:00:00.000Z", "2026-02-28T09:00:00.000Z", "2026-03-31T09:00:00.000Z", "2026-04-30T09:00:00.000Z"],
    },
    {
      name: "after is exclusive",
      rule: "FREQ=DAILY",
      dtstart: "2026-01-01T09:00:00Z",
      timezone: "UTC",
      after: "2026-01-01T09:00:00Z",
      limit: 1,
      expected: ["2026-01-02T09:00:00.000Z"],
    },
    {
      name: "after far from dtstart",
      rule: "FREQ=WEEKLY;BYDAY=MO",
      dtstart: "2026-01-05T09:00:00Z",
      timezone: "UTC",
      after: "2030-06-01T00:00:00Z",
      limit: 2,
      expected: ["2030-06-03T09:00:00.000Z", "2030-06-10T09:00:00.000Z"],
    },
    {
      name: "milliseconds of dtstart are kept",
      rule: "FREQ=DAILY",
      dtstart: "2026-01-01T09:00:00.250Z",
      timezone: "Europe/London",
      limit: 2,
      expected: ["2026-01-01T09:00:00.250Z", "2026-01-02T09:00:00.250Z"],
    },
    {
      name: "limit 0",
      rule: "FREQ=DAILY",
      dtstart: "2026-01-01T09:00:00Z",
      timezone: "UTC",
      limit: 0,
      expected: [],
    },
    {
      name: "nothing after the end of the series",
      rule: "FREQ=DAILY;COUNT=2",
      dtstart: "2026-01-01T09:00:00Z",
      timezone: "UTC",
      after: "2026-01-02T09:00:00Z",
      limit: 5,
      expected: [],
    },
  ]);
});

/*
 * Transitions in 2026 (local wall clock):
 *   America/New_York     03-08 02:00 EST -> 03:00 EDT;    11-01 02:00 EDT -> 01:00 EST
 *   Europe/London        03-29 01:00 GMT -> 02:00 BST;    10-25 02:00 BST -> 01:00 GMT
 *   Australia/Lord_Howe  04-05 02:00 +11 -> 01:30 +10:30; 10-04 02:00 +10:30 -> 02:30 +11
 */
describe("occurrencesAfter: the before bound", () => {
  it("returns only occurrences before it, in any zone, and stops the search there", () => {
    const start = at("2026-03-01T09:00:00Z");
    expect(iso(occurrencesAfter("FREQ=DAILY", start, "UTC", at("2026-03-02T00:00:00Z"), 400, at("2026-03-04T09:00:00Z")))).toEqual([
      "2026-03-02T09:00:00.000Z",
      "2026-03-03T09:00:00.000Z",
    ]);
    // 09:00 in New York is 14:00 UTC before March 8, 13:00 after.
    const ny = occurrencesAfter(
      "FREQ=DAILY",
      at("2026-03-01T14:00:00Z"),
      "America/New_York",
      at("2026-03-07T00:00:00Z"),
      400,
      at("2026-03-09T13:00:00Z"),
    );
    expect(iso(ny)).toEqual(["2026-03-07T14:00:00.000Z", "2026-03-08T13:00:00.000Z"]);
    expect(occurrencesAfter("FREQ=DAILY", start, "UTC", at("2026-03-02T00:00:00Z"), 400, at("2026-03-02T09:00:00Z"))).toEqual([]);
  });
});

describe("occurrencesAfter: wall-clock time across DST", () => {
  runCases([
    {
      name: "New York spring forward: daily 09:00 goes from 14:00Z to 13:00Z",
      rule: "FREQ=DAILY",
      dtstart: "2026-03-06T14:00:00Z",
      timezone: "America/New_York",
      limit: 4,
      expected: ["2026-03-06T14:00:00.000Z", "2026-03-07T14:00:00.000Z", "2026-03-08T13:00:00.000Z", "2026-03-09T13:00:00.000Z"],
    },
    {
      name: "New York fall back: daily 09:00 goes from 13:00Z to 14:00Z",
      rule: "FREQ=DAILY",
      dtstart: "2026-10-30T13:00:00Z",
      timezone: "America/New_York",
      limit: 4,
      expected: ["2026-10-30T13:00:00.000Z", "2026-10-31T13:00:00.000Z", "2026-11-01T14:00:00.000Z", "2026-11-02T14:00:00.000Z"],
    },
    {
      name: "New York spring forward: daily 02:30 does not exist on 03-08, fires at 03:30 EDT",
      rule: "FREQ=DAILY",
      dtstart: "2026-03-07T07:30:00Z",
      timezone: "America/New_York",
      limit: 3,
      expected: ["2026-03-07T07:30:00.000Z", "2026-03-08T07:30:00.000Z", "2026-03-09T06:30:00.000Z"],
    },
    {
      name: "New York fall back: daily 02:30 is unambiguous (EST after the change)",
      rule: "FREQ=DAILY",
      dtstart: "2026-10-31T06:30:00Z",
      timezone: "America/New_York",
      limit: 3,
      expected: ["2026-10-31T06:30:00.000Z", "2026-11-01T07:30:00.000Z", "2026-11-02T07:30:00.000Z"],
    },
    {
      name: "New York fall back: daily 01:30 happens twice on 11-01, the first (EDT) is used",
      rule: "FREQ=DAILY",
      dtstart: "2026-10-31T05:30:00Z",
      timezone: "America/New_York",
      limit: 3,
      expected: ["2026-10-31T05:30:00.000Z", "2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"],
    },
    {
      name: "New York weekly on Sundays across spring forward",
      rule: "FREQ=WEEKLY;BYDAY=SU",
      dtstart: "2026-03-01T14:00:00Z",
      timezone: "America/New_York",
      limit: 3,
      expected: ["2026-03-01T14:00:00.000Z", "2026-03-08T13:00:00.000Z", "2026-03-15T13:00:00.000Z"],
    },
    {
      name: "New York monthly across spring forward and fall back",
      rule: "FREQ=MONTHLY;BYMONTHDAY=8",
      dtstart: "2026-02-08T14:00:00Z",
      timezone: "America/New_York",
      after: "2026-02-08T14:00:00Z",
      limit: 2,
      expected: ["2026-03-08T13:00:00.000Z", "2026-04-08T13:00:00.000Z"],
    },
    {
      name: "London spring forward: daily 09:00 goes from 09:00Z to 08:00Z",
      rule: "FREQ=DAILY",
      dtstart: "2026-03-28T09:00:00Z",
      timezone: "Europe/London",
      limit: 3,
      expected: ["2026-03-28T09:00:00.000Z", "2026-03-29T08:00:00.000Z", "2026-03-30T08:00:00.000Z"],
    },
    {
      name: "London spring forward: daily 01:30 does not exist on 03-29, fires at 02:30 BST",
      rule: "FREQ=DAILY",
      dtstart: "2026-03-28T01:30:00Z",
      timezone: "Europe/London",
      limit: 3,
      expected: ["2026-03-28T01:30:00.000Z", "2026-03-29T01:30:00.000Z", "2026-03-30T00:30:00.000Z"],
    },
    {
      name: "London fall back: daily 09:00 goes from 08:00Z to 09:00Z",
      rule: "FREQ=DAILY",
      dtstart: "2026-10-24T08:00:00Z",
      timezone: "Europe/London",
      limit: 3,
      expected: ["2026-10-24T08:00:00.000Z", "2026-10-25T09:00:00.000Z", "2026-10-26T09:00:00.000Z"],
    },
    {
      name: "London fall back: daily 01:30 happens twice on 10-25, the first (BST) is used",
      rule: "FREQ=DAILY",
      dtstart: "2026-10-24T00:30:00Z",
      timezone: "Europe/London",
      limit: 3,
      expected: ["2026-10-24T00:30:00.000Z", "2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"],
    },
    {
      name: "Lord Howe April: daily 09:00 moves by 30 minutes (22:00Z to 22:30Z)",
      rule: "FREQ=DAILY",
      dtstart: "2026-04-02T22:00:00Z",
      timezone: "Australia/Lord_Howe",
      limit: 4,
      expected: ["2026-04-02T22:00:00.000Z", "2026-04-03T22:00:00.000Z", "2026-04-04T22:30:00.000Z", "2026-04-05T22:30:00.000Z"],
    },
    {
      name: "Lord Howe April: daily 01:45 happens twice on 04-05, the first (+11) is used",
      rule: "FREQ=DAILY",
      dtstart: "2026-04-03T14:45:00Z",
      timezone: "Australia/Lord_Howe",
      limit: 3,
      expected: ["2026-04-03T14:45:00.000Z", "2026-04-04T14:45:00.000Z", "2026-04-05T15:15:00.000Z"],
    },
    {
      name: "Lord Howe October: daily 09:00 moves by 30 minutes (22:30Z to 22:00Z)",
      rule: "FREQ=DAILY",
      dtstart: "2026-10-02T22:30:00Z",
      timezone: "Australia/Lord_Howe",
      limit: 3,
      expected: ["2026-10-02T22:30:00.000Z", "2026-10-03T22:00:00.000Z", "2026-10-04T22:00:00.000Z"],
    },
    {
      name: "Lord Howe October: daily 02:15 does not exist on 10-04, fires 30 minutes later at 02:45",
      rule: "FREQ=DAILY",
      dtstart: "2026-10-02T15:45:00Z",
      timezone: "Australia/Lord_Howe",
      limit: 3,
      expected: ["2026-10-02T15:45:00.000Z", "2026-10-03T15:45:00.000Z", "2026-10-04T15:15:00.000Z"],
    },
    {
      name: "Kolkata has no DST: daily 09:00 is 03:30Z through the US and UK changes",
      rule: "FREQ=DAILY",
      dtstart: "2026-01-01T03:30:00Z",
      timezone: "Asia/Kolkata",
      after: "2026-10-24T00:00:00Z",
      limit: 3,
      expected: ["2026-10-24T03:30:00.000Z", "2026-10-25T03:30:00.000Z", "2026-10-26T03:30:00.000Z"],
    },
    {
      name: "Kolkata around the New York spring change",
      rule: "FREQ=DAILY",
      dtstart: "2026-03-07T03:30:00Z",
      timezone: "Asia/Kolkata",
      limit: 3,
      expected: ["2026-03-07T03:30:00.000Z", "2026-03-08T03:30:00.000Z", "2026-03-09T03:30:00.000Z"],
    },
  ]);

  it.each(["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"])(
    "a daily 09:00 task in %s stays at 09:00 local for a whole year",
    (zone) => {
      const dtstart = DateTime.fromObject({ year: 2026, month: 1, day: 1, hour: 9 }, { zone }).toJSDate();
      const dates = occurrencesAfter("FREQ=DAILY", dtstart, zone, EPOCH, 365);
      expect(dates).toHaveLength(365);
      const local = dates.map((d) => DateTime.fromJSDate(d, { zone }));
      expect(new Set(local.map((d) => d.toFormat("HH:mm")))).toEqual(new Set(["09:00"]));
      expect(local.at(-1)?.toISODate()).toBe("2026-12-31");
    },
  );

  describe("does not depend on the current date", () => {
    const realNow = Settings.now;
    afterEach(() => {
      Settings.now = realNow;
    });

    // luxon's own DateTime.fromObject resolves an ambiguous time with the offset in effect now.
    it.each(["2026-01-15T00:00:00Z", "2026-07-15T00:00:00Z"])("now = %s", (now) => {
      Settings.now = () => Date.parse(now);
      const next = nextOccurrence("FREQ=DAILY", at("2026-10-31T05:30:00Z"), "America/New_York", at("2026-11-01T00:00:00Z"));
      expect(next?.toISOString()).toBe("2026-11-01T05:30:00.000Z");
    });
  });
});

describe("occurrencesAfter from a late `after` agrees with iterating from dtstart", () => {
  it.each([
    ["FREQ=DAILY;INTERVAL=3", "America/New_York"],
    ["FREQ=DAILY;UNTIL=20270301", "Australia/Lord_Howe"],
    ["FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU", "Europe/London"],
    ["FREQ=WEEKLY;INTERVAL=3", "Asia/Kolkata"],
    ["FREQ=WEEKLY;BYDAY=MO;COUNT=60", "America/New_York"],
    ["FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=31,-1", "Australia/Lord_Howe"],
  ])("%s in %s", (rule, zone) => {
    const dtstart = at("2025-01-01T01:30:00Z");
    const all = occurrencesAfter(rule, dtstart, zone, EPOCH, 2000);
    for (const after of ["2025-06-15T00:00:00Z", "2026-03-08T06:59:59Z", "2026-10-04T15:00:00Z", "2027-02-26T12:00:00Z"]) {
      const expected = iso(all.filter((d) => d > at(after)).slice(0, 5));
      expect(iso(occurrencesAfter(rule, dtstart, zone, at(after), 5))).toEqual(expected);
    }
  });
});

describe("nextOccurrence", () => {
  it("returns the first occurrence strictly after", () => {
    const next = nextOccurrence(
      parsed("FREQ=WEEKLY;BYDAY=MO,TH"),
      at("2026-01-05T14:00:00Z"),
      "America/New_York",
      at("2026-01-05T14:00:00Z"),
    );
    expect(next?.toISOString()).toBe("2026-01-08T14:00:00.000Z");
  });

  it("returns null once COUNT is used up", () => {
    expect(nextOccurrence("FREQ=DAILY;COUNT=2", at("2026-01-01T09:00:00Z"), "UTC", at("2026-01-02T09:00:00Z"))).toBeNull();
  });

  it("returns null past the last instant a task may carry (9999-12-31 UTC), also where local 9999 is UTC 10000", () => {
    const due = new Date("9999-12-31T06:00:00Z");
    expect(nextOccurrence("FREQ=DAILY", due, "Pacific/Honolulu", due)).toBeNull();
    expect(nextOccurrence("FREQ=DAILY", new Date("9999-12-30T06:00:00Z"), "UTC", new Date("9999-12-30T06:00:00Z"))?.toISOString()).toBe(
      "9999-12-31T06:00:00.000Z",
    );
  });

  it("returns null after UNTIL", () => {
    expect(nextOccurrence("FREQ=DAILY;UNTIL=20260110", at("2026-01-01T09:00:00Z"), "UTC", at("2026-02-01T00:00:00Z"))).toBeNull();
  });

  it("recomputes in another timezone from the same dtstart", () => {
    // 14:00Z is 09:00 in New York but 14:00 in London: wall clock comes from dtstart in the given zone.
    const dtstart = at("2026-03-02T14:00:00Z");
    const after = at("2026-03-30T00:00:00Z");
    expect(nextOccurrence("FREQ=DAILY", dtstart, "America/New_York", after)?.toISOString()).toBe("2026-03-30T13:00:00.000Z");
    expect(nextOccurrence("FREQ=DAILY", dtstart, "Europe/London", after)?.toISOString()).toBe("2026-03-30T13:00:00.000Z");
    expect(nextOccurrence("FREQ=DAILY", dtstart, "Asia/Kolkata", after)?.toISOString()).toBe("2026-03-30T14:00:00.000Z");
  });

  it.each([
    ["FREQ=YEARLY", "UTC", "FREQ=YEARLY is not supported"],
    ["FREQ=DAILY", "Mars/Olympus_Mons", 'unknown timezone "Mars/Olympus_Mons"'],
  ])("throws RangeError for %s in %s", (rule, zone, message) => {
    expect(() => nextOccurrence(rule, at("2026-01-01T09:00:00Z"), zone, EPOCH)).toThrow(new RangeError(message).message);
    expect(() => nextOccurrence(rule, at("2026-01-01T09:00:00Z"), zone, EPOCH)).toThrow(RangeError);
  });

  it("throws on invalid dates and limits", () => {
    expect(() => occurrencesAfter("FREQ=DAILY", new Date(Number.NaN), "UTC", EPOCH, 1)).toThrow("dtstart");
    expect(() => occurrencesAfter("FREQ=DAILY", EPOCH, "UTC", new Date(Number.NaN), 1)).toThrow("after");
    expect(() => occurrencesAfter("FREQ=DAILY", EPOCH, "UTC", EPOCH, -1)).toThrow("limit");
    expect(() => occurrencesAfter("FREQ=DAILY", EPOCH, "UTC", EPOCH, 1.5)).toThrow("limit");
  });
});

describe("isValidTimezone", () => {
  it.each([
    ["America/New_York", true],
    ["Australia/Lord_Howe", true],
    ["Asia/Kolkata", true],
    ["UTC", true],
    ["Mars/Olympus_Mons", false],
    ["", false],
    ["+05:30", false],
  ])("%j -> %s", (zone, valid) => {
    expect(isValidTimezone(zone)).toBe(valid);
  });
});

describe("fast-forward (bounded evaluation)", () => {
  const rules = fc.record({
    freq: fc.constantFrom("DAILY", "WEEKLY", "MONTHLY"),
    interval: fc.integer({ min: 1, max: 4 }),
    count: fc.option(fc.integer({ min: 1, max: 120 }), { nil: undefined }),
    days: fc.subarray(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]),
    monthDays: fc.subarray([1, 2, 15, 28, 29, 30, 31, -1, -2]),
  });
  const toRule = (r: { freq: string; interval: number; count?: number; days: string[]; monthDays: number[] }) =>
    [
      `FREQ=${r.freq}`,
      `INTERVAL=${r.interval}`,
      r.freq === "WEEKLY" && r.days.length ? `BYDAY=${r.days.join(",")}` : "",
      r.freq === "MONTHLY" && r.monthDays.length ? `BYMONTHDAY=${r.monthDays.join(",")}` : "",
      r.count ? `COUNT=${r.count}` : "",
    ]
      .filter(Boolean)
      .join(";");

  it("gives the same occurrences after any instant as stepping from the start", () => {
    fc.assert(
      fc.property(
        rules,
        fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2030-01-01T00:00:00Z"), noInvalidDate: true }),
        fc.integer({ min: 0, max: 400 * 86_400_000 }),
        fc.constantFrom("UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe"),
        (r, start, offsetMs, tz) => {
          const rule = toRule(r);
          const after = new Date(start.getTime() + offsetMs);
          const stepped = occurrencesAfter(rule, start, tz, new Date(start.getTime() - 1), 1000).filter((d) => d > after);
          expect(occurrencesAfter(rule, start, tz, after, 3)).toEqual(stepped.slice(0, 3));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("answers quickly for a start decades back, and refuses what would need too many steps", () => {
    const everyDay = Array.from({ length: 31 }, (_, i) => i + 1).join(",");
    const t = performance.now();
    expect(
      nextOccurrence("FREQ=DAILY;COUNT=100000", new Date("1970-01-01T09:00:00Z"), "Europe/Paris", new Date("2026-12-01T00:00:00Z")),
    ).not.toBeNull();
    expect(
      nextOccurrence("FREQ=WEEKLY;BYDAY=MO,FR;COUNT=5000", new Date("1970-01-05T09:00:00Z"), "UTC", new Date("2026-12-01T00:00:00Z")),
    ).toBeNull();
    expect(
      nextOccurrence(
        `FREQ=MONTHLY;BYMONTHDAY=${everyDay};COUNT=100000`,
        new Date("1970-01-01T09:00:00Z"),
        "UTC",
        new Date("2026-12-01T00:00:00Z"),
      ),
    ).not.toBeNull();
    expect(performance.now() - t).toBeLessThan(2000); // generous: the point is no quadratic blow-up
    expect(() =>
      occurrencesAfter("FREQ=DAILY", new Date("2026-01-01T00:00:00Z"), "UTC", new Date("2026-01-01T00:00:00Z"), 100_000),
    ).toThrow(RecurrenceTooCostlyError);
  });
});

describe("a rule that never matches (bounded search)", () => {
  const never: [string, string, string][] = [
    ["FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=30", "2030-02-01T00:00:00Z", "UTC"],
    ["FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=-30,30,31", "2030-02-01T00:00:00Z", "UTC"],
    ["FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31;COUNT=5", "2030-04-01T00:00:00Z", "UTC"],
    ["FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=30;UNTIL=20310101", "2030-02-01T00:00:00Z", "UTC"],
    ["FREQ=MONTHLY;INTERVAL=24;BYMONTHDAY=29", "2031-02-01T00:00:00Z", "UTC"], // odd years: never a leap year
    // 02:00Z on March 1 is still February 28 in New York.
    ["FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=30", "2030-03-01T02:00:00Z", "America/New_York"],
  ];

  it.each(never)("%s from %s in %s has no occurrence, found without searching to the year 9999", (rule, start, zone) => {
    const dtstart = at(start);
    const t = performance.now();
    for (let i = 0; i < 20; i++) {
      expect(nextOccurrence(rule, dtstart, zone, dtstart)).toBeNull();
      expect(occurrencesAfter(rule, dtstart, zone, at("2500-01-01T00:00:00Z"), 10)).toEqual([]);
    }
    // Unbounded, each call stepped through ~8,000 empty periods (~20 ms); bounded, it is well under 1 ms.
    expect(performance.now() - t).toBeLessThan(150);
    expect(neverMatches(rule, dtstart, zone)).toMatch(/^never matches: BYMONTHDAY=.* INTERVAL=\d+ lands on from (February|April)/);
  });

  it.each([
    ["FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=29", "2030-02-01T00:00:00Z", "UTC", "2032-02-29T00:00:00.000Z"],
    ["FREQ=MONTHLY;INTERVAL=48;BYMONTHDAY=29", "2096-02-29T12:00:00Z", "UTC", "2104-02-29T12:00:00.000Z"], // 2100 is no leap year
    ["FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=30", "2030-03-01T02:00:00Z", "UTC", "2030-03-30T02:00:00.000Z"],
    ["FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=30", "2030-01-31T00:00:00Z", "UTC", "2031-01-30T00:00:00.000Z"],
    ["FREQ=MONTHLY;INTERVAL=12", "2030-01-31T00:00:00Z", "UTC", "2031-01-31T00:00:00.000Z"],
  ])("%s from %s in %s matches: neverMatches says so, the next one is %s", (rule, start, zone, next) => {
    expect(neverMatches(rule, at(start), zone)).toBeNull();
    expect(nextOccurrence(rule, at(start), zone, at(start))?.toISOString()).toBe(next);
  });

  it.each([
    ["FREQ=DAILY;UNTIL=20200101T000000Z", "2026-01-01T09:00:00Z", "UTC"],
    ["FREQ=WEEKLY;UNTIL=20251231", "2026-01-01T09:00:00Z", "UTC"],
    // 1 January 01:00 in Tokyo is still 31 December in UTC: the date is the zone's.
    ["FREQ=DAILY;UNTIL=20251231", "2025-12-31T16:00:00Z", "Asia/Tokyo"],
  ])("%s from %s in %s ends before it starts: never matches, naming UNTIL", (rule, start, zone) => {
    expect(neverMatches(rule, at(start), zone)).toMatch(/^never matches: UNTIL=/);
    expect(nextOccurrence(rule, at(start), zone, new Date(at(start).getTime() - 1))).toBeNull();
  });

  it("UNTIL on the start's own day (inclusive) matches", () => {
    expect(neverMatches("FREQ=DAILY;UNTIL=20260101", at("2026-01-01T09:00:00Z"), "UTC")).toBeNull();
  });

  it("DAILY and WEEKLY rules always match", () => {
    for (const rule of ["FREQ=DAILY;INTERVAL=1000", "FREQ=WEEKLY;INTERVAL=1000;BYDAY=SU", "FREQ=MONTHLY;BYMONTHDAY=31"])
      expect(neverMatches(rule, at("2030-02-01T00:00:00Z"), "UTC")).toBeNull();
  });

  it(`SEARCH_PERIODS is enough: no INTERVAL and start month gives a rule that matches more than ${SEARCH_PERIODS - 1} empty periods in a row`, () => {
    // Month lengths repeat every 400 years (4,800 months); a MONTHLY rule's days exist in a month
    // when its shortest |BYMONTHDAY| does (29, 30 or 31; up to 28 every month has it).
    const CYCLE = 4800;
    const length = Array.from({ length: CYCLE }, (_, m) => new Date(Date.UTC(2000, m + 1, 0)).getUTCDate());
    let longest = 0;
    for (const day of [29, 30, 31]) {
      for (let interval = 1; interval <= 1000; interval++) {
        const seen = new Uint8Array(CYCLE);
        for (let first = 0; first < CYCLE; first++) {
          if (seen[first]) continue;
          const hits: number[] = [];
          let size = 0;
          for (let m = first; size === 0 || m !== first; m = (m + interval) % CYCLE, size++) {
            seen[m] = 1;
            if ((length[m] as number) >= day) hits.push(size);
          }
          for (const [i, hit] of hits.entries()) longest = Math.max(longest, (hits[i + 1] ?? (hits[0] as number) + size) - hit - 1);
        }
      }
    }
    expect(longest).toBe(SEARCH_PERIODS - 1);
  });

  it("finds the same next occurrence as a plain search month by month (rare MONTHLY rules, any start)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 5, 7, 12, 24, 36, 48, 96, 300, 996),
        fc.constantFrom(29, 30, 31),
        fc.date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("2400-12-31T00:00:00Z"), noInvalidDate: true }),
        (interval, day, start) => {
          let expected: string | null = null;
          for (let k = 0; expected === null; k++) {
            const month = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + k * interval, 1));
            if (month.getUTCFullYear() > 9999) break;
            const days = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 0)).getUTCDate();
            const candidate = Date.UTC(month.getUTCFullYear(), month.getUTCMonth(), day) + (start.getTime() % 86_400_000);
            if (days >= day && candidate > start.getTime()) expected = new Date(candidate).toISOString();
          }
          const rule = `FREQ=MONTHLY;INTERVAL=${interval};BYMONTHDAY=${day}`;
          expect(nextOccurrence(rule, start, "UTC", start)?.toISOString() ?? null).toBe(expected);
          expect(neverMatches(rule, start, "UTC") === null).toBe(expected !== null);
        },
      ),
      { numRuns: 300 },
    );
  });
});
