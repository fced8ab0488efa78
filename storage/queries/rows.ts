/**
 * Row schemas more than one query file uses. Every query is `sql.type(<row schema>)`, so its row
 * type comes from the schema (no `as` on a result). slonik does not check rows against the schema
 * at run time (it only hands it to interceptors, and none is installed; see
 * storage/typed-rows.int.test.ts), so a schema costs nothing on the hot paths.
 */
import { sql } from "slonik";
import { z } from "zod";

/**
 * Put first in a statement, it runs as a named prepared statement (PREPARED_MARK in
 * common/postgres.ts): for statements sent with every batch, whose parse and plan cost more than
 * their run. Its generic plan must be good for any parameter values (see loadBatchState).
 */
export const prepared = sql.fragment`/* prepared */`;

/** Rows that are never read: an insert or delete without `returning`, an `exists` test. */
export const NoColumns = z.object({});
