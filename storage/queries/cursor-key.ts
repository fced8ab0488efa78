/** The deployment's cursor-signing key (see its migration), for JWKS deployments. */
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";

const KeyRow = z.object({ key: z.string() });

export async function cursorKey(db: CommonQueryMethods): Promise<string> {
  return db.oneFirst(sql.type(KeyRow)`select key from cursor_key where id = 1`);
}
