#!/usr/bin/env node
/**
 * The dependency rules of the code base, checked by `make test` (stack/test.sh) before the stack
 * starts. Reads every import (static, `export … from`, dynamic `import("…")` with a literal) of
 * the TypeScript and JavaScript sources with the TypeScript parser (no type-check, well under a
 * second) and fails, naming each offending import, when
 *
 *   - a stage (ingest/, processors/, scheduler/, fanout/) imports anything but its own folder,
 *     common/, storage/ and packages;
 *   - storage/ imports anything but storage/, common/ and packages;
 *   - common/ imports a stage, storage/ or anything else outside common/ (packages are fine);
 *   - a file that is not a test imports test/ or a test file;
 *   - an import cannot be resolved to a file;
 *   - imports form a cycle (type-only imports included: a cycle of types is still a tangle);
 *   - code outside storage/ imports slonik's `sql` tag (SQL statements live under storage/; tests
 *     and bench/ scripts keep their own).
 *
 * bin/ may import the stages. Test files (`*.test.ts`, and everything under test/) may import
 * what they test; only the cycle rule applies to them. Folders not named above (redpanda/,
 * client/, web/, bench/) only obey the test/ and cycle rules.
 *
 *   node stack/check-imports.mjs            # exit 1 with one line per problem
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SCANNED = ["bin", "common", "ingest", "processors", "scheduler", "fanout", "storage", "redpanda", "client", "web", "test", "bench"];
const SKIP_DIRS = new Set(["node_modules", "dist", "results", ".stack"]);
const SOURCE = /\.(ts|mts|cts|tsx|js|mjs|cjs)$/;
const STAGES = new Set(["ingest", "processors", "scheduler", "fanout"]);
/** Folders whose code may not write SQL (storage/ holds it; bench/ scripts and tests keep theirs). */
const SQL_CHECKED = new Set(["bin", "common", "ingest", "processors", "scheduler", "fanout", "redpanda", "client", "web"]);

/** What a folder may import besides itself and packages; undefined: no folder rule. */
const ALLOWED = {
  ingest: ["common", "storage"],
  processors: ["common", "storage"],
  scheduler: ["common", "storage"],
  fanout: ["common", "storage"],
  storage: ["common"],
  common: [],
};

/**
 * Known exceptions, each with its reason; an entry that no longer matches anything is warned
 * about, so the list only shrinks. Keys are "importer -> imported" (paths from the repository
 * root), or "file -> slonik sql" for SQL outside storage/.
 */
const EXCEPTIONS = new Map([
  [
    "bench/bench-lateness.ts -> test/harness.ts",
    "a benchmark on the real stack (not built or shipped) that starts the services and builds their config and env with the test harness (testConfig, envFor, startProcess)",
  ],
  ["common/deps.ts -> slonik sql", "the `select 1` liveness ping of openDb and /readyz (common/ may not import storage/)"],
]);

