import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseReminderSpec, parseReminderSpecs, type ReminderSpec, reminderFireTime } from "./reminder-time.ts";

const DUE = new Date("2026-05-01T09:00:00Z");

describe("parseReminderSpec accepts", () => {
  it.each<[unknown, ReminderSpec]>([
    [{ before: "PT1H" }, { kind: "before", before: "PT1H" }],
    [{ before: "PT15M" }, { kind: "before", before: "PT15M" }],
    [{ before: "P1D" }, { kind: "before", before: "P1D" }],
    [{ before: "P1DT2H30M" }, { kind: "before", before: "P1DT2H30M" }],
    [{ before: "P1W" }, { kind: "before", before: "P1W" }],
    [{ before: "PT30S" }, { kind: "before", before: "PT30S" }],
    [{ before: "P365D" }, { kind: "before", before: "P365D" }],
    [{ before: "P1Y" }, { kind: "before", before: "P1Y" }],
    [{ at: "2026-05-01T08:00:00Z" }, { kind: "at", at: new Date("2026-05-01T08:00:00.000Z") }],
    [{ at: "2026-05-01T09:00:00.250+02:00" }, { kind: "at", at: new Date("2026-05-01T07:00:00.250Z") }],
    [{ at: "2026-05-01T09:00:00-0430" }, { kind: "at", at: new Date("2026-05-01T13:30:00.000Z") }],
  ])("%j", (input, spec) => {
    expect(parseReminderSpec(input, { path: "reminders[0]", dueDate: DUE })).toEqual({ ok: true, spec });
  });

  it("an `at` reminder without a due date", () => {
    expect(parseReminderSpec({ at: "2026-05-01T08:00:00Z" }, { dueDate: null })).toMatchObject({ ok: true });
  });
});

describe("parseReminderSpec rejects, naming the field", () => {
  it.each<[unknown, Date | null, string, string]>([
    [{ before: "PT1H" }, null, "reminders[0].before", "reminders[0].before needs due_date"],
    [{ before: "PT0S" }, DUE, "reminders[0].before", "reminders[0].before must be a positive duration"],
    [{ before: "P0D" }, DUE, "reminders[0].before", "must be a positive duration"],
    [{ before: "PT-1H" }, DUE, "reminders[0].before", "must be a positive duration"],
    [{ before: "-PT1H" }, DUE, "reminders[0].before", "must be a positive duration"],
    [{ before: "P1DT-1H" }, DUE, "reminders[0].before", "must be a positive duration"],
    [{ before: "1 hour" }, DUE, "reminders[0].before", 'reminders[0].before "1 hour" is not an ISO-8601 duration'],
    [{ before: "" }, DUE, "reminders[0].before", '"" is not an ISO-8601 duration'],
    [{ before: "pt1h" }, DUE, "reminders[0].before", '"pt1h" is not an ISO-8601 duration'],
    [{ before: 3600 }, DUE, "reminders[0].before", "reminders[0].before must be an ISO-8601 duration string"],
    [{ before: "P366D" }, DUE, "reminders[0].before", "reminders[0].before must be at most 365 days"],
    [{ before: "PT8761H" }, DUE, "reminders[0].before", "must be at most 365 days"],
    [{ before: "P1Y1D" }, DUE, "reminders[0].before", "must be at most 365 days"],
    [{ at: "2026-05-01T09:00:00" }, DUE, "reminders[0].at", 'reminders[0].at "2026-05-01T09:00:00" needs a UTC offset or Z'],
    [{ at: "2026-05-01" }, DUE, "reminders[0].at", "needs a UTC offset or Z"],
    [{ at: "tomorrow" }, DUE, "reminders[0].at", 'reminders[0].at "tomorrow" is not an ISO-8601 date-time'],
    [{ at: "2026-02-30T09:00:00Z" }, DUE, "reminders[0].at", "is not an ISO-8601 date-time"],
    [{ at: 1_777_000_000_000 }, DUE, "reminders[0].at", "reminders[0].at must be an ISO-8601 date-time string"],
    [{}, DUE, "reminders[0]", 'reminders[0] must have "before" or "at"'],
    [{ before: "PT1H", at: "2026-05-01T08:00:00Z" }, DUE, "reminders[0]", 'must have either "before" or "at", not both'],
    [{ before: "PT1H", repeat: true }, DUE, "reminders[0].repeat", "reminders[0].repeat is not allowed"],
    [null, DUE, "reminders[0]", "reminders[0] must be an object"],
    ["PT1H", DUE, "reminders[0]", "must be an object"],
    [[{ before: "PT1H" }], DUE, "reminders[0]", "must be an object"],
  ])("%j (due %s)", (input, dueDate, path, fragment) => {
    const result = parseReminderSpec(input, { path: "reminders[0]", dueDate });
    expect(result).toMatchObject({ ok: false, path });
    if (!result.ok) expect(result.message).toContain(fragment);
  });

  it('uses "reminder" as the default path', () => {
    expect(parseReminderSpec({ before: "PT1H" }, { dueDate: null })).toEqual({
      ok: false,
      path: "reminder.before",
      message: "reminder.before needs due_date",
    });
  });
});

