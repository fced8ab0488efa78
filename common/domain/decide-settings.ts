/**
 * decide(state, command) for the user's settings: a timezone change is a `settings.updated`
 * event, an unknown zone is refused, and the zone the user has already makes no event.
 */
import { newEvent } from "../contracts/envelope.ts";
import type { TaskEvent } from "../contracts/events.ts";
import { isValidTimezone } from "../recurrence.ts";
import type { Command, Refusal } from "./decide.ts";

export interface Settings {
  timezone: string;
}

export type SettingsDecision = { ok: true; event: TaskEvent | null; settings: Settings } | { ok: false; refusal: Refusal };

export function changeTimezone(cmd: Command, current: Settings, timezone: string): SettingsDecision {
  if (!isValidTimezone(timezone))
    return {
      ok: false,
      refusal: { kind: "validation", details: [{ path: "timezone", message: `"${timezone}" is not an IANA timezone` }] },
    };
  if (timezone === current.timezone) return { ok: true, event: null, settings: current };
  const event = newEvent(
    "settings.updated",
    { user_id: cmd.user_id, aggregate_id: cmd.user_id, correlation_id: cmd.correlation_id, event_id: cmd.newId(), timestamp: cmd.now },
    { changes: { timezone: { old: current.timezone, new: timezone } } },
  );
  return { ok: true, event, settings: { timezone } };
}
