/** The PostgreSQL pool (slonik). Timestamps come back as ISO-8601 UTC strings, bigints as numbers. */
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

export function createDb(config: Config, poolSize = config.databasePoolSize): Promise<Db> {
  return createPool(config.databaseUrl, {
    maximumPoolSize: poolSize,
    typeParsers,
    connectionTimeout: config.dependencyTimeoutMs,
    statementTimeout: 30000,
    // Slonik retries a query once on a broken connection; our own callers decide about the rest.
    queryRetryLimit: 1,
    // No `DISCARD ALL` each time a connection goes back to the pool (slonik's default): it is a
    // round trip per use, and nothing here leaves session state behind (replay resets its
    // search_path, the outbox relay releases its advisory lock in a finally).
    resetConnection: async () => {},
  });
}
