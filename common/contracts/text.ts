/**
 * What PostgreSQL (and JSON consumers) cannot hold: NUL (U+0000) and unpaired UTF-16 surrogates.
 * Every string a client or a raw record brings is checked once at the edge (HTTP ingest, the
 * event parser), so nothing that parses can fail later in a database write.
 */

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
