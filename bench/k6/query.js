// Suite 5: query latency. Searches, filters and sorts the task list of `q-big` (seeded by
// bench/seed-tasks.sh: SEED_USER_TASKS tasks for that user, SEED_TOTAL_TASKS in all) with QUERY_VUS
// closed-loop clients for QUERY_DURATION seconds; one sub-metric per kind of query, each held to
// p95 <= QUERY_P95_MS. A small user (q-u1, 100 tasks) is queried too, as the baseline.
//
// env: QUERY_VUS(4) QUERY_DURATION(60) QUERY_P95_MS(50) INGEST_URL
import { check } from "k6";
import http from "k6/http";
import { Trend } from "k6/metrics";
import { env, INGEST, jsonHeaders, num, token } from "./lib/common.js";

const VUS = num("QUERY_VUS", 4);
const DURATION = num("QUERY_DURATION", 60);
const P95 = num("QUERY_P95_MS", 50);
const BIG = "q-big";

const day = 86400000;
/** @type {(ms: number) => string} */
const iso = (ms) => new Date(ms).toISOString();
// Each kind: query string builder (fresh parameters each time, so no result is cached by accident).
/** @type {<T>(a: T[]) => T} */
const pick = (a) => a[Math.floor(Math.random() * a.length)];
const common = ["report", "meeting", "deploy", "invoice", "kafka", "review", "budget", "dentist"];
/** @type {Record<string, () => string>} */
const KINDS = {
  list_default: () => "limit=50",
  pending_by_due: () => "status=pending&sort_by=due_date&sort_order=asc&limit=50",
  priority_high: () => "priority=high,urgent&sort_by=priority&sort_order=desc&limit=50",
  search_word: () => `search=${pick(common)}&limit=50`,
  search_two_words: () => `search=${encodeURIComponent(`${pick(common)} ${pick(common)}`)}&limit=50`,
  search_substring: () => `search=${pick(["epor", "eetin", "nvoic", "udge"])}&limit=50`,
  search_rare: () => `search=${pick(["zzyzx", "qwertyuiop", "nonexistent"])}&limit=50`,
  tag_filter: () => `tags=tag${1 + Math.floor(Math.random() * 20)}&limit=50`,
  due_range_week: () => {
    const s = Date.now() + (Math.random() * 300 - 150) * day;
    return `due_date_start=${iso(s)}&due_date_end=${iso(s + 7 * day)}&sort_by=due_date&limit=50`;
  },
  sort_title: () => `sort_by=title&sort_order=${pick(["asc", "desc"])}&limit=50`,
  search_pending_sorted: () => `search=${pick(common)}&status=pending&sort_by=due_date&limit=50`,
};

const latency = new Trend("query_ms", true);
/** @type {Record<string, string[]>} */
const thresholds = { http_req_failed: ["rate==0"], query_ms: [`p(95)<${P95}`] };
for (const k of [...Object.keys(KINDS), "next_page", "small_user"]) thresholds[`query_ms{kind:${k}}`] = [`p(95)<${P95}`];

export const options = {
  scenarios: { query: { executor: "constant-vus", vus: VUS, duration: `${DURATION}s` } },
  thresholds,
  summaryTrendStats: ["min", "med", "avg", "p(90)", "p(95)", "p(99)", "max", "count"],
};

const tokBig = token(BIG);
const tokSmall = token("q-u1");
const kinds = Object.keys(KINDS);
/** @type {string | null} */
let cursor = null;

/**
 * @param {string} user
 * @param {string} tok
 * @param {string} qs
 * @param {string} kind
 */
function get(user, tok, qs, kind) {
  const r = http.get(`${INGEST}/api/${user}/tasks?${qs}`, { headers: jsonHeaders(tok), tags: { name: kind, kind } });
  check(r, { 200: (x) => x.status === 200 });
  latency.add(r.timings.duration, { kind });
  return r;
}

/** @type {(v: unknown) => string | null} */
const stringOrNull = (v) => (typeof v === "string" ? v : null);

export default function () {
  const n = Math.random();
  if (n < 0.07) {
    get("q-u1", tokSmall, "limit=50", "small_user");
    return;
  }
  if (n < 0.14 && cursor) {
    const r = get(BIG, tokBig, `limit=50&cursor=${encodeURIComponent(cursor)}`, "next_page");
    cursor = r.status === 200 ? stringOrNull(r.json("next_cursor")) : null;
    return;
  }
  const kind = pick(kinds);
  const r = get(BIG, tokBig, KINDS[kind](), kind);
  if (kind === "list_default" && r.status === 200) cursor = stringOrNull(r.json("next_cursor"));
}

/** @param {{ metrics: Record<string, any>, state: unknown }} data */
export function handleSummary(data) {
  const dir = env("RESULTS_DIR", "bench/results");
  const m = data.metrics;
  /** @type {Record<string, unknown>} */
  const per = {};
  for (const k of [...kinds, "next_page", "small_user"]) {
    const v = m[`query_ms{kind:${k}}`]?.values;
    if (v)
      per[k] = { count: v.count, p50: +v.med.toFixed(1), p95: +v["p(95)"].toFixed(1), p99: +v["p(99)"].toFixed(1), max: +v.max.toFixed(1) };
  }
  const all = m.query_ms?.values ?? {};
  const report = {
    suite: "query",
    params: { VUS, DURATION, P95 },
    overall: { count: all.count, p50: all.med, p95: all["p(95)"], p99: all["p(99)"] },
    failed_rate: m.http_req_failed?.values?.rate,
    per_kind: per,
  };
  return {
    [`${dir}/summary.json`]: JSON.stringify({ report, metrics: m, state: data.state }, null, 1),
    [`${dir}/report.json`]: JSON.stringify(report, null, 1),
    stdout: `\n${JSON.stringify(report, null, 1)}\n`,
  };
}
