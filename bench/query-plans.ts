/**
 * Every query kind of the query suite (bench/gatling QuerySimulation), built by the real
 * `listTasks` and run straight against PostgreSQL: per kind, ROUNDS timings (parameters cycling
 * like the simulation's) with p50/p95/max in ms, and one EXPLAIN (ANALYZE, BUFFERS) per kind written
 * to <out>/plans.txt. Seed first with bench/seed-tasks.sh (user q-big).
 *
 * usage: DATABASE_URL=… node --import tsx bench/query-plans.ts [<out dir>]   env: ROUNDS (40), QUERY_USER (q-big)
 */
import { writeFileSync } from "node:fs";
import pg from "pg";
import type { CommonQueryMethods } from "slonik";
import { listTasks, type TaskFilter } from "../storage/queries/tasks.ts";

const out = process.argv[2] ?? ".";
const ROUNDS = Number(process.env.ROUNDS ?? 40);
const USER = process.env.QUERY_USER ?? "q-big";
const COMMON = ["report", "meeting", "deploy", "invoice", "kafka", "review", "budget", "dentist"];
const DAY = 86_400_000;
const base: TaskFilter = { sortBy: "created_at", sortOrder: "desc", limit: 50 };
const kinds: Record<string, (i: number) => Partial<TaskFilter>> = {
  list_default: () => ({}),
  pending_by_due: () => ({ status: "pending", sortBy: "due_date", sortOrder: "asc" }),
  priority_high: () => ({ priority: ["high", "urgent"], sortBy: "priority", sortOrder: "desc" }),
  search_word: (i) => ({ search: COMMON[i % 8] }),
  search_two_words: (i) => ({ search: `${COMMON[i % 8]} ${COMMON[(i * 3 + 1) % 8]}` }),
  search_substring: (i) => ({ search: ["epor", "eetin", "nvoic", "udge"][i % 4] }),
  search_rare: (i) => ({ search: ["zzyzx", "qwertyuiop", "nonexistent"][i % 3] }),
  tag_filter: (i) => ({ tags: [`tag${1 + (i % 20)}`] }),
  due_range_week: (i) => {
    const s = Date.now() + (((i * 37) % 300) - 150) * DAY;
    return {
      dueDateStart: new Date(s).toISOString(),
      dueDateEnd: new Date(s + 7 * DAY).toISOString(),
      sortBy: "due_date",
      sortOrder: "asc",
    };
  },
  sort_title_asc: () => ({ sortBy: "title", sortOrder: "asc" }),
  sort_title_desc: () => ({ sortBy: "title", sortOrder: "desc" }),
  sort_priority_asc: () => ({ sortBy: "priority", sortOrder: "asc" }),
  sort_due_desc: () => ({ sortBy: "due_date", sortOrder: "desc" }),
  sort_created_asc: () => ({ sortBy: "created_at", sortOrder: "asc" }),
  search_pending_sorted: (i) => ({ search: COMMON[i % 8], status: "pending", sortBy: "due_date", sortOrder: "asc" }),
  search_word_title_sort: (i) => ({ search: COMMON[i % 8], sortBy: "title", sortOrder: "asc" }),
  search_substring_high: (i) => ({ search: ["epor", "eetin", "nvoic", "udge"][i % 4], priority: ["high", "urgent"] }),
};

/** The SQL and values listTasks would send. */
async function built(f: TaskFilter): Promise<{ text: string; values: unknown[] }> {
  let captured: { sql: string; values: readonly unknown[] } | undefined;
  const fake = {
    any: async (q: { sql: string; values: readonly unknown[] }) => {
      captured = q;
      return [];
    },
  } as unknown as CommonQueryMethods;
  await listTasks(fake, USER, f);
  if (!captured) throw new Error("listTasks sent no query");
  return { text: captured.sql.replace(/\$slonik_(\d+)/g, "$$$1"), values: [...captured.values] };
}

const pct = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))] ?? 0;

const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
const plans: string[] = [];
const rows: string[] = ["| kind | p50 ms | p95 ms | max ms | rows (first) |", "| --- | ---: | ---: | ---: | ---: |"];
for (const [name, make] of Object.entries(kinds)) {
  const times: number[] = [];
  let firstRows = 0;
  for (let i = 0; i < ROUNDS + 3; i++) {
    const q = await built({ ...base, ...make(i) });
    const t = performance.now();
    const r = await client.query(q.text, q.values);
    const ms = performance.now() - t;
    if (i === 3) firstRows = r.rowCount ?? 0;
    if (i >= 3) times.push(ms); // the first three warm the cache
  }
  const q = await built({ ...base, ...make(0) });
  const plan = await client.query(`explain (analyze, buffers, costs off) ${q.text}`, q.values);
  plans.push(`=== ${name}: ${JSON.stringify(make(0))}\n${plan.rows.map((r) => r["QUERY PLAN"]).join("\n")}\n`);
  rows.push(
    `| ${name} | ${pct(times, 0.5).toFixed(1)} | ${pct(times, 0.95).toFixed(1)} | ${Math.max(...times).toFixed(1)} | ${firstRows} |`,
  );
  console.error(rows[rows.length - 1]);
}
await client.end();
writeFileSync(`${out}/plans.txt`, plans.join("\n"));
writeFileSync(`${out}/timings.md`, `${rows.join("\n")}\n`);
console.log(rows.join("\n"));
