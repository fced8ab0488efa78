/**
 * What PostgreSQL (and JSON consumers) cannot hold: NUL (U+0000) and unpaired UTF-16 surrogates.
 * Every string a client or a raw record brings is checked once at the edge (HTTP ingest, the
 * event parser), so nothing that parses can fail later in a database write.
 */

/** True when `s` can be stored as text: no NUL, no lone surrogate. */
export const isStorableText = (s: string): boolean => !s.includes("\u0000") && s.isWellFormed();

/**
 * The JSON-pointer-like path (`/reminders/0/before`) of the first string (or object key) in
 * `value` that is not storable text, or null when every one is. Walks arrays and plain objects.
 */
export function unstorableTextPath(value: unknown, path = ""): string | null {
  if (typeof value === "string") return isStorableText(value) ? null : path || "/";
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = unstorableTextPath(value[i], `${path}/${i}`);
      if (found !== null) return found;
    }
    return null;
  }
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (!isStorableText(k)) return `${path}/${k.replace(/[^\x20-\x7e]/g, "?")}`;
      const found = unstorableTextPath(v, `${path}/${k}`);
      if (found !== null) return found;
    }
  }
  return null;
}

export const UNSTORABLE_TEXT_MESSAGE = "contains a NUL character or an unpaired UTF-16 surrogate";
