/**
 * Admission: everything a request needs from Redis before it runs, in ONE round trip (a Lua
 * script): the user's rate-limit token (writes and reads in their own buckets), the claim of
 * its Idempotency-Key, the user's timezone, and the user's pending writes (accepted with 202,
 * not applied yet), so reads and new writes see them (read your writes).
 *
 * Idempotency-Key: the first answer to a write is kept for 24 h and returned to any retry with
 * the same key; a key reused for a different request, or still in progress, is a 409. The
 * answers of the user's last MAX_KEPT_PER_USER keys are kept (bounded memory per user).
 *
 * With Redis unreachable, requests go ahead unlimited (counted), without pending writes and
 * with the timezone from PostgreSQL; a write with an Idempotency-Key is refused (503), since
 * its once-only promise cannot be kept.
 */
import { createHash } from "node:crypto";
import type { Redis, Result } from "ioredis";
import type { TaskEvent } from "../common/contracts/index.ts";
import { errors } from "../common/errors.ts";
import { isInfrastructureError } from "../common/failures.ts";
import { metric } from "../common/metrics.ts";
import { PENDING_SECONDS, type RedisKeys } from "../common/redis.ts";

const unlimited = metric.counter("ingest_rate_limit_unavailable_total", "Requests let through unlimited because Redis was unreachable");

const KEEP_SECONDS = 24 * 3600;
/**
 * How long a key's claim holds a retry off while its first request runs (409 with Retry-After). A
 * claim outlives any request but a pathological one (a body within 6 s, the broker within
 * PRODUCE_TIMEOUT_MS); when its process crashed, a retry is decided again after this long with the
 * same ids (the key names them), so the processors apply the write once however often it is made.
 */
const IN_PROGRESS_SECONDS = 15;
export const MAX_KEPT_PER_USER = 1000;
/** At most this many pending writes per user are remembered (the rate limit keeps it far lower). */
const MAX_PENDING = 1000;

/** Takes a token of the bucket `KEYS[1]` (ARGV 1 tokens/s, 2 burst, 3 now ms), or returns `refused` with the seconds to wait. */
const takeToken = (refused: (wait: string) => string) => `
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
if tokens < 1 then return ${refused("math.ceil((1 - tokens) / rate)")} end
redis.call('HSET', KEYS[1], 'tokens', tokens - 1, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)`;

/** Claims the Idempotency-Key slot `KEYS[2]` (ARGV 4 the claim, '' = no key; 5 seconds): `stored` is the earlier claim, or false. */
const CLAIM_KEY = `
local stored = false
if ARGV[4] ~= '' and not redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5], 'NX') then stored = redis.call('GET', KEYS[2]) end`;

/**
 * Records a pending write: `index` maps event id -> aggregate id, `events` holds the aggregate's
 * pending events. The index's `#` counts them (their order); `~`, in the index and in the
 * aggregate's hash, counts the writes decided against pending ones (not creations): what
 * REMEMBER_IF_UNCHANGED compares. `also`: Lua run when it is recorded (counting it elsewhere too).
 */
const rememberPending = (index: string, events: string, a: (n: number) => string, decided = true, also = "") => {
  const counted = decided ? `redis.call('HINCRBY', ${index}, '~', 1) redis.call('HINCRBY', ${events}, '~', 1)` : "";
  return `
if redis.call('HLEN', ${index}) <= tonumber(${a(3)}) then
  local n = redis.call('HINCRBY', ${index}, '#', 1)
  ${counted}${also}
  redis.call('HSET', ${index}, ${a(0)}, ${a(1)})
  redis.call('HSET', ${events}, ${a(0)}, n .. ' ' .. ${a(2)})
  redis.call('EXPIRE', ${index}, ${a(4)})
  redis.call('EXPIRE', ${events}, ${a(4)})
end`;
};

// KEYS: 1 rate bucket, 2 idempotency slot, 3 timezone, 4 the user's pending-write index, 5.. pending events of aggregates
// ARGV: 1 tokens/s, 2 burst, 3 now (ms), 4 claim ('' = no Idempotency-Key), 5 claim seconds, 6 '1' = return the index,
//       7 '0' = take no token (the same request decided again: it paid for its first admission)
// returns {retry-after seconds (0 = admitted), stored claim or false, timezone or false, pending events, index,
//          the counters of decided writes remembered: the index's, then each aggregate's ('' = none)}
const ADMIT = `
if ARGV[7] ~= '0' then${takeToken((wait) => `{${wait}, false, false, {}, {}, {}}`)}
end${CLAIM_KEY}
local events = {}
for i = 5, #KEYS do
  for _, v in ipairs(redis.call('HVALS', KEYS[i])) do events[#events + 1] = v end
end
local index = {}
if ARGV[6] == '1' then index = redis.call('HGETALL', KEYS[4]) end
local decided = {}
for i = 4, #KEYS do decided[#decided + 1] = redis.call('HGET', KEYS[i], '~') or '' end
return {0, stored, redis.call('GET', KEYS[3]), events, index, decided}`;

