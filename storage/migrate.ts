/** Applies storage/migrations with node-pg-migrate (SQL files, tracked in table pgmigrations). */
import { fileURLToPath } from "node:url";
import { runner } from "node-pg-migrate";
import type { Config } from "../common/config.ts";
import { logger } from "../common/log.ts";

export const migrationsDir = fileURLToPath(new URL("./migrations", import.meta.url));

/** Applies pending migrations; `schema` migrates a scratch schema (replay), with public kept in the path for extensions. */
export async function migrate(config: Config, opts: { schema?: string } = {}): Promise<string[]> {
  const log = logger("migrate");
  const applied = await runner({
    databaseUrl: config.databaseUrl,
    dir: migrationsDir,
    direction: "up",
    migrationsTable: "pgmigrations",
    schema: opts.schema ? [opts.schema, "public"] : "public",
    migrationsSchema: opts.schema ?? "public",
    createSchema: true,
    checkOrder: true,
    // One advisory lock so two processes starting together do not race.
    noLock: false,
    log: (msg: string) => log.debug(msg),
  });
  const names = applied.map((m) => m.name);
  log.info({ applied: names, schema: opts.schema ?? "public" }, names.length ? "migrations applied" : "schema up to date");
  return names;
}
