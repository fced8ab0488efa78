/**
 * decide(state, command) for the user's tags: the tag event a request makes, or why it is
 * refused. Names follow tags.ts (trimmed, not blank, unique whatever their case); a write that
 * changes nothing makes no event. The tag a name is taken by is read by the caller (its index
 * in PostgreSQL is the judge) and passed in.
 */
import { newEvent } from "../contracts/envelope.ts";
import type { TaskEvent } from "../contracts/events.ts";
import { type Command, on, type Refusal } from "./decide.ts";
import { BLANK_TAG_NAME, tagName } from "./tags.ts";

export interface Tag {
  id: string;
  name: string;
  color: string | null;
  created_at: string;
}

/** The event to write and the tag as it will be once applied; `event: null` when nothing changes. */
export type TagDecision = { ok: true; event: TaskEvent | null; tag: Tag } | { ok: false; refusal: Refusal };

const refuse = (refusal: Refusal): TagDecision => ({ ok: false, refusal });
const taken = (name: string): Refusal => ({ kind: "conflict", message: `a tag named "${name}" already exists` });

/** What the request alone shows wrong (a blank name), before anything is read for it. */
export function refuseTagInput(input: { name?: string }): Refusal | null {
  return input.name !== undefined && tagName(input.name) === null
    ? { kind: "validation", details: [{ path: "name", message: BLANK_TAG_NAME }] }
    : null;
}

export function createTag(cmd: Command, input: { name: string; color?: string | null }, holder: Tag | null): TagDecision {
  const wrong = refuseTagInput(input);
  if (wrong) return refuse(wrong);
  const name = tagName(input.name) as string;
  if (holder) return refuse(taken(name));
  const color = input.color ?? null;
  const event = newEvent("tag.created", on(cmd, cmd.newId()), { name, color });
  return { ok: true, event, tag: { id: event.aggregate_id, name, color, created_at: event.timestamp } };
}

/** `holder`: the user's tag that has the new name (whatever its case) now, if any; it may be this one. */
export function updateTag(cmd: Command, tag: Tag, input: { name?: string; color?: string | null }, holder: Tag | null): TagDecision {
  const wrong = refuseTagInput(input);
  if (wrong) return refuse(wrong);
  const name = input.name === undefined ? tag.name : (tagName(input.name) as string);
  if (holder && holder.id !== tag.id) return refuse(taken(name));
  const color = input.color === undefined ? tag.color : input.color;
  const changes = {
    ...(name !== tag.name ? { name: { old: tag.name, new: name } } : {}),
    ...(color !== tag.color ? { color: { old: tag.color, new: color } } : {}),
  };
  if (Object.keys(changes).length === 0) return { ok: true, event: null, tag };
  const event = newEvent("tag.updated", on(cmd, tag.id), { changes });
  return { ok: true, event, tag: { ...tag, name, color } };
}

export function deleteTag(cmd: Command, tag: Tag): TagDecision {
  return { ok: true, event: newEvent("tag.deleted", on(cmd, tag.id), {}), tag };
}
