/**
 * The dashboard in a real browser (Debian's headless Chromium driven by playwright-core) against
 * the real stack, the four services as separate OS processes: two browser contexts of one user see
 * each other's writes within 500 ms (p50/p95 over 50 creates, written to test-output/web/), a
 * reminder fires in both, another user's browser sees nothing of it, and a fan-out SIGKILLed and
 * restarted mid-session loses nothing. Screenshots of the main views land in test-output/web/.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { loadavg } from "node:os";
import { extname, join, resolve } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signLocalToken } from "../common/auth.ts";
import { createTopics } from "../redpanda/create-topics.ts";
import { Cluster } from "../test/faults/cluster.ts";
import { apiClient, testConfig, uniqueId } from "../test/harness.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const OUT = resolve("test-output/web");
const config = testConfig();
const cluster = new Cluster(config);
const api = `http://127.0.0.1:${config.ingestPort}`;
const ws = `ws://127.0.0.1:${config.fanoutPort}`;
let browser: Browser;
let server: Server;
let pageUrl: string;
const contexts: BrowserContext[] = [];

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: stack/install.sh installs Debian's chromium`);
  mkdirSync(OUT, { recursive: true });
  const dist = join(OUT, "dist");
  const { build } = await import("vite");
  process.env.WEB_OUT_DIR = dist;
  await build({ configFile: resolve("web/vite.config.ts"), logLevel: "warn" });
  delete process.env.WEB_OUT_DIR;
  // The built files, served like any static host would (its origin, 127.0.0.1:<port>, is allowed
  // by the default CORS_ORIGINS).
  server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const file = join(dist, path === "/" ? "index.html" : path);
    if (!file.startsWith(dist) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  pageUrl = `http://127.0.0.1:${port}/?api=${encodeURIComponent(api)}&ws=${encodeURIComponent(ws)}`;
  await createTopics(config);
  await cluster.startAll();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Playwright gives every launch a fresh, empty profile (--user-data-dir) itself.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}, 240_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  server?.close();
  await cluster.stopAll();
});

async function signedIn(userId: string, url = pageUrl, state = "live"): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error(`[${userId}] page error: ${err.message}`));
  await page.goto(url);
  await page.getByLabel("Token").fill(await signLocalToken(config, userId));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator(`#conn[data-state=${state}]`).waitFor({ timeout: 30_000 });
  return page;
}

/** Records, in the page, when each task title first appears in the list (epoch ms). */
const watchTitles = (page: Page) =>
  page.evaluate(() => {
    const seen: Record<string, number> = {};
    (window as unknown as { seen: Record<string, number> }).seen = seen;
    const scan = () => {
      for (const el of document.querySelectorAll("#list .title")) {
        const t = el.textContent ?? "";
        if (!(t in seen)) seen[t] = Date.now();
      }
    };
    new MutationObserver(scan).observe(document.getElementById("list")!, { childList: true, subtree: true });
    scan();
  });

/** Creates a task through the form; returns the epoch ms of the submit. */
const createInUi = (page: Page, title: string) =>
  page.evaluate((t) => {
    (document.getElementById("new-title") as HTMLInputElement).value = t;
    const at = Date.now();
    (document.getElementById("create") as HTMLFormElement).requestSubmit();
    return at;
  }, title);

const titlesIn = (page: Page) => page.locator("#list .title").allTextContents();
const waitForTitle = (page: Page, title: string, timeout = 10_000) =>
  page.waitForFunction((t) => (window as unknown as { seen: Record<string, number> }).seen[t] !== undefined, title, { timeout });

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

