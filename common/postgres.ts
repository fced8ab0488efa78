/** The PostgreSQL pool (slonik). Timestamps come back as ISO-8601 UTC strings, bigints as numbers. */
import { createHash } from "node:crypto";
import pg from "pg";
import { createPool, createTypeParserPreset, type DatabasePool, type DriverTypeParser as TypeParser } from "slonik";
import type { Config } from "./config.ts";

// "2026-11-23 10:00:00.123+00" -> "2026-11-23T10:00:00.123Z"
const toIso = (value: string): string => new Date(value.replace(" ", "T").replace(/([+-]\d\d)$/, "$1:00")).toISOString();

/** Exported for tests that build a pool of their own (storage/typed-rows.int.test.ts). */
export const typeParsers: TypeParser[] = [
  ...createTypeParserPreset().filter((p) => !["timestamptz", "timestamp", "int8", "date"].includes(p.name)),
  { name: "timestamptz", parse: toIso },
  { name: "int8", parse: (v: string) => Number.parseInt(v, 10) },
];

export type Db = DatabasePool;

/**
 * Statements whose text starts with this comment (storage/ marks the processors' per-batch ones)
 * run as named prepared statements on a key-lookup pool (below): PostgreSQL parses each once per
 * connection and plans it once when its generic plan costs no more than a custom one. Parse and
 * plan of those statements took about 2 ms of PostgreSQL's CPU per batch, more than running them.
 * Slonik sends every statement unnamed, so pg's Client is taught the mark.
 */
export const PREPARED_MARK = "/* prepared */";
/**
 * The session settings of a key-lookup pool. A generic plan is made once, from the statistics of
 * that moment: on tables that were nearly empty then (a new deployment, a bench) it was a
 * sequential scan that stayed in use while they grew. And a generic plan cannot see how many rows
 * a batch's jsonb parameter holds (it assumes 100): it joined them to `users` by hashing, i.e. by
 * reading every user's row for each batch. Sessions that only look rows up by key never want a
 * sequential scan where an index serves, nor a hash or merge join where a nested loop of key
 * lookups does. With those plans ruled out the generic plan is the right one, so it is forced:
 * left to choose, PostgreSQL kept planning the batch load afresh on every call (its custom plans
 * looked cheaper), 0.78 ms of planning for a 0.18 ms lookup (pg_stat_statements at 500 writes/s).
 */
const KEY_LOOKUP_OPTIONS = "-c enable_seqscan=off -c enable_hashjoin=off -c enable_mergejoin=off -c plan_cache_mode=force_generic_plan";
type PgQuery = (this: { connectionParameters?: { options?: string } }, config: unknown, values?: unknown, callback?: unknown) => unknown;
const prototype = pg.Client.prototype as unknown as { query: PgQuery };
const unnamedQuery = prototype.query;
/** Statement text -> its name; the marked statements are a handful of fixed texts. */
const statementNames = new Map<string, string>();
prototype.query = function (config, values, callback) {
  if (typeof config === "string" && config.startsWith(PREPARED_MARK) && this.connectionParameters?.options?.includes(KEY_LOOKUP_OPTIONS)) {
    let name = statementNames.get(config);
    if (name === undefined) {
      name = `ts_${createHash("sha1").update(config).digest("hex").slice(0, 24)}`;
      statementNames.set(config, name);
    }
    return unnamedQuery.call(this, { name, text: config }, values, callback);
  }
  return unnamedQuery.call(this, config, values, callback);
};

/** DATABASE_URL with the key-lookup session setting added to its `options`. */
function keyLookupUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set("options", [url.searchParams.get("options"), KEY_LOOKUP_OPTIONS].filter(Boolean).join(" "));
  return url.toString();
}

export interface DbOptions {
  /**
   * A pool that only looks rows up by key (the processors): its marked statements are prepared
   * (unless DATABASE_PREPARED_STATEMENTS=false) and its sessions avoid sequential scans.
   */
  keyLookups?: boolean;
}

export function createDb(config: Config, poolSize = config.databasePoolSize, opts: DbOptions = {}): Promise<Db> {
  const keyLookups = opts.keyLookups === true && config.databasePreparedStatements;
  return createPool(keyLookups ? keyLookupUrl(config.databaseUrl) : config.databaseUrl, {
    maximumPoolSize: poolSize,
    typeParsers,
    connectionTimeout: config.dependencyTimeoutMs,
    statementTimeout: 30000,
    // Connections stay open once made (as HikariCP's minimumIdle = pool size does). Slonik's default
    // closes one after 5 s idle, so on a quiet system each write's first query opened a connection
    // again (SCRAM handshake, statements prepared anew): about 10 ms instead of 1-3 ms.
    idleTimeout: "DISABLE_TIMEOUT",
    // Slonik retries a query once on a broken connection; our own callers decide about the rest.
    queryRetryLimit: 1,
    // No `DISCARD ALL` each time a connection goes back to the pool (slonik's default): it is a
    // round trip per use, and nothing here leaves session state behind (replay resets its
    // search_path, the outbox relay releases its advisory lock in a finally).
    resetConnection: async () => {},
  });
}
