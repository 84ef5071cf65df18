// Browser half of `cargo xtask bench web`: drives Debian's Chromium over the built app to measure
// the offline cold start to the home screen's topic list and search latency per keystroke.
//
// node xtask/bench-web.mjs --url http://127.0.0.1:PORT/ --code INVITE --docs N --runs 5 --rounds 3
// Prints one JSON line per event: {"step": "synced"} once signed in and synced (then waits for
// "go" on stdin, while the caller stops the relay), {"progress": "..."} while measuring, and
// last {"ok": true, ...figures} or {"ok": false, "error": "..."}.

import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";

// playwright-core is installed for the browser tests, not next to this script.
const require = createRequire(new URL("../tests/js/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const PHONE = { width: 390, height: 844 };
// Every wait is bounded; a throttled cold start of the whole app stays well within this.
const WAIT_MS = 30_000;
// Queries as people type them; each keystroke from the first character on is measured.
const QUERIES = ["lastensuojelu", "poliisi", "ankkuri", "helsingfors", "exit", "sosiaali", "child welfare", "hate crime"];

function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, "")] = argv[i + 1];
  for (const n of ["url", "code", "docs", "runs", "rounds"]) if (!out[n]) fail(`missing argument --${n}`);
  return out;
}

function emit(v) {
  console.log(JSON.stringify(v));
}

function fail(message) {
  emit({ ok: false, error: message });
  process.exit(1);
}

const input = readline.createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();
async function step(name, data = {}) {
  emit({ step: name, ...data });
  const { value, done } = await lines.next();
  if (done || value.trim() !== "go") fail(`expected "go" after ${name}`);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.round((s.length - 1) * p))];
};
const round1 = (x) => Math.round(x * 10) / 10;

// Runs in every new document before the app: notes when the home screen's topic list enters the
// DOM (performance.now() counts from the navigation's start) and the frame after that, which is
// when it can first be painted.
function measureInit() {
  const seen = () => {
    if (window.__usable !== undefined || !document.querySelector(".topics a")) return false;
    window.__usable = performance.now();
    requestAnimationFrame(() => setTimeout(() => (window.__frame = performance.now()), 0));
    return true;
  };
  new MutationObserver((_, observer) => {
    if (seen()) observer.disconnect();
  }).observe(document, { childList: true, subtree: true });
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "contactpoint-bench-web-"));
process.on("exit", () => fs.rmSync(profile, { recursive: true, force: true }));

async function launch() {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    locale: "en-GB",
    viewport: PHONE,
    serviceWorkers: "allow",
  });
  context.setDefaultTimeout(WAIT_MS);
  await context.addInitScript(measureInit);
  return context;
}

async function throttle(context, page, rate) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate });
  return cdp;
}

// What the app keeps in IndexedDB: how many documents and how many bytes of chunks.
function localData(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("contactpoint");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const req = open.result.transaction("chunks").objectStore("chunks").getAll();
          req.onerror = () => reject(req.error);
          req.onsuccess = () => {
            const docs = new Set(req.result.map((r) => r.doc));
            const bytes = req.result.reduce((n, r) => n + r.bytes.byteLength, 0);
            open.result.close();
            resolve({ docs: docs.size, bytes });
          };
        };
      }),
  );
}

// One navigation of `page` to the app, timed in the page; returns milliseconds from navigation
// start to the topic list in the DOM and to the frame after it.
async function timedLoad(page, url) {
  await page.goto(url, { waitUntil: "commit" });
  await page.waitForFunction(() => window.__frame !== undefined, null, { timeout: WAIT_MS }).catch(async () => {
    throw new Error(`no topic list within ${WAIT_MS / 1000} s; the page shows: ${(await page.locator("body").textContent()).slice(0, 300)}`);
  });
  return page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    // Where the time went, each step's end in ms from the navigation's start: the page, the
    // app's script and the wasm as the service worker answered them, then the app's own marks.
    /** @type {Record<string, number>} */
    const steps = {};
    if (nav) steps.html = nav.responseEnd;
    for (const r of performance.getEntriesByType("resource")) {
      if (/\/js\/app\.[^/]*js$/.test(r.name)) steps.script = r.responseEnd;
      if (/\.wasm$/.test(r.name)) steps.wasm_fetched = r.responseEnd;
    }
    for (const m of performance.getEntriesByType("mark")) if (m.name.startsWith("cp-")) steps[m.name.slice(3)] = m.startTime;
    return { usable: window.__usable, frame: window.__frame, dcl: nav ? nav.domContentLoadedEventEnd : null, controlled: !!navigator.serviceWorker.controller, steps };
  });
}

