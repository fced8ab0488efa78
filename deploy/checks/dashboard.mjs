// The Grafana dashboard against what the services expose:
//   node deploy/checks/dashboard.mjs <metrics text file>...
// fails when a PromQL expression of deploy/grafana/taskstream.json names a metric that none of the
// scraped /metrics texts exposes, or when the k8s component's copy differs from the dashboard.
// deploy/checks/dashboard-stack.sh starts a throwaway stack and the services and scrapes them.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export const dashboardFile = join(repoRoot, "deploy/grafana/taskstream.json");
export const componentCopy = join(repoRoot, "k8s/components/grafana-dashboard/taskstream.json");

/** Every PromQL expression of a dashboard (panels, rows' panels, templating queries). */
export function expressions(dashboard) {
  const out = [];
  const walk = (panels = []) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    const q = typeof v.query === "string" ? v.query : v.query?.query;
    if (v.type === "query" && q) out.push({ panel: `variable ${v.name}`, expr: q });
  }
  return out;
}

const FUNCTIONS = new Set(
  (
    "abs absent absent_over_time avg avg_over_time bottomk ceil changes clamp clamp_max clamp_min count count_over_time " +
    "count_values day_of_month day_of_week days_in_month delta deriv exp floor group histogram_quantile holt_winters hour " +
    "idelta increase irate label_join label_replace last_over_time ln log10 log2 max max_over_time min min_over_time minute " +
    "month predict_linear quantile quantile_over_time rate resets round scalar sgn sort sort_desc sqrt stddev stddev_over_time " +
    "stdvar sum sum_over_time time timestamp topk vector year by without on ignoring group_left group_right bool and or unless offset"
  ).split(" "),
);

/** The metric names an expression selects (label matchers, strings, ranges and functions left out). */
export function metricNames(expr) {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const names = new Set();
  for (const m of bare.matchAll(/(?<![\w.$])([a-zA-Z_:][\w:]*)/g)) {
    const name = m[1];
    if (FUNCTIONS.has(name) || /^\d/.test(name)) continue;
    if (/^(inf|nan)$/i.test(name)) continue;
    names.add(name);
  }
  return [...names];
}

/** Sample names a Prometheus text exposition offers (histograms: _bucket, _sum, _count). */
export function exposedNames(text) {
  const names = new Set();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type;
      names.add(name);
      if (kind === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(name + s);
      if (kind === "summary") for (const s of ["_sum", "_count"]) names.add(name + s);
      continue;
    }
    const sample = /^([a-zA-Z_:][\w:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]);
  }
  return names;
}

/** Failures: expressions naming metrics not exposed, and a component copy that drifted. */
export function checkDashboard(dashboardText, metricsTexts, copyText) {
  const failures = [];
  const dashboard = JSON.parse(dashboardText);
  const exposed = new Set(metricsTexts.flatMap((t) => [...exposedNames(t)]));
  const exprs = expressions(dashboard);
  if (exprs.length === 0) failures.push("the dashboard has no PromQL expression");
  for (const { panel, expr } of exprs) {
    for (const name of metricNames(expr)) {
      if (!exposed.has(name)) failures.push(`panel "${panel}": ${name} is not exposed by any /metrics (${expr})`);
    }
  }
  if (!dashboard.__inputs?.some((i) => i.type === "datasource" && i.pluginId === "prometheus"))
    failures.push("the dashboard does not declare its Prometheus datasource as an input (__inputs)");
  if (copyText !== undefined && copyText !== dashboardText)
    failures.push("k8s/components/grafana-dashboard/taskstream.json differs from deploy/grafana/taskstream.json (cp the latter over)");
  return { failures, expressions: exprs.length, exposed: exposed.size };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: node deploy/checks/dashboard.mjs <metrics text file>...");
    process.exit(2);
  }
  const r = checkDashboard(
    readFileSync(dashboardFile, "utf8"),
    files.map((f) => readFileSync(f, "utf8")),
    readFileSync(componentCopy, "utf8"),
  );
  for (const f of r.failures) console.log(`FAIL ${f}`);
  console.log(`dashboard: ${r.expressions} PromQL expressions against ${r.exposed} exposed metric names, ${r.failures.length} problem(s)`);
  process.exit(r.failures.length ? 1 : 0);
}
