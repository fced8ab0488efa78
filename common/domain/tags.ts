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

/** What a user's tag names are unique by. */
export const tagKey = (name: string): string => name.trim().toLowerCase();