// A write decided on assumptions (the user's timezone; no pending writes on some aggregates),
// admitted and remembered as pending in one step only if Redis confirms them. Otherwise nothing
// is done and the timezone is returned.
// KEYS: 1 rate bucket, 2 idempotency slot, 3 timezone, 4 the user's pending-write index,
//       5 pending events of the event's aggregate, 6.. aggregates assumed to have no pending writes
// ARGV: 1-5 as ADMIT, 6 the timezone assumed, 7 event id, 8 aggregate id, 9 event JSON, 10 most kept, 11 seconds kept
// returns {-1, timezone or false}: assumption wrong | {retry-after seconds} | {0, stored claim or false}
const ADMIT_WRITE = `
local tz = redis.call('GET', KEYS[3])
if tz ~= ARGV[6] then return {-1, tz} end
for i = 6, #KEYS do
  if redis.call('HLEN', KEYS[i]) > redis.call('HEXISTS', KEYS[i], '~') then return {-1, tz} end
end${takeToken((wait) => `{${wait}}`)}${CLAIM_KEY}
if stored then return {0, stored} end${rememberPending("KEYS[4]", "KEYS[5]", (n) => `ARGV[${7 + n}]`, false)}
return {0, false}`;

// KEYS: 1 the user's pending-write index (event id -> aggregate id), 2 the aggregate's pending events
// ARGV: 1 event id, 2 aggregate id, 3 event JSON, 4 most kept, 5 seconds kept
const REMEMBER_PENDING = rememberPending("KEYS[1]", "KEYS[2]", (n) => `ARGV[${1 + n}]`);
/** A creation: decided against no other pending write, so none decided against it is stale. */
const REMEMBER_CREATION = rememberPending("KEYS[1]", "KEYS[2]", (n) => `ARGV[${1 + n}]`, false);

// As REMEMBER_PENDING (KEYS 1-2, ARGV 1-5), only if no write decided against pending ones (a
// creation is not) was remembered on KEYS[4..] (the index, or aggregates' hashes) since admission
// saw their counters (ARGV[7..], '' = none): 1 when done, 0 when not. KEYS[3] is the counter of
// the user's tag writes (TAG_NAMES), counted too when ARGV[6] is '1' (the write is one).
const REMEMBER_IF_UNCHANGED = `
for i = 4, #KEYS do
  if (redis.call('HGET', KEYS[i], '~') or '') ~= ARGV[i + 3] then return 0 end
end${rememberPending(
  "KEYS[1]",
  "KEYS[2]",
  (n) => `ARGV[${1 + n}]`,
  true,
  `
  if ARGV[6] == '1' then redis.call('HINCRBY', KEYS[3], '~', 1) redis.call('EXPIRE', KEYS[3], ARGV[5]) end`,
)}
return 1`;

// KEYS[1] the key's slot, KEYS[2] the user's index of kept slots (sorted by time)
// ARGV[1] the answer, ARGV[2] keep seconds, ARGV[3] now (ms), ARGV[4] most slots kept per user
const KEEP_ANSWER = `
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[2]) * 1000)
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if over > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #popped, 2 do redis.call('DEL', popped[i]) end
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1`;

type AdmitReply = [number, string | null, string | null, string[], string[], string[]];
type AdmitWriteReply = [-1, string | null] | [number] | [0, string | null];

declare module "ioredis" {
  interface RedisCommander<Context> {
    admit(numKeys: number, ...keysThenArgs: (string | number)[]): Result<AdmitReply, Context>;
    admitWrite(numKeys: number, ...keysThenArgs: (string | number)[]): Result<AdmitWriteReply, Context>;
    rememberIfUnchanged(numKeys: number, ...keysThenArgs: (string | number)[]): Result<number, Context>;
    rememberPending(
      index: string,
      events: string,
      eventId: string,
      aggregateId: string,
      event: string,
      max: number,
      seconds: number,
    ): Result<null, Context>;
    rememberCreation: RedisCommander<Context>["rememberPending"];
    keepAnswer(slot: string, index: string, answer: string, keepSeconds: number, now: number, max: number): Result<number, Context>;
  }
}

export interface Reply {
  status: number;
  body: unknown;
}

export interface Limits {
  perSecond: number;
  burst: number;
}

