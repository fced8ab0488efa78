/**
 * The scheduler's own PostgreSQL session (node-postgres directly: a slonik pool connection cannot
 * stay in LISTEN): it listens on SCHEDULE_CHANGES_CHANNEL and holds the intake lock, a session
 * advisory lock per scope, so one scheduler replica at a time takes schedule changes. The lock goes
 * with the session: when that replica dies or loses its connection, another one takes over at its
 * next attempt.
 */
import pg from "pg";
import { SCHEDULE_CHANGES_CHANNEL } from "./queries/schedule-changes.ts";

/** The advisory lock's class (two-int form; ingest's outbox relay uses the one-bigint form, a separate key space). */
const LOCK_CLASS = 0x5ced;

export interface ScheduleListenerOptions {
  databaseUrl: string;
  scope: string;
  connectTimeoutMs: number;
  /** A change of this scope was committed. */
  onChange: () => void;
  /** The session ended (error or server gone): the lock is lost; connect a new listener. */
  onLost: (err: Error) => void;
}

export interface ScheduleListener {
  /** Takes the intake lock if no other session holds it; true while this session holds it. */
  tryLock(): Promise<boolean>;
  close(): Promise<void>;
}

export async function listenForScheduleChanges(opts: ScheduleListenerOptions): Promise<ScheduleListener> {
  const client = new pg.Client({
    connectionString: opts.databaseUrl,
    connectionTimeoutMillis: opts.connectTimeoutMs,
    keepAlive: true,
    application_name: "taskstream-scheduler-intake",
  });
  let ended = false;
  let locked = false;
  const lost = (err: Error) => {
    if (ended) return;
    ended = true;
    locked = false;
    opts.onLost(err);
  };
  client.on("error", lost);
  client.on("end", () => lost(new Error("PostgreSQL session of the scheduler intake ended")));
  client.on("notification", (n) => {
    if (n.channel === SCHEDULE_CHANGES_CHANNEL && (n.payload ?? "") === opts.scope) opts.onChange();
  });
  try {
    await client.connect();
    await client.query(`listen ${SCHEDULE_CHANGES_CHANNEL}`);
  } catch (err) {
    ended = true;
    await client.end().catch(() => {});
    throw err;
  }
  return {
    async tryLock() {
      if (ended) return false;
      if (locked) return true;
      const r = await client.query<{ locked: boolean }>("select pg_try_advisory_lock($1::int, hashtext($2)) as locked", [
        LOCK_CLASS,
        opts.scope,
      ]);
      locked = r.rows[0]?.locked === true;
      return locked;
    },
    async close() {
      ended = true;
      locked = false;
      await client.end().catch(() => {});
    },
  };
}