describe("parseReminderSpecs", () => {
  it("accepts several reminders on one task", () => {
    expect(parseReminderSpecs([{ before: "P1D" }, { before: "PT1H" }, { at: "2026-04-01T00:00:00Z" }], DUE)).toEqual({
      ok: true,
      specs: [
        { kind: "before", before: "P1D" },
        { kind: "before", before: "PT1H" },
        { kind: "at", at: new Date("2026-04-01T00:00:00Z") },
      ],
    });
    expect(parseReminderSpecs([], null)).toEqual({ ok: true, specs: [] });
  });

  it("reports the first bad entry by index", () => {
    expect(parseReminderSpecs([{ at: "2026-04-01T00:00:00Z" }, { before: "PT1H" }], null)).toEqual({
      ok: false,
      path: "reminders[1].before",
      message: "reminders[1].before needs due_date",
    });
  });
});

describe("reminderFireTime", () => {
  it.each<[string, ReminderSpec, Date | null, string | undefined, string | null]>([
    ["one hour before", { kind: "before", before: "PT1H" }, DUE, undefined, "2026-05-01T08:00:00.000Z"],
    ["P1DT2H30M before", { kind: "before", before: "P1DT2H30M" }, DUE, undefined, "2026-04-30T06:30:00.000Z"],
    ["one week before", { kind: "before", before: "P1W" }, DUE, undefined, "2026-04-24T09:00:00.000Z"],
    ["at ignores the due date", { kind: "at", at: new Date("2026-04-01T00:00:00Z") }, DUE, undefined, "2026-04-01T00:00:00.000Z"],
    ["at without a due date", { kind: "at", at: new Date("2026-04-01T00:00:00Z") }, null, undefined, "2026-04-01T00:00:00.000Z"],
    ["before without a due date", { kind: "before", before: "PT1H" }, null, undefined, null],
    // 09:00 EDT on 03-08 (the day New York springs forward); the day before is 09:00 EST.
    ["P1D is 24 hours in UTC", { kind: "before", before: "P1D" }, new Date("2026-03-08T13:00:00Z"), undefined, "2026-03-07T13:00:00.000Z"],
    [
      "P1D is a calendar day in New York (23 h here)",
      { kind: "before", before: "P1D" },
      new Date("2026-03-08T13:00:00Z"),
      "America/New_York",
      "2026-03-07T14:00:00.000Z",
    ],
    [
      "PT24H stays 24 hours in New York",
      { kind: "before", before: "PT24H" },
      new Date("2026-03-08T13:00:00Z"),
      "America/New_York",
      "2026-03-07T13:00:00.000Z",
    ],
    // 09:00 +11 on 10-04 in Lord Howe; the day before is 09:00 +10:30.
    [
      "P1D across Lord Howe's 30-minute shift",
      { kind: "before", before: "P1D" },
      new Date("2026-10-03T22:00:00Z"),
      "Australia/Lord_Howe",
      "2026-10-02T22:30:00.000Z",
    ],
    ["PT1H in Kolkata", { kind: "before", before: "PT1H" }, new Date("2026-03-08T03:30:00Z"), "Asia/Kolkata", "2026-03-08T02:30:00.000Z"],
  ])("%s", (_name, spec, dueDate, timezone, expected) => {
    expect(reminderFireTime(spec, dueDate, timezone)?.toISOString() ?? null).toBe(expected);
  });

  it("round-trips a parsed spec", () => {
    const result = parseReminderSpec({ before: "P1DT2H30M" }, { dueDate: DUE });
    if (!result.ok) throw new Error(result.message);
    expect(reminderFireTime(result.spec, DUE)?.toISOString()).toBe("2026-04-30T06:30:00.000Z");
  });

  it("throws on an unknown timezone", () => {
    expect(() => reminderFireTime({ kind: "before", before: "PT1H" }, DUE, "Mars/Olympus_Mons")).toThrow(RangeError);
  });
});