export interface Admitted {
  /** > 0: refused, retry after this many seconds. */
  retryAfter: number;
  /** The first answer to this Idempotency-Key: return it, do nothing. */
  replay?: Reply;
  /** The user's timezone as Redis knows it (null: ask PostgreSQL). */
  timezone: string | null;
  /** The user's writes accepted but not applied yet on the aggregates asked for, in the order they were accepted. */
  pending: TaskEvent[];
  /** With `index`: every pending write of the user, event id -> aggregate id. */
  pendingIndex: Map<string, string>;
  /** Call with the answer once the write is done (keeps it for retries), or with null when it failed (frees the key). */
  settle(reply: Reply | null): Promise<void>;
  /** The counters of decided writes admission saw (for `rememberIfUnchanged`; null: unknown). */
  seen: Seen | null;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** Pending values are `<n> <event JSON>`; the hash's `#` field is the counter. */
function pendingEvents(values: string[]): TaskEvent[] {
  return values
    .map((v) => {
      const space = v.indexOf(" ");
      return space < 0 ? null : { n: Number(v.slice(0, space)), event: JSON.parse(v.slice(space + 1)) as TaskEvent };
    })
    .filter((p) => p !== null)
    .sort((a, b) => a.n - b.n)
    .map((p) => p.event);
}

/** What a write decided on assumptions (`Admission.admitWrite`) comes to. */
export type WriteAdmission =
  /** Admitted and remembered as pending: produce it, then settle. */
  | { kind: "accepted"; settle(reply: Reply | null): Promise<void> }
  /** Refused by the rate limit: retry after this many seconds. */
  | { kind: "limited"; retryAfter: number }
  /** The first answer to this Idempotency-Key: return it, do nothing. */
  | { kind: "replay"; reply: Reply }
  /** An assumption was wrong: nothing was done; decide again after `admit`. */
  | { kind: "stale" };

/** Counters of the writes decided against pending ones: the user's, and per aggregate asked for. */
export interface Seen {
  user: string;
  aggregates: Map<string, string>;
}

export interface Admission {
  /**
   * `aggregates`: whose pending writes the request needs (the user's own settings, the task in its
   * path); `index`: the ids of all the user's pending writes too (a list waits for them).
   */
  admit(
    userId: string,
    request: {
      write: boolean;
      idempotencyKey?: string;
      fingerprint: string;
      aggregates: string[];
      index?: boolean;
      /** false: takes no rate-limit token (the same request decided again: its first admission took one). */
      charged?: boolean;
    },
  ): Promise<Admitted>;
  /**
   * A write decided without asking Redis first (one round trip instead of two): admitted and its
   * event remembered as pending in one step, only if the user's timezone is `timezone` and the
   * `quiet` aggregates have no pending writes, i.e. if `admit` would have given what it was
   * decided on. Redis unreachable: accepted unlimited, unremembered, as `admit` does.
   */
  admitWrite(
    userId: string,
    request: { idempotencyKey?: string; fingerprint: string; timezone: string; quiet: string[]; event: TaskEvent },
  ): Promise<WriteAdmission>;
  /** The user's timezone as the last admission of this process saw it in Redis (a guess for `admitWrite`). */
  lastKnownTimezone(userId: string): string | undefined;
  /** The pending events of these writes (event id -> aggregate id), in the order they were accepted. */
  pendingEvents(userId: string, writes: Map<string, string>): Promise<TaskEvent[]>;
  /** Remembers a write about to be accepted until the processors have applied it (best effort). */
  rememberPending(event: TaskEvent): Promise<void>;
  /**
   * As rememberPending, only if no other write decided against pending ones was remembered since
   * the admission that saw `seen`: false when one was (this one was decided without it: decide
   * again). Compared on the aggregates admission was asked for, or (`all`: a write that read all
   * the user's data) on any. Redis unreachable: true, unremembered, as `admit` does.
   */
  rememberIfUnchanged(event: TaskEvent, seen: Seen | null, all: boolean): Promise<boolean>;
  /** Forgets a write that was refused after all. */
  forgetPending(event: TaskEvent): Promise<void>;
}

/**
 * A pseudo-aggregate of every user: the names of the user's tags. It holds no pending events, only
 * the counter `~`, which every tag write (create, rename, recolour, delete) decided against pending
 * ones counts besides its tag's own. A write of a task's tag list (attach, detach) writes the
 * task's whole list by name, so what it decided on is the task and the names of the tags it carries
 * or looks up: it asks admission for this aggregate and is decided again when a tag write came in
 * between, while tag writes on other tasks do not make it. (Not a task, tag or user id: a user
 * whose id were this would count its settings here too, which costs a decision, nothing more.)
 */
export const TAG_NAMES = ":tag-names";

/** Timezones remembered per process for `admitWrite` (a bounded map, oldest dropped first). */
const MAX_TIMEZONES = 100_000;

export function admission(redis: Redis, keys: RedisKeys, writes: Limits, reads: Limits, maxKept = MAX_KEPT_PER_USER): Admission {
  redis.defineCommand("admit", { lua: ADMIT });
  redis.defineCommand("admitWrite", { lua: ADMIT_WRITE });
  redis.defineCommand("rememberPending", { numberOfKeys: 2, lua: REMEMBER_PENDING });
  redis.defineCommand("rememberCreation", { numberOfKeys: 2, lua: REMEMBER_CREATION });
  redis.defineCommand("rememberIfUnchanged", { lua: REMEMBER_IF_UNCHANGED });
  redis.defineCommand("keepAnswer", { numberOfKeys: 2, lua: KEEP_ANSWER });
  const nothingToSettle = async () => {};
  const timezones = new Map<string, string>();
  const sawTimezone = (userId: string, tz: string | null) => {
    if (tz === null || timezones.get(userId) === tz) return;
    timezones.delete(userId);
    timezones.set(userId, tz);
    if (timezones.size > MAX_TIMEZONES) timezones.delete(timezones.keys().next().value as string);
  };
  /** The key's slot and the claim to store in it ('' without a key). */
  const idempotency = (userId: string, key: string | undefined, fingerprint: string) => {
    if (key === undefined) return { slot: keys.idempotency(userId, "-"), print: "", claim: "" };
    if (!/^[\x20-\x7e]{1,200}$/.test(key))
      throw errors.validation([{ path: "Idempotency-Key", message: "must be 1 to 200 printable ASCII characters (a UUID, say)" }]);
    const print = sha256(fingerprint);
    return { slot: keys.idempotency(userId, sha256(key)), print, claim: JSON.stringify({ print, state: "pending" }) };
  };
  /** The first answer to the key, from the claim found in its slot. */
  const storedReply = (storedClaim: string, print: string): Reply => {
    const stored = JSON.parse(storedClaim) as { print: string; state: string; reply?: Reply };
    if (stored.print !== print) throw errors.conflict("Idempotency-Key was already used for a different request");
    if (stored.state !== "done" || !stored.reply) throw errors.keyInProgress();
    return stored.reply;
  };
  const settler = (userId: string, key: string | undefined, slot: string, print: string) =>
    key === undefined
      ? nothingToSettle
      : async (answer: Reply | null) => {
          // Nothing was written: the client may retry the same key after fixing the request.
          if (answer === null) return void (await redis.del(slot).catch(() => {}));
          // The write happened: its answer stands even if Redis cannot keep it now (a retry then
          // finds the claim and gets 409 until it expires, never a second write meanwhile).
          const kept = JSON.stringify({ print, state: "done", reply: answer });
          await redis.keepAnswer(slot, keys.idempotencyIndex(userId), kept, KEEP_SECONDS, Date.now(), maxKept).catch(() => {});
        };
  const remember = async (event: TaskEvent): Promise<void> => {
    await redis[event.event_type === "task.created" ? "rememberCreation" : "rememberPending"](
      keys.pendingWrites(event.user_id),
      keys.pendingEvents(event.user_id, event.aggregate_id),
      event.event_id,
      event.aggregate_id,
      JSON.stringify(event),
      MAX_PENDING,
      PENDING_SECONDS,
    ).catch(() => {});
  };
  return {
    async admit(userId, { write, idempotencyKey: key, fingerprint, aggregates, index = false, charged = true }) {
      const limits = write ? writes : reads;
      const { slot, print, claim } = idempotency(userId, key, fingerprint);
      const aggregateList = [...new Set(aggregates)];
      let reply: AdmitReply;
      try {
        const keyList = [
          write ? keys.rateLimit(userId) : keys.readRateLimit(userId),
          slot,
          keys.userTimezone(userId),
          keys.pendingWrites(userId),
          ...aggregateList.map((a) => keys.pendingEvents(userId, a)),
        ];
        const args = [limits.perSecond, limits.burst, Date.now(), claim, IN_PROGRESS_SECONDS, index ? "1" : "0", charged ? "1" : "0"];
        reply = await redis.admit(keyList.length, ...keyList, ...args);
      } catch (err) {
        if (!isInfrastructureError(err)) throw err;
        if (key !== undefined) throw errors.unavailable("Idempotency-Key cannot be honoured while Redis is unavailable; retry later");
        unlimited.inc();
        return { retryAfter: 0, timezone: null, pending: [], pendingIndex: new Map(), settle: nothingToSettle, seen: null };
      }
      const [retryAfter, storedClaim, timezone, pending, indexPairs, counters] = reply;
      if (retryAfter > 0) return { retryAfter, timezone: null, pending: [], pendingIndex: new Map(), settle: nothingToSettle, seen: null };
      sawTimezone(userId, timezone);
      if (storedClaim !== null)
        return {
          retryAfter: 0,
          replay: storedReply(storedClaim, print),
          timezone,
          pending: [],
          pendingIndex: new Map(),
          settle: nothingToSettle,
          seen: null,
        };
      const pendingIndex = new Map<string, string>();
      for (let i = 0; i + 1 < indexPairs.length; i += 2)
        if (indexPairs[i] !== "#" && indexPairs[i] !== "~") pendingIndex.set(indexPairs[i] as string, indexPairs[i + 1] as string);
      return {
        retryAfter: 0,
        timezone,
        pending: pendingEvents(pending),
        pendingIndex,
        settle: settler(userId, key, slot, print),
        seen: { user: counters[0] ?? "", aggregates: new Map(aggregateList.map((a, i) => [a, counters[i + 1] ?? ""])) },
      };
    },
    async admitWrite(userId, { idempotencyKey: key, fingerprint, timezone, quiet, event }) {
      const { slot, print, claim } = idempotency(userId, key, fingerprint);
      let reply: AdmitWriteReply;
      try {
        const keyList = [
          keys.rateLimit(userId),
          slot,
          keys.userTimezone(userId),
          keys.pendingWrites(userId),
          keys.pendingEvents(userId, event.aggregate_id),
          ...quiet.map((a) => keys.pendingEvents(userId, a)),
        ];
        const args = [writes.perSecond, writes.burst, Date.now(), claim, IN_PROGRESS_SECONDS, timezone];
        const pendingArgs = [event.event_id, event.aggregate_id, JSON.stringify(event), MAX_PENDING, PENDING_SECONDS];
        reply = await redis.admitWrite(keyList.length, ...keyList, ...args, ...pendingArgs);
      } catch (err) {
        if (!isInfrastructureError(err)) throw err;
        if (key !== undefined) throw errors.unavailable("Idempotency-Key cannot be honoured while Redis is unavailable; retry later");
        unlimited.inc();
        return { kind: "accepted", settle: nothingToSettle };
      }
      if (reply[0] === -1) {
        sawTimezone(userId, reply[1] ?? null);
        return { kind: "stale" };
      }
      if (reply[0] > 0) return { kind: "limited", retryAfter: reply[0] };
      const storedClaim = reply[1] ?? null;
      if (storedClaim !== null) return { kind: "replay", reply: storedReply(storedClaim, print) };
      return { kind: "accepted", settle: settler(userId, key, slot, print) };
    },
    lastKnownTimezone: (userId) => timezones.get(userId),
    async pendingEvents(userId, writes) {
      if (writes.size === 0) return [];
      const pipeline = redis.pipeline();
      for (const [id, aggregate] of writes) pipeline.hget(keys.pendingEvents(userId, aggregate), id);
      const values = ((await pipeline.exec()) ?? []).map(([err, v]) => (err || typeof v !== "string" ? "" : v));
      return pendingEvents(values);
    },
    rememberPending: remember,
    async rememberIfUnchanged(event, seen, all) {
      if (seen === null) {
        await remember(event);
        return true;
      }
      const index = keys.pendingWrites(event.user_id);
      const checked: [string, string][] = all
        ? [[index, seen.user]]
        : [...seen.aggregates].map(([a, counter]) => [keys.pendingEvents(event.user_id, a), counter]);
      const tagNames = keys.pendingEvents(event.user_id, TAG_NAMES);
      const keyList = [index, keys.pendingEvents(event.user_id, event.aggregate_id), tagNames, ...checked.map(([k]) => k)];
      const isTagWrite = event.event_type.startsWith("tag.") ? "1" : "0";
      const args = [event.event_id, event.aggregate_id, JSON.stringify(event), MAX_PENDING, PENDING_SECONDS, isTagWrite];
      args.push(...checked.map(([, c]) => c));
      const done = await redis.rememberIfUnchanged(keyList.length, ...keyList, ...args).catch(() => 1);
      return done === 1;
    },
    async forgetPending(event) {
      await redis
        .multi()
        .hdel(keys.pendingWrites(event.user_id), event.event_id)
        .hdel(keys.pendingEvents(event.user_id, event.aggregate_id), event.event_id)
        .exec()
        .catch(() => {});
    },
  };
}
