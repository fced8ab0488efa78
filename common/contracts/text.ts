/**
 * Text at the edge. What PostgreSQL (and JSON consumers) cannot hold: NUL (U+0000) and unpaired
 * UTF-16 surrogates. Every string a client or a raw record brings is checked once at the edge
 * (HTTP ingest, the event parser), so nothing that parses can fail later in a database write. And
 * text limits (`Text`), counted in characters (code points) as CONTRACT.md and PostgreSQL count them.
 */
import { Kind, type StringOptions, type TUnsafe, Type, TypeRegistry } from "@sinclair/typebox";
import { DefaultErrorFunction, SetErrorFunction, ValueErrorType } from "@sinclair/typebox/errors";

/** True when `s` can be stored as text: no NUL, no lone surrogate. */
export const isStorableText = (s: string): boolean => !s.includes("\u0000") && s.isWellFormed();

/**
 * The JSON-pointer-like path (`/reminders/0/before`) of the first string (or object key) in
 * `value` that is not storable text, or null when every one is. Walks arrays and plain objects
 * with an explicit stack, so a deeply nested body cannot overflow the call stack.
 */
export function unstorableTextPath(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, ""]];
  while (stack.length > 0) {
    const [v, path] = stack.pop() as [unknown, string];
    if (typeof v === "string") {
      if (!isStorableText(v)) return path || "/";
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}/${i}`]);
    } else if (v !== null && typeof v === "object") {
      const entries = Object.entries(v);
      for (const [k] of entries) if (!isStorableText(k)) return `${path}/${k.replace(/[^\x20-\x7e]/g, "?")}`;
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i] as [string, unknown];
        stack.push([child, `${path}/${k}`]);
      }
    }
  }
  return null;
}

export const UNSTORABLE_TEXT_MESSAGE = "contains a NUL character or an unpaired UTF-16 surrogate";

/**
 * Text limits count characters, as CONTRACT.md says ("`title` (1–500 chars)") and as PostgreSQL's
 * `char_length` checks them (title 1–500, tag name 1–64): Unicode code points. TypeBox's
 * `minLength`/`maxLength` count UTF-16 code units, so 500 emoji (1,000 units) were refused. A
 * `Text` schema publishes the same JSON Schema as `Type.String` (`type`, `minLength`, `maxLength`,
 * `pattern`: JSON Schema's lengths are code points already, so /openapi.json and
 * redpanda/schemas/ keep their meaning), and is checked in code points by the `Text` kind
 * registered here. Request bodies (ingest) and events (the processors) use it alike, so an event
 * ingest accepts is one the processors accept.
 */

/** Code points of `s` (a lone surrogate counts as one; isStorableText refuses those anyway). */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

const TEXT_KIND = "Text";
type TextOptions = Pick<StringOptions, "minLength" | "maxLength" | "pattern" | "description" | "default">;
const patterns = new Map<string, RegExp>();
const matches = (pattern: string, value: string): boolean => {
  let re = patterns.get(pattern);
  if (!re) {
    re = new RegExp(pattern);
    patterns.set(pattern, re);
  }
  return re.test(value);
};

/** What is wrong with `value` as text of `schema`, or null. */
function textProblem(schema: TextOptions, value: unknown): string | null {
  if (typeof value !== "string") return "Expected string";
  if (schema.minLength !== undefined || schema.maxLength !== undefined) {
    const n = codePointLength(value);
    if (schema.minLength !== undefined && n < schema.minLength)
      return `Expected string length greater or equal to ${schema.minLength} characters`;
    if (schema.maxLength !== undefined && n > schema.maxLength)
      return `Expected string length less or equal to ${schema.maxLength} characters (Unicode code points)`;
  }
  if (schema.pattern !== undefined && !matches(schema.pattern, value)) return `Expected string to match '${schema.pattern}'`;
  return null;
}

if (!TypeRegistry.Has(TEXT_KIND)) {
  TypeRegistry.Set<TextOptions>(TEXT_KIND, (schema, value) => textProblem(schema, value) === null);
  SetErrorFunction((error) =>
    error.errorType === ValueErrorType.Kind && error.schema[Kind] === TEXT_KIND
      ? (textProblem(error.schema as TextOptions, error.value) ?? DefaultErrorFunction(error))
      : DefaultErrorFunction(error),
  );
}

/** A string whose `minLength`/`maxLength` count characters (code points); published as a plain JSON Schema string. */
export const Text = (options: TextOptions = {}): TUnsafe<string> => Type.Unsafe<string>({ [Kind]: TEXT_KIND, ...options, type: "string" });