describe("a `before` duration is accepted in a normal form that parses back to itself, or refused naming the field", () => {
  it.each<[string, string, number]>([
    // input, normal form, milliseconds before a UTC due date
    ["P0.5D", "P0.5D", 43_200_000],
    ["PT1.5S", "PT1.5S", 1_500],
    ["PT1,5S", "PT1.5S", 1_500],
    ["PT0.001S", "PT0.001S", 1],
    ["PT0.0010S", "PT0.001S", 1],
    ["P0.0001D", "P0.0001D", 8_640],
    // 15.768 s: luxon writes 5e-7, which it cannot read back.
    ["P0.0000005Y", "P0.0000005Y", 15_768],
    ["P0.0000005M", "P0.0000005M", 1_296],
    ["PT000001H", "PT1H", 3_600_000],
    ["P0DT1H", "PT1H", 3_600_000],
    ["P1DT", "P1D", 86_400_000],
    ["PT31536000S", "PT31536000S", 31_536_000_000],
  ])("%s -> %s", (input, normal, ms) => {
    const result = parseReminderSpec({ before: input }, { dueDate: DUE });
    expect(result).toEqual({ ok: true, spec: { kind: "before", before: normal } });
    expect(parseReminderSpec({ before: normal }, { dueDate: DUE })).toEqual(result);
    expect(DUE.getTime() - (reminderFireTime({ kind: "before", before: normal }, DUE)?.getTime() ?? 0)).toBe(ms);
  });

  it.each<[string, string]>([
    ["P0.0000001D", "finer than a millisecond"],
    ["PT0.0000001S", "finer than a millisecond"],
    ["PT0.0001S", "finer than a millisecond"],
    ["PT36000.0001S", "finer than a millisecond"],
    ["P0.0000001Y", "finer than a millisecond"],
    ["P", "must be a positive duration"],
    ["PT", "must be a positive duration"],
    ["P-0DT1H", "must be a positive duration"],
    ["PT1.-5S", "must be a positive duration"],
    ["P99999999999999999999D", "must be at most 365 days"],
    ["PT0.00000000000000000001H", "finer than a millisecond"],
  ])("%s is refused: %s", (input, fragment) => {
    const result = parseReminderSpec({ before: input }, { path: "reminders[0]", dueDate: DUE });
    expect(result).toMatchObject({ ok: false, path: "reminders[0].before" });
    if (!result.ok) expect(result.message).toContain(fragment);
  });

  // Fractions with many leading zeros are where exponent notation and sub-millisecond values hide.
  const fraction = fc.tuple(fc.nat({ max: 20 }), fc.stringMatching(/^\d{1,4}$/)).map(([zeros, digits]) => "0".repeat(zeros) + digits);
  const component = fc
    .tuple(fc.oneof(fc.constant(0), fc.nat({ max: 400 })), fc.option(fraction, { nil: undefined }))
    .map(([whole, fraction]) => (fraction === undefined ? `${whole}` : `${whole}.${fraction}`));
  const duration = fc
    .record({
      Y: fc.option(component, { nil: undefined }),
      M: fc.option(component, { nil: undefined }),
      W: fc.option(component, { nil: undefined }),
      D: fc.option(component, { nil: undefined }),
      H: fc.option(component, { nil: undefined }),
      Mi: fc.option(component, { nil: undefined }),
      S: fc.option(component, { nil: undefined }),
    })
    .map((c) => {
      const date = (["Y", "M", "W", "D"] as const).map((u) => (c[u] === undefined ? "" : `${c[u]}${u}`)).join("");
      const time = [c.H && `${c.H}H`, c.Mi && `${c.Mi}M`, c.S && `${c.S}S`].filter(Boolean).join("");
      return `P${date}${time ? `T${time}` : ""}`;
    });

  it("holds for any decimal duration (tiny fractions, many digits, every unit)", () => {
    fc.assert(
      fc.property(duration, fc.constantFrom("UTC", "America/New_York"), (before, zone) => {
        const result = parseReminderSpec({ before }, { path: "reminders[0]", dueDate: DUE });
        if (!result.ok) {
          expect(result.path).toBe("reminders[0].before");
          return;
        }
        const spec = result.spec as Extract<ReminderSpec, { kind: "before" }>;
        expect(spec.before).not.toMatch(/e/i);
        expect(parseReminderSpec({ before: spec.before }, { dueDate: DUE })).toEqual(result);
        const fires = reminderFireTime(spec, DUE, zone);
        expect(fires?.getTime()).toBeLessThan(DUE.getTime());
        expect(reminderFireTime({ kind: "before", before }, DUE, zone)?.getTime()).toBe(fires?.getTime());
      }),
      { numRuns: 2000 },
    );
  });
});
