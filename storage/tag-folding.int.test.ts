/**
 * Tag names are unique by PostgreSQL's lower(name) (the unique index) and compared by the services
 * with tagKey: both must fold every character the same way, or a name the services take for a new
 * tag is a duplicate to PostgreSQL (a write rejected after its 202), or the reverse.
 */
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDb } from "../common/deps.ts";
import { tagKey } from "../common/domain/tags.ts";
import type { Db } from "../common/postgres.ts";
import { testConfig } from "../test/harness.ts";

const config = testConfig();
let db: Db;

beforeAll(async () => {
  db = await openDb(config, 1);
});
afterAll(async () => {
  await db?.end();
});

const SAMPLES = [
  "ABCXYZ abcxyz 0123 _-.",
  "ÀÉÎÕÜÇÑÅÆØÞ àéîõüçñåæøþ ß",
  "İI ıi", // Turkish dotted and dotless i
  "ΣΑΣ σας ΟΔΟΣ Ωω", // Greek, final sigma
  "ЖЁЙЩ жёйщ ЄЇІҐ",
  "ԱԲԳ աբգ", // Armenian
  "ĀĒĪŌŪ ŁŃŚŹŻ ĐĦŊŦ",
  "ǄǅǆǇǈǉ", // titlecase digraphs
  "ＡＢＣ ａｂｃ", // fullwidth
  "😀 漢字 かな",
];

describe("tag name folding", () => {
  it.each(SAMPLES)("tagKey folds %j as PostgreSQL's lower() does, character by character", async (sample) => {
    const chars = Array.from(sample);
    const lowered = await db.anyFirst(
      sql.unsafe`select lower(c) from unnest(${sql.array(chars, "text")}::text[]) with ordinality as t(c, i) order by i`,
    );
    expect(chars.map(tagKey)).toEqual(lowered.map((c) => (c as string).trim()));
  });
});