const isTestFile = (file) => file.startsWith(`test${sep}`) || /\.test\.[cm]?[jt]sx?$/.test(file);
const areaOf = (file) => file.split(sep)[0];
const posix = (file) => file.split(sep).join("/");

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name) || name.startsWith(".")) continue;
    const full = join(dir, name);
    const st = statSync(full);
    if (st.isDirectory()) walk(full, out);
    else if (SOURCE.test(name) && !name.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

/** The module specifiers of one file, with the line and whether the import is type-only. */
function importsOf(file, text) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const found = [];
  const add = (node, spec, typeOnly, sqlTag = false) => {
    const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    found.push({ spec, line: line + 1, typeOnly, sqlTag });
  };
  for (const node of sf.statements) {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        !!clause &&
        (clause.isTypeOnly ||
          (!clause.name &&
            !!clause.namedBindings &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      const sqlTag =
        node.moduleSpecifier.text === "slonik" &&
        !clause?.isTypeOnly &&
        !!clause?.namedBindings &&
        ts.isNamedImports(clause.namedBindings) &&
        clause.namedBindings.elements.some((e) => !e.isTypeOnly && (e.propertyName ?? e.name).text === "sql");
      add(node, node.moduleSpecifier.text, typeOnly, sqlTag);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node, node.moduleSpecifier.text, node.isTypeOnly);
    }
  }
  // `import("…")` calls and types can sit anywhere: walk the whole tree only where the text has one.
  if (!/\bimport\s*\(/.test(text)) return found;
  const visit = (node) => {
    if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      add(node, node.arguments[0].text, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node, node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** A relative specifier → the file it names (repository-relative), or null. */
function resolveRelative(root, fromFile, spec) {
  const base = resolve(root, dirname(fromFile), spec);
  const candidates = [base];
  if (/\.[cm]?js$/.test(base)) candidates.push(base.replace(/\.([cm]?)js$/, ".$1ts"));
  if (!SOURCE.test(base) && !base.endsWith(".json")) {
    for (const ext of [".ts", ".mts", ".tsx", ".js", ".mjs"]) candidates.push(base + ext);
    for (const ext of ["index.ts", "index.js"]) candidates.push(join(base, ext));
  }
  for (const c of candidates) if (existsSync(c) && statSync(c).isFile()) return relative(root, c);
  return null;
}

/** Checks the tree at `root` (the repository by default); `exceptions` as EXCEPTIONS above. */
export function check(root = REPO, exceptions = EXCEPTIONS) {
  const files = SCANNED.filter((d) => existsSync(join(root, d))).flatMap((d) => walk(join(root, d), []));
  const graph = new Map(); // file -> [{ to, line }]
  const problems = [];
  const usedExceptions = new Set();

  for (const full of files) {
    const file = relative(root, full);
    const edges = [];
    graph.set(file, edges);
    for (const { spec, line, typeOnly, sqlTag } of importsOf(file, readFileSync(full, "utf8"))) {
      const where = `${posix(file)}:${line}`;
      if (sqlTag && !isTestFile(file) && SQL_CHECKED.has(areaOf(file))) {
        const key = `${posix(file)} -> slonik sql`;
        if (exceptions.has(key)) usedExceptions.add(key);
        else problems.push(`${where}: imports slonik's sql tag: SQL statements live under storage/ (add a query there and call it)`);
      }
      if (!spec.startsWith(".")) continue; // a package or node: builtin
      const to = resolveRelative(root, file, spec);
      if (to === null) {
        problems.push(`${where}: import "${spec}" does not resolve to a file`);
        continue;
      }
      if (to.startsWith(`..${sep}`) || to.startsWith("node_modules")) continue;
      edges.push({ to, line, typeOnly });
      const from = areaOf(file);
      const target = areaOf(to);
      const rule = [];
      if (!isTestFile(file) && isTestFile(to)) rule.push("only test files may import test/ or a test file");
      if (!isTestFile(file) && target !== from && ALLOWED[from] && !ALLOWED[from].includes(target)) {
        const may = ALLOWED[from].length ? `${ALLOWED[from].map((a) => `${a}/`).join(", ")} and packages` : "only packages";
        rule.push(
          STAGES.has(from) && STAGES.has(target)
            ? `a stage never imports another stage (${from}/ may import its own files, ${may}; shared code belongs in common/)`
            : `${from}/ may import its own files, ${may}`,
        );
      }
      if (rule.length === 0) continue;
      const key = `${posix(file)} -> ${posix(to)}`;
      if (exceptions.has(key)) {
        usedExceptions.add(key);
        continue;
      }
      problems.push(`${where}: imports ${posix(to)}: ${rule.join("; ")}`);
    }
  }
  const stale = [...exceptions.keys()]
    .filter((key) => !usedExceptions.has(key))
    .map((key) => `exception "${key}" no longer applies; remove it`);

  // Cycles: strongly connected components (Tarjan), each reported once with one path through it.
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const components = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const { to } of graph.get(v) ?? []) {
      if (!idx.has(to)) {
        strong(to);
        low.set(v, Math.min(low.get(v), low.get(to)));
      } else if (onStack.has(to)) low.set(v, Math.min(low.get(v), idx.get(to)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      const selfLoop = (graph.get(v) ?? []).some((e) => e.to === v);
      if (comp.length > 1 || selfLoop) components.push(comp);
    }
  };
  for (const file of [...graph.keys()].sort()) if (!idx.has(file)) strong(file);
  for (const comp of components) {
    const members = new Set(comp);
    const start = [...comp].sort()[0];
    // Shortest way from start back to itself inside the component (breadth-first).
    const prev = new Map([[start, null]]);
    const queue = [start];
    let closing = null;
    while (queue.length && !closing) {
      const v = queue.shift();
      for (const e of graph.get(v) ?? []) {
        if (e.to === start) {
          closing = { from: v, line: e.line };
          break;
        }
        if (members.has(e.to) && !prev.has(e.to)) {
          prev.set(e.to, { from: v, line: e.line });
          queue.push(e.to);
        }
      }
    }
    const steps = [];
    let at = closing;
    let node = start;
    steps.unshift(`${posix(closing.from)}:${closing.line} -> ${posix(start)}`);
    node = closing.from;
    while (node !== start) {
      at = prev.get(node);
      steps.unshift(`${posix(at.from)}:${at.line} -> ${posix(node)}`);
      node = at.from;
    }
    problems.push(`import cycle (${comp.length} file${comp.length > 1 ? "s" : ""}): ${steps.join(", ")}`);
  }
  return { files: files.length, problems, stale };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const { files, problems, stale } = check();
  const ms = Math.round(performance.now() - started);
  for (const s of stale) console.warn(`import rules: warning: ${s} (stack/check-imports.mjs)`);
  if (problems.length) {
    console.error(`import rules: ${problems.length} problem${problems.length > 1 ? "s" : ""} in ${files} files (stack/check-imports.mjs):`);
    for (const p of problems) console.error(`  ${p}`);
    process.exit(1);
  }
  console.log(`import rules: ${files} files, no boundary violation, no cycle, no SQL outside storage/ (${ms} ms)`);
}
