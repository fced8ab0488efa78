/**
 * Request schemas of the HTTP API (TypeBox). They validate requests and generate /openapi.json.
 * Unknown fields are refused so a typo never silently does nothing.
 */
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Value, type ValueError } from "@sinclair/typebox/value";
import "../common/contracts/formats.ts";
import { INSTANT_RANGE_MESSAGE, LIMITS, Priority, RecurrenceMode, Text } from "../common/contracts/index.ts";
import type { ErrorDetail } from "../common/errors.ts";

const Instant = Type.String({ format: "date-time", description: "ISO-8601 with a zone, e.g. 2026-11-23T10:00:00Z" });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
// A cursor carries its list's last sort value: a title sorts by lower(title), up to 1,500
// characters, JSON-escaped and in base64, so it can be several times a title's length.
const Cursor = Type.String({ maxLength: 16_384, description: "The next_cursor of the page before (opaque)" });
// No comma in a tag name: the list filter takes several as `tags=a,b`.
const TagName = Text({ minLength: 1, maxLength: LIMITS.tagName, pattern: "^[^,]+$" });
const TagColor = Nullable(Text({ maxLength: LIMITS.tagColor }));
const Timezone = (description?: string) =>
  Type.String({ minLength: 1, maxLength: LIMITS.timezone, ...(description ? { description } : {}) });

export const ReminderInput = Type.Object(
  {
    before: Type.Optional(
      Type.String({ minLength: 2, maxLength: LIMITS.reminderOffset, description: "ISO-8601 duration before due_date, e.g. PT1H" }),
    ),
    at: Type.Optional(Instant),
  },
  { additionalProperties: false },
);

const taskFields = {
  title: Text({ minLength: 1, maxLength: LIMITS.title }),
  description: Type.Optional(Nullable(Text({ maxLength: LIMITS.description }))),
  due_date: Type.Optional(Nullable(Instant)),
  priority: Type.Optional(Priority),
  tags: Type.Optional(Type.Array(TagName, { maxItems: LIMITS.tagsPerTask })),
  recurrence_rule: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: LIMITS.recurrenceRule }))),
  recurrence_mode: Type.Optional(
    Type.Union(RecurrenceMode.anyOf, {
      description: "schedule (default): instances by the clock; after_completion: the next instance when the current one is completed",
    }),
  ),
  timezone: Type.Optional(Timezone("IANA zone; defaults to the user's")),
};

export const CreateTask = Type.Object(
  { ...taskFields, reminders: Type.Optional(Type.Array(ReminderInput, { maxItems: LIMITS.remindersPerTask })) },
  { additionalProperties: false },
);
export type CreateTask = Static<typeof CreateTask>;
export const UpdateTask = Type.Object(
  {
    ...taskFields,
    title: Type.Optional(taskFields.title),
    reminders: Type.Optional(Type.Array(ReminderInput, { maxItems: LIMITS.remindersPerTask })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateTask = Static<typeof UpdateTask>;
export const CreateTag = Type.Object({ name: TagName, color: Type.Optional(TagColor) }, { additionalProperties: false });
export const UpdateTag = Type.Object(
  { name: Type.Optional(TagName), color: Type.Optional(TagColor) },
  { additionalProperties: false, minProperties: 1 },
);
export const AttachTag = Type.Object(
  { tag_id: Type.Optional(Type.String({ format: "uuid" })), name: Type.Optional(TagName) },
  { additionalProperties: false, minProperties: 1 },
);
export const Settings = Type.Object({ timezone: Timezone() }, { additionalProperties: false });

export const ListTasksQuery = Type.Object(
  {
    search: Type.Optional(Text({ minLength: 1, maxLength: 200 })),
    status: Type.Optional(Type.Union([Type.Literal("pending"), Type.Literal("completed"), Type.Literal("all")])),
    priority: Type.Optional(Type.String({ pattern: "^(low|medium|high|urgent)(,(low|medium|high|urgent))*$" })),
    due_date_start: Type.Optional(Instant),
    due_date_end: Type.Optional(Instant),
    tags: Type.Optional(Text({ minLength: 1, maxLength: 1000 })),
    sort_by: Type.Optional(
      Type.Union([Type.Literal("created_at"), Type.Literal("due_date"), Type.Literal("priority"), Type.Literal("title")]),
    ),
    sort_order: Type.Optional(Type.Union([Type.Literal("asc"), Type.Literal("desc")])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);
/** The activity feed: by keyset cursor, or by offset as before (CONTRACT.md documents `?limit=&offset=`). */
export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: "Default 50" })),
    offset: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 100000, description: "Entries to skip (older paging; new entries shift it: prefer cursor)" }),
    ),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);
/** The tag and reminder lists, in their one order. */
export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: "Default 50; without limit and cursor, the whole list" })),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);
/** A task's history after the user's seq `after` (the `next_after` of the page before). */
export const HistoryQuery = Type.Object(
  { after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })) },
  { additionalProperties: false },
);

export const EventsQuery = Type.Object(
  {
    since: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

/** `/reminders/0/before` → `reminders[0].before` */
export const fieldPath = (pointer: string): string =>
  pointer
    .split("/")
    .filter(Boolean)
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), "") || "(body)";

/** What is wrong, in words a client can act on (TypeBox says "Expected union value" of a union). */
function messageOf(e: Pick<ValueError, "schema" | "value" | "message">): string {
  if (e.schema.format === "date-time")
    return `must be an ISO-8601 date-time with a zone (e.g. 2026-11-23T10:00:00Z); it ${INSTANT_RANGE_MESSAGE}`;
  const members = e.schema.anyOf as TSchema[] | undefined;
  if (!members) return e.message;
  const allowed = members.filter((m) => "const" in m).map((m) => JSON.stringify(m.const));
  const nullable = members.some((m) => m.type === "null");
  // Why the value fails each other form (a string too long, a malformed date), once each.
  const reasons = [
    ...new Set(
      members
        .filter((m) => m.type !== "null" && !("const" in m))
        .map((m) => {
          const first = Value.Errors(m, e.value).First();
          return first ? messageOf(first) : null;
        })
        .filter((r) => r !== null),
    ),
  ];
  const parts = [...reasons, ...(allowed.length > 0 ? [`must be one of ${allowed.join(", ")}`] : [])];
  return `${parts.join("; or ") || e.message}${nullable ? " (or null)" : ""}`;
}

const compiled = new Map<TSchema, ReturnType<typeof TypeCompiler.Compile>>();
/** Checks `value` against `schema`; returns every problem, each naming its field. */
export function validate<T extends TSchema>(
  schema: T,
  value: unknown,
): { ok: true; value: Static<T> } | { ok: false; details: ErrorDetail[] } {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  if (check.Check(value)) return { ok: true, value: value as Static<T> };
  const details: ErrorDetail[] = [];
  const seen = new Set<string>();
  for (const e of check.Errors(value)) {
    // additionalProperties errors point at the object; name the unknown field instead.
    const unknown = e.schema.additionalProperties === false && typeof e.value === "object" && e.value !== null && !Array.isArray(e.value);
    const extra = unknown
      ? Object.keys(e.value as object).filter((k) => !(k in ((e.schema as { properties?: object }).properties ?? {})))
      : [];
    const entries = extra.length
      ? extra.map((k) => ({ path: fieldPath(`${e.path}/${k}`), message: "is not a known field" }))
      : [{ path: fieldPath(e.path), message: messageOf(e) }];
    for (const d of entries) {
      if (seen.has(d.path)) continue;
      seen.add(d.path);
      details.push(d);
    }
    if (details.length >= 20) break;
  }
  return { ok: false, details };
}
