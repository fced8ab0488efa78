/** Property tests: the event parser and the request validator hold up under arbitrary input. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CreateTask, UpdateTask, validate } from "../../ingest/schemas.ts";
import { parseRecurrenceRule } from "../recurrence.ts";
import { MalformedEventError, newEvent, parseEvent, serializeEvent } from "./envelope.ts";

const runs = { numRuns: 2000 };

describe("parseEvent", () => {
  it("rejects arbitrary bytes with MalformedEventError only", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        try {
          parseEvent(Buffer.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(MalformedEventError);
        }
      }),
      runs,
    );
  });

  it("rejects arbitrary JSON values with MalformedEventError only", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(() => parseEvent(JSON.stringify(value))).toThrow(MalformedEventError);
      }),
      runs,
    );
  });

  it("round-trips any well-formed task.completed event and refuses it with any field removed", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 128 }),
        fc.uuid(),
        fc.uuid(),
        fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }),
        (user, agg, corr, at) => {
          const e = newEvent(
            "task.completed",
            { user_id: user, aggregate_id: agg, correlation_id: corr },
            { completed_at: at.toISOString() },
          );
          expect(parseEvent(serializeEvent(e))).toEqual(e);
          for (const key of Object.keys(e)) {
            const broken: Record<string, unknown> = { ...e };
            delete broken[key];
            expect(() => parseEvent(JSON.stringify(broken))).toThrow(MalformedEventError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("request validation", () => {
  it("never throws, and every rejection names at least one field", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.dictionary(fc.constantFrom("title", "due_date", "priority", "tags", "reminders", "timezone", "x"), fc.jsonValue()),
        ),
        (body) => {
          for (const schema of [CreateTask, UpdateTask]) {
            const r = validate(schema, body);
            if (!r.ok) {
              expect(r.details.length).toBeGreaterThan(0);
              for (const d of r.details) expect(d.path.length).toBeGreaterThan(0);
            }
          }
        },
      ),
      runs,
    );
  });

  it("accepts any title of 1–500 characters and nothing longer", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 600 }), (title) => {
        expect(validate(CreateTask, { title }).ok).toBe(title.length <= 500);
      }),
      runs,
    );
  });
});

describe("parseRecurrenceRule", () => {
  it("never throws on arbitrary strings", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.stringMatching(/^(RRULE:)?(FREQ|INTERVAL|BYDAY|COUNT|UNTIL|BYSETPOS)=[A-Z0-9,;=-]{0,30}$/)),
        (rule) => {
          const r = parseRecurrenceRule(rule);
          if (!r.ok) expect(r.message.length).toBeGreaterThan(0);
        },
      ),
      runs,
    );
  });
});
