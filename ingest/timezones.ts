/**
 * The user's timezone that new tasks default to. Read from PostgreSQL; the last value read is
 * remembered so that creating a task keeps working through a PostgreSQL outage while the broker
 * takes writes (only a user never seen by this process then gets 503).
 */
import type { Db } from "../common/postgres.ts";
import { userTimezone } from "../storage/queries/user-data.ts";

const MAX_REMEMBERED = 100_000;

export function timezoneOf(db: Db): (userId: string) => Promise<string> {
  const remembered = new Map<string, string>();
  return async (userId) => {
    try {
      const tz = await userTimezone(db, userId);
      remembered.delete(userId);
      remembered.set(userId, tz);
      if (remembered.size > MAX_REMEMBERED) remembered.delete(remembered.keys().next().value as string);
      return tz;
    } catch (err) {
      const last = remembered.get(userId);
      if (last === undefined) throw err;
      return last;
    }
  };
}