// Cold starts at one CPU rate: `runs` new pages in the running browser, then `runs` restarts of
// the browser on the same profile (nothing in memory, the service worker not running).
async function coldStarts(context, url, rate, runs) {
  const out = { new_page: [], restart: [] };
  for (let i = 0; i < runs; i++) {
    const page = await context.newPage();
    await throttle(context, page, rate);
    const t = await timedLoad(page, url);
    if (!t.controlled) throw new Error("a page opened offline is not controlled by the service worker");
    out.new_page.push(t);
    await page.close();
    emit({ progress: `cold start ×${rate} new page ${i + 1}/${runs}: ${t.usable.toFixed(0)} ms` });
  }
  for (let i = 0; i < runs; i++) {
    await context.close();
    context = await launch();
    const page = context.pages()[0] || (await context.newPage());
    await throttle(context, page, rate);
    const t = await timedLoad(page, url);
    out.restart.push(t);
    emit({ progress: `cold start ×${rate} browser restart ${i + 1}/${runs}: ${t.usable.toFixed(0)} ms` });
  }
  const summary = (ts) => ({
    steps_ms: Object.fromEntries(Object.keys(ts[0].steps).map((k) => [k, round1(median(ts.map((t) => t.steps[k]).filter((x) => x !== undefined)))])),
    runs_ms: ts.map((t) => round1(t.usable)),
    median_ms: round1(median(ts.map((t) => t.usable))),
    median_frame_ms: round1(median(ts.map((t) => t.frame))),
    median_dcl_ms: round1(median(ts.map((t) => t.dcl))),
  });
  return { context, figures: { new_page: summary(out.new_page), restart: summary(out.restart) } };
}

// Listeners around the app's own input handler on the search box: the capturing one runs
// before it, the bubbling one after it has put the results in the DOM (it does so
// synchronously); the frame after that is when they can first be painted.
function keystrokeProbe() {
  window.__keys = [];
  let start = 0;
  addEventListener("input", (e) => {
    if (e.target.id === "q") start = performance.now();
  }, true);
  addEventListener("input", (e) => {
    if (e.target.id !== "q" || !e.target.value.trim()) return;
    const entry = { q: e.target.value, handler: performance.now() - start, results: document.querySelectorAll("#q + ul > li").length };
    requestAnimationFrame(() =>
      setTimeout(() => {
        entry.frame = performance.now() - start;
        window.__keys.push(entry);
      }, 0),
    );
  });
}

// Types every query character by character `rounds` times; returns each keystroke's figures.
async function typeQueries(page, rounds) {
  const q = page.locator("#q");
  const keys = [];
  for (let r = 0; r < rounds; r++) {
    for (const query of QUERIES) {
      await q.fill("");
      await q.focus();
      for (const ch of query) {
        const before = await page.evaluate(() => window.__keys.length);
        await page.keyboard.type(ch);
        await page.waitForFunction((n) => window.__keys.length > n, before, { timeout: WAIT_MS });
      }
      keys.push(...(await page.evaluate(() => window.__keys.splice(0))).map((k) => ({ ...k, query })));
    }
  }
  return keys;
}