describe("dashboard in Chromium", () => {
  const alice = uniqueId("alice");
  const bob = uniqueId("bob");
  let a: Page;
  let b: Page;
  let other: Page;

  beforeAll(async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    contexts.push(context);
    const signin = await context.newPage();
    await signin.goto(pageUrl);
    await signin.screenshot({ path: join(OUT, "1-sign-in.png") });
    [a, b, other] = await Promise.all([signedIn(alice), signedIn(alice), signedIn(bob)]);
    await Promise.all([watchTitles(a), watchTitles(b), watchTitles(other)]);
  }, 120_000);

  it("two contexts of one user: a task created in one appears in the other within 500 ms (50 creates)", async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 50; i++) {
      const title = `latency ${i}`;
      const sent = await createInUi(a, title);
      await waitForTitle(b, title);
      const seen = await b.evaluate((t) => (window as unknown as { seen: Record<string, number> }).seen[t]!, title);
      latencies.push(seen - sent);
    }
    const report = {
      creates: latencies.length,
      p50_ms: percentile(latencies, 50),
      p95_ms: percentile(latencies, 95),
      max_ms: Math.max(...latencies),
      latencies_ms: latencies,
      // Everything (stack, services, two browsers, other people's work) shares the machine's cores.
      load_average_1m: Number(loadavg()[0]!.toFixed(2)),
    };
    writeFileSync(join(OUT, "latency.json"), JSON.stringify(report, null, 2));
    console.log(
      `two-context latency over 50 creates: p50 ${report.p50_ms} ms, p95 ${report.p95_ms} ms, max ${report.max_ms} ms (load average ${report.load_average_1m})`,
    );
    expect(report.p95_ms).toBeLessThan(500);
    await a.screenshot({ path: join(OUT, "2-task-list.png") });
  }, 120_000);

  it("searches, filters and sorts the list", async () => {
    await a.getByLabel("Search").fill("latency 4");
    await a.waitForFunction(() => document.querySelectorAll("#list .title").length === 11);
    await a.getByLabel("Sort").selectOption("title:asc");
    await a.waitForFunction(() => document.querySelector("#list .title")?.textContent === "latency 4");
    await a.screenshot({ path: join(OUT, "2b-search-sort.png") });
    await a.getByLabel("Search").fill("");
    await a.getByLabel("Sort").selectOption("created_at:desc");
    await a.getByLabel("Status").selectOption("completed");
    await a.waitForFunction(() => document.querySelectorAll("#list .title").length === 0);
    await a.getByLabel("Status").selectOption("pending");
    await a.waitForFunction(() => document.querySelectorAll("#list .title").length === 50);
  });

  it("a browser whose WebSockets are blocked polls and still follows", async () => {
    const blocked = await signedIn(alice, pageUrl.replace(encodeURIComponent(ws), encodeURIComponent("ws://127.0.0.1:9")), "polling");
    await watchTitles(blocked);
    await blocked.waitForFunction(() => document.querySelectorAll("#list .title").length === 50);
    await createInUi(a, "seen by polling");
    await waitForTitle(blocked, "seen by polling");
    expect(await blocked.locator("#conn").textContent()).toContain("polling");
    await blocked.screenshot({ path: join(OUT, "2c-polling.png") });
    await blocked.context().close();
    await a.getByRole("button", { name: "Delete “seen by polling”" }).click();
    await waitForTitle(b, "seen by polling");
    await b.waitForFunction(() => ![...document.querySelectorAll("#list .title")].some((e) => e.textContent === "seen by polling"));
  });

  it("edit, complete and delete in one context show in the other", async () => {
    await createInUi(a, "edit me");
    await waitForTitle(b, "edit me");
    await a.getByRole("button", { name: "Edit “edit me”" }).click();
    await a.getByLabel("Title", { exact: true }).last().fill("edited");
    await a.getByLabel("Tags", { exact: true }).last().fill("home, urgent-ish");
    await a.screenshot({ path: join(OUT, "3-edit-dialog.png") });
    await a.getByRole("button", { name: "Save" }).click();
    await waitForTitle(b, "edited");
    await b.locator("li.task", { hasText: "edited" }).locator(".tag", { hasText: "#home" }).waitFor();
    await a.locator("li.task", { hasText: "edited" }).getByRole("checkbox").click();
    // The default filter shows pending tasks only: the completed task leaves B's list...
    await b.waitForFunction(() => ![...document.querySelectorAll("#list .title")].some((e) => e.textContent === "edited"));
    await b.getByLabel("Status").selectOption("all");
    await b.locator('li.task[data-status="completed"]', { hasText: "edited" }).waitFor();
    await a.getByLabel("Status").selectOption("all");
    await a.getByRole("button", { name: "Delete “edited”" }).click();
    await b.waitForFunction(() => ![...document.querySelectorAll("#list .title")].some((e) => e.textContent === "edited"));
    await b.getByLabel("Status").selectOption("pending");
    await a.getByLabel("Status").selectOption("pending");
  }, 60_000);

  it("a recurring task shows its next occurrence, and skipping it shows in the other context", async () => {
    await a.evaluate(() => {
      const d = new Date(Date.now() + 2 * 86_400_000);
      const p = (n: number) => String(n).padStart(2, "0");
      (document.getElementById("new-due") as HTMLInputElement).value =
        `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T09:00:00`;
    });
    await a.getByLabel("Repeats").first().selectOption("FREQ=DAILY");
    await a.getByLabel("Title", { exact: true }).first().fill("water the plants");
    await a.getByRole("button", { name: "Add" }).click();
    await waitForTitle(b, "water the plants");
    const meta = () => b.locator("li.task", { hasText: "water the plants" }).locator(".meta").textContent();
    await b
      .locator("li.task", { hasText: "water the plants" })
      .getByText(/repeats daily, next/)
      .waitFor();
    const before = await meta();
    await b.getByRole("button", { name: "Skip next “water the plants”" }).click();
    await a.waitForFunction((old) => {
      const li = [...document.querySelectorAll("li.task")].find((e) => e.querySelector(".title")?.textContent === "water the plants");
      return li && li.getAttribute("data-pending") === "false" && li.querySelector(".meta")?.textContent !== old;
    }, before);
    await a.getByLabel("Repeats").first().selectOption("");
    await a.evaluate(() => {
      (document.getElementById("new-due") as HTMLInputElement).value = "";
    });
    await a.getByRole("button", { name: "Delete “water the plants”" }).click();
    await b.waitForFunction(() => ![...document.querySelectorAll("#list .title")].some((e) => e.textContent === "water the plants"));
  });

  it("a reminder fires in both contexts", async () => {
    // Through the form: "at a time…" four seconds from now, in the browser's own timezone.
    await a.getByLabel("Reminder", { exact: true }).selectOption("at");
    await a.evaluate(() => {
      const d = new Date(Date.now() + 4000);
      const p = (n: number) => String(n).padStart(2, "0");
      (document.getElementById("new-remind-at") as HTMLInputElement).value =
        `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    });
    await a.getByLabel("Title", { exact: true }).first().fill("call the bank");
    await a.getByRole("button", { name: "Add" }).click();
    await waitForTitle(b, "call the bank");
    for (const page of [a, b]) await page.locator("#notes li", { hasText: "call the bank" }).waitFor({ timeout: 30_000 });
    await a.getByLabel("Reminder", { exact: true }).selectOption("");
    await b.screenshot({ path: join(OUT, "4-reminder-fired.png") });
  }, 60_000);

  it("loses nothing when the fan-out is SIGKILLed and restarted mid-session", async () => {
    for (let i = 0; i < 20; i++) {
      if (i === 5) await cluster.kill("fanout");
      if (i === 15) await cluster.start("fanout");
      await createInUi(a, `restart ${i}`);
      // Each write answered before the next (so the kill lands mid-stream, not mid-request).
      await a.waitForFunction((t) => (window as unknown as { seen: Record<string, number> }).seen[t] !== undefined, `restart ${i}`);
    }
    for (const page of [a, b]) {
      await page.waitForFunction(
        () => [...document.querySelectorAll("#list .title")].filter((e) => e.textContent?.startsWith("restart ")).length === 20,
        undefined,
        { timeout: 30_000 },
      );
      await page.locator("#conn[data-state=live]").waitFor({ timeout: 30_000 });
    }
    await b.screenshot({ path: join(OUT, "5-after-fanout-restart.png") });
    // Same set in both, no duplicates, and both feeds at the user's latest seq.
    const latest = (await apiClient(config, alice, await signLocalToken(config, alice))("GET", "/events?since=0&limit=1")).body.seq;
    for (const page of [a, b]) {
      const titles = await titlesIn(page);
      expect(new Set(titles).size).toBe(titles.length);
      expect(titles.filter((t) => t.startsWith("restart ")).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `restart ${i}`).sort());
      expect(titles.filter((t) => t.startsWith("latency ")).length).toBe(50);
      await page.waitForFunction((seq) => (window as any).taskstream.feed.seq === seq, latest, { timeout: 10_000 });
    }
  }, 120_000);

  it("a reloaded page resumes from the seq it kept in localStorage", async () => {
    const kept = Number(await b.evaluate(() => Object.entries(localStorage).find(([k]) => k.startsWith("taskstream.seq."))?.[1]));
    expect(kept).toBeGreaterThan(50);
    const reloading = b.reload();
    await createInUi(a, "written during the reload");
    await reloading;
    await b.locator("#conn[data-state=live]").waitFor({ timeout: 30_000 });
    await watchTitles(b);
    await waitForTitle(b, "written during the reload");
    // The activity panel got the replayed event live, from the kept seq (not just the reloaded list).
    await b.locator("#activity li", { hasText: "created “written during the reload”" }).first().waitFor();
  });

  it("another user's browser sees none of it", async () => {
    // A marker of bob's own proves his page is live and rendering; only then is "nothing else" meaningful.
    await createInUi(other, "bob's marker");
    await waitForTitle(other, "bob's marker");
    // Confirmed by its event (not only shown from the 202), and in the activity feed.
    await other.locator('li.task[data-pending="false"]', { hasText: "bob's marker" }).waitFor();
    await other.locator("#activity li", { hasText: "bob's marker" }).first().waitFor();
    expect(await titlesIn(other)).toEqual(["bob's marker"]);
    expect(await other.locator("#notes li").count()).toBe(0);
    const activity = (await other.locator("#activity li").allTextContents()).join("\n");
    expect(activity).toContain("bob's marker");
    expect(activity).not.toMatch(/latency|restart|call the bank/);
    await other.screenshot({ path: join(OUT, "6-other-user.png") });
  });
});
