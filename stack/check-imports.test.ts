/** The import-rule check of `make test` (stack/check-imports.mjs) on small trees made here. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module without type declarations (it runs before anything is built)
import { check } from "./check-imports.mjs";

const run = check as (root?: string, exceptions?: Map<string, string>) => { files: number; problems: string[]; stale: string[] };
const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "check-imports-"));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("import rules", () => {
  it("accepts stages that import common/, storage/, their own files and packages; bin/ the stages; tests anything", () => {
    const root = tree({
      "common/a.ts": `import { x } from "./b.ts"; import pino from "pino"; export const a = x;`,
      "common/b.ts": "export const x = 1;",
      "storage/q.ts": `import { a } from "../common/a.ts"; export const q = a;`,
      "ingest/s.ts": `import { q } from "../storage/q.ts"; import { a } from "../common/a.ts"; import { h } from "./h.ts"; export const s = [q, a, h];`,
      "ingest/h.ts": "export const h = 1;",
      "fanout/f.ts": `import type { x } from "../common/b.ts";`,
      "bin/main.ts": `const s = await import("../ingest/s.ts"); import "../fanout/f.ts";`,
      "ingest/s.int.test.ts": `import { h } from "../test/harness.ts"; import "../fanout/f.ts";`,
      "test/harness.ts": `import "../ingest/s.ts";`,
    });
    expect(run(root, new Map()).problems).toEqual([]);
  });

  it("names each import across stages, from common/ or storage/ outward, and into test/", () => {
    const root = tree({
      "common/a.ts": `import { s } from "../storage/q.ts";`,
      "storage/q.ts": `export { s } from "../ingest/s.ts";`,
      "ingest/s.ts": "export const s = 1;",
      "fanout/f.ts": `import type { s } from "../ingest/s.ts";\nconst h = await import("../test/harness.ts");`,
      "test/harness.ts": "export const h = 1;",
    });
    expect(run(root, new Map()).problems.sort()).toEqual([
      "common/a.ts:1: imports storage/q.ts: common/ may import its own files, only packages",
      "fanout/f.ts:1: imports ingest/s.ts: a stage never imports another stage (fanout/ may import its own files, common/, storage/ and packages; shared code belongs in common/)",
      "fanout/f.ts:2: imports test/harness.ts: only test files may import test/ or a test file; fanout/ may import its own files, common/, storage/ and packages",
      "storage/q.ts:1: imports ingest/s.ts: storage/ may import its own files, common/ and packages",
    ]);
  });

  it("reports a cycle with the path through it, type-only imports included, and unresolved imports", () => {
    const root = tree({
      "ingest/a.ts": `import { b } from "./b.ts"; export const a = b;`,
      "ingest/b.ts": `import type { C } from "./c.ts"; export const b = 1;`,
      "ingest/c.ts": `import { a } from "./a.ts"; export type C = typeof a;`,
      "ingest/d.ts": `import { gone } from "./gone.ts";`,
    });
    expect(run(root, new Map()).problems).toEqual([
      'ingest/d.ts:1: import "./gone.ts" does not resolve to a file',
      "import cycle (3 files): ingest/a.ts:1 -> ingest/b.ts, ingest/b.ts:1 -> ingest/c.ts, ingest/c.ts:1 -> ingest/a.ts",
    ]);
  });

  it("names SQL outside storage/ (slonik's sql tag), but not in storage/, tests or type-only imports", () => {
    const root = tree({
      "storage/q.ts": `import { sql } from "slonik";`,
      "ingest/a.ts": `import { type CommonQueryMethods, sql } from "slonik";`,
      "ingest/b.ts": `import type { sql } from "slonik"; import { createPool } from "slonik";`,
      "common/c.ts": `import { sql as tag } from "slonik";`,
      "ingest/a.int.test.ts": `import { sql } from "slonik";`,
    });
    expect(run(root, new Map()).problems.sort()).toEqual([
      "common/c.ts:1: imports slonik's sql tag: SQL statements live under storage/ (add a query there and call it)",
      "ingest/a.ts:1: imports slonik's sql tag: SQL statements live under storage/ (add a query there and call it)",
    ]);
  });

  it("keeps a listed exception quiet and warns about one that no longer applies", () => {
    const root = tree({
      "scheduler/bench.ts": `import "../test/harness.ts";`,
      "scheduler/store.ts": `import { sql } from "slonik";`,
      "test/harness.ts": "",
    });
    const exceptions = new Map([
      ["scheduler/bench.ts -> test/harness.ts", "a benchmark script"],
      ["scheduler/store.ts -> slonik sql", "moves later"],
      ["ingest/x.ts -> fanout/y.ts", "gone"],
    ]);
    expect(run(root, exceptions)).toMatchObject({
      problems: [],
      stale: ['exception "ingest/x.ts -> fanout/y.ts" no longer applies; remove it'],
    });
  });

  it("passes on this repository", () => {
    expect(run().problems).toEqual([]);
  });
});