function keystrokeFigures(keys) {
  const handler = keys.map((k) => k.handler);
  const frame = keys.map((k) => k.frame);
  const perQuery = {};
  for (const query of QUERIES) {
    const ks = keys.filter((k) => k.query === query);
    perQuery[query] = { p50_ms: round1(pct(ks.map((k) => k.handler), 0.5)), p95_ms: round1(pct(ks.map((k) => k.handler), 0.95)), results: ks.length ? ks[ks.length - 1].results : 0 };
  }
  return {
    keystrokes: keys.length,
    p50_ms: round1(pct(handler, 0.5)),
    p95_ms: round1(pct(handler, 0.95)),
    max_ms: round1(Math.max(...handler)),
    frame_p50_ms: round1(pct(frame, 0.5)),
    frame_p95_ms: round1(pct(frame, 0.95)),
    queries: perQuery,
  };
}

async function main() {
  const a = args();
  const runs = Number(a.runs);
  const rounds = Number(a.rounds);
  let context = await launch();
  let page = context.pages()[0] || (await context.newPage());

  // 1. Online, once: sign in, pick Helsinki, sync every document and let the service worker
  // take over; then the caller stops the relay.
  await page.goto(a.url);
  await page.locator("#code").fill(a.code);
  await page.locator("#device").fill("web benchmark");
  await page.locator("form button[type=submit]").click();
  await page.locator("#muni").fill("helsing");
  await page.locator("button.choice", { hasText: "Helsinki" }).first().click();
  await page.locator(".topics a").first().waitFor();
  // The status line says how long ago ("just now"); the time itself is in data-at.
  await page.waitForFunction(() => !!(document.querySelector("[data-testid=last-synced]") || {}).dataset?.at, null, { timeout: 2 * WAIT_MS });
  // The first sync opens every document the index lists; "synced" is shown once the relay
  // acknowledged all open documents, but wait for the whole count to be stored as well.
  const want = Number(a.docs);
  const deadline = Date.now() + 2 * WAIT_MS;
  let local = await localData(page);
  while (local.docs < want) {
    if (Date.now() > deadline) throw new Error(`only ${local.docs} of ${want} documents stored locally`);
    await page.waitForTimeout(200);
    local = await localData(page);
  }
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.goto("about:blank");
  await step("synced", { local });

  // The relay is stopped now: nothing on its port answers, so every figure below is offline.
  const probe = await page.request.get(new URL("/healthz", a.url).href, { timeout: 5000 }).then(
    (r) => `status ${r.status()}`,
    () => "unreachable",
  );
  if (probe !== "unreachable") throw new Error(`the relay still answers after being stopped: ${probe}`);

  // 2. Offline cold starts, at full speed and with the CPU four times slower (a mid-range phone).
  const cold = {};
  for (const rate of [1, 4]) {
    const r = await coldStarts(context, a.url, rate, runs);
    context = r.context;
    cold[`cpu_x${rate}`] = r.figures;
  }

  // 3. Search per keystroke on the home screen, offline, at both CPU rates. The first search
  // builds the index and is reported on its own.
  // A fresh page: the restarts above left theirs throttled.
  const stale = context.pages();
  page = await context.newPage();
  for (const p of stale) await p.close();
  await page.goto(a.url);
  await page.locator(".topics a").first().waitFor();
  await page.evaluate(keystrokeProbe);
  const q = page.locator("#q");
  await q.focus();
  await page.keyboard.type("l");
  await page.waitForFunction(() => window.__keys.length > 0);
  const first = (await page.evaluate(() => window.__keys.splice(0)))[0];
  const search = { first_keystroke_ms: round1(first.handler) };
  for (const rate of [1, 4]) {
    const cdp = await throttle(context, page, rate);
    search[`cpu_x${rate}`] = keystrokeFigures(await typeQueries(page, rounds));
    await cdp.detach();
    emit({ progress: `search ×${rate}: p50 ${search[`cpu_x${rate}`].p50_ms} ms` });
  }
  await context.close();
  emit({ ok: true, local, cold_start: cold, search });
  process.exit(0);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
