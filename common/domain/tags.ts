/**
 * Tag names, one rule wherever a name enters (a tag created or renamed, a task's tags, in ingest
 * and in the processors) and wherever names are compared: surrounding whitespace is no part of a
 * name, a blank name is refused, and a user's tag names are unique whatever their case.
 */
export const BLANK_TAG_NAME = "must not be blank";

/** The name as stored, or null when it is blank. */
export function tagName(raw: string): string | null {
  const name = raw.trim();
  return name === "" ? null : name;
}

/**
 * What a user's tag names are unique by: their case ignored as PostgreSQL's lower() ignores it
 * (its unique index on lower(name) is the judge), each character lowercased on its own.
 * JavaScript's toLowerCase of a whole string differs in two places: "İ" becomes "i̇" (two
 * characters) and a final "Σ" becomes "ς"; PostgreSQL makes them "i" and "σ". A name that was a
 * new tag here and a duplicate there made the whole write fail after its 202.
 */
export const tagKey = (name: string): string => Array.from(name.trim(), (c) => (c === "\u0130" ? "i" : c.toLowerCase())).join("");

/** A task's tag names after the tag `from` is renamed `to` (null: deleted), or null when it does not carry it. */
export function retagged(names: readonly string[], from: string, to: string | null): string[] | null {
  if (!names.includes(from)) return null;
  const kept = names.filter((t) => t !== from);
  return (to === null ? kept : [...kept, to]).sort();
}
