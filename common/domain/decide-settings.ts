/**
 * decide(state, command) for the user's settings: a timezone change is a `settings.updated`
 * event, an unknown zone is refused, and the zone the user has already makes no event.
 */
import { newEvent } from "../contracts/envelope.ts";
import type { TaskEvent } from "../contracts/events.ts";
import { isValidTimezone } from "../recurrence.ts";
import { type Command, on, type Refusal } from "./decide.ts";

export interface Settings {
  timezone: string;
}

export type SettingsDecision = { ok: true; event: TaskEvent | null; settings: Settings } | { ok: false; refusal: Refusal };

/** What the request alone shows wrong (a zone that is no IANA zone), before anything is read for it. */
export function refuseTimezone(timezone: string): Refusal | null {
  return isValidTimezone(timezone)
    ? null
    : { kind: "validation", details: [{ path: "timezone", message: `"${timezone}" is not an IANA timezone` }] };
}

export function changeTimezone(cmd: Command, current: Settings, timezone: string): SettingsDecision {
  const wrong = refuseTimezone(timezone);
  if (wrong) return { ok: false, refusal: wrong };
  if (timezone === current.timezone) return { ok: true, event: null, settings: current };
  const event = newEvent("settings.updated", on(cmd, cmd.user_id), { changes: { timezone: { old: current.timezone, new: timezone } } });
  return { ok: true, event, settings: { timezone } };
}
