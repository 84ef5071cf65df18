// Shared helpers of the browser tests: launching Debian's Chromium, reading arguments, the line
// protocol with the Rust test that drives a script, and the app's own steps (sign in, pick a
// municipality, walk a card). Every wait here is bounded; none sleeps to synchronise.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { chromium } from "playwright-core";

// One bound for every single wait in a browser, below the Rust side's bound for a whole step,
// so that a failure is reported here with what was being waited for.
export const WAIT_MS = 20_000;

// A phone: the app is made for them.
export const PHONE = { width: 390, height: 844 };

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

// `--name value` pairs from the command line, as an object.
export function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--") || argv[i + 1] === undefined) fail(`bad arguments: ${argv.join(" ")}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  return out;
}

export function need(a, ...names) {
  for (const n of names) if (!a[n]) fail(`missing argument --${n}`);
}

// A browser with a persistent profile in a fresh directory: IndexedDB and the service worker
// survive a reload exactly as on a phone. The directory is removed at exit.
export async function launchPersistent({ locale = "en-GB", viewport = PHONE } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "contactpoint-profile-"));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    locale,
    viewport,
    serviceWorkers: "allow",
  });
  context.setDefaultTimeout(WAIT_MS);
  const page = context.pages()[0] || (await context.newPage());
  return { context, page: watch(page) };
}

// A browser for several independent, non-persistent contexts (one per language).
export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export async function newPage(browser, { locale, viewport = PHONE }) {
  const context = await browser.newContext({ locale, viewport, serviceWorkers: "allow" });
  context.setDefaultTimeout(WAIT_MS);
  return { context, page: watch(await context.newPage()) };
}

// Uncaught exceptions in the page are collected: the Rust side asserts there were none.
export const pageErrors = [];
function watch(page) {
  page.on("pageerror", (e) => pageErrors.push(String(e && e.message ? e.message : e)));
  return page;
}

// The line protocol: a step prints one JSON line and waits for the Rust test to act (stop or
// start the relay, say) and answer "go" on stdin.
const input = readline.createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();
export async function step(name, data = {}) {
  console.log(JSON.stringify({ step: name, ...data }));
  const { value, done } = await lines.next();
  if (done || value.trim() !== "go") fail(`expected "go" after step ${name}, got ${done ? "end of input" : JSON.stringify(value)}`);
}

// The one result line; the process then exits.
export function finish(data = {}) {
  console.log(JSON.stringify({ ok: true, pageErrors, ...data }));
  process.exit(0);
}

export function fail(message) {
  console.log(JSON.stringify({ ok: false, error: message, pageErrors }));
  process.exit(1);
}

// Runs a script's body and turns any exception into a failed result line.
export function run(body) {
  body().catch((e) => fail(e && e.stack ? e.stack : String(e)));
}

export function check(cond, message) {
  if (!cond) throw new Error(message);
}

// ---------------------------------------------------------------------------------------------
// The app's steps

export async function signIn(page, url, code) {
  await page.goto(url);
  await page.locator("#code").fill(code);
  await page.locator("#device").fill("browser test");
  await page.locator("form button[type=submit]").click();
  // The picker appears once the relay accepted the code and the app started with the token.
  await page.locator("#muni").waitFor();
}

// The time of the last completed sync, as the status line carries it in `data-at` (its text is
// an age, "last synced 5 minutes ago", which changes with the clock); "" before the first.
export async function lastSynced(page) {
  return (await page.locator("[data-testid=last-synced]").getAttribute("data-at")) || "";
}

// Waits until the status line shows a completed sync whose time differs from `before` (""
// when the app had never synced, or the previous sync's time).
export async function waitSyncedAfter(page, before, timeout = WAIT_MS) {
  await page
    .waitForFunction(
      (b) => {
        const el = document.querySelector("[data-testid=last-synced]");
        const at = el && el.getAttribute("data-at");
        return at && at !== b;
      },
      before,
      { timeout },
    )
    .catch(async () => {
      const status = await page.locator("#status").textContent();
      throw new Error(`no sync within ${timeout / 1000} s after "${before}"; the status says "${status}"`);
    });
  return lastSynced(page);
}

// Waits until the service worker is active, so that a reload is served from its cache.
export async function waitServiceWorkerActive(page) {
  await page.evaluate(
    (ms) =>
      Promise.race([
        navigator.serviceWorker.ready.then(() => true),
        new Promise((_, reject) => setTimeout(() => reject(new Error("no active service worker")), ms)),
      ]),
    WAIT_MS,
  );
}

// Picks a municipality on the picker, which the caller has brought up.
export async function pickMunicipality(page, query, name) {
  await page.locator("#muni").fill(query);
  await page.locator("button.choice", { hasText: name }).first().click();
  await page.locator(".topics a").first().waitFor();
}

// Follows a card from the home screen through answers given as node ids, to its steps.
export async function walkCard(page, slug, answers) {
  await page.locator(`.topics a[href="#/card/${slug}"]`).click();
  for (const next of answers) {
    // Two answers may lead to the same node ("Yes" and "I don't know"); either will do.
    await page.locator(`.list a[href="#/card/${slug}/${next}"]`).first().click();
  }
  await page.locator(".urgency").waitFor();
}

// The contacts shown on the steps, with their phone links.
export async function contacts(page) {
  return page.locator("[data-testid=contact]").evaluateAll((els) =>
    els.map((el) => ({
      name: (el.querySelector("strong") || el).textContent.trim(),
      tel: Array.from(el.querySelectorAll("a.tel"), (a) => a.getAttribute("href")),
    })),
  );
}

// Waits until the status line says the app is offline (the connection to the relay dropped).
// Between reconnect attempts it says so for at least the back-off interval, a second or more.
export async function waitOffline(page, timeout = WAIT_MS) {
  await page.locator("#status .offline").waitFor({ timeout }).catch(async () => {
    throw new Error(`the app did not notice the relay was gone within ${timeout / 1000} s; the status says "${await page.locator("#status").textContent()}"`);
  });
}

// A signed-in, synced person with Helsinki picked, in a fresh browser profile of their own.
// `prepare(context)` runs before the app is first loaded (to route its connections, say).
export async function helsinkiPerson(url, code, { prepare } = {}) {
  const { context, page } = await launchPersistent({ locale: "en-GB" });
  if (prepare) await prepare(context);
  await signIn(page, url, code);
  const never = await lastSynced(page);
  await pickMunicipality(page, "helsing", "Helsinki");
  const synced = await waitSyncedAfter(page, never);
  return { context, page, synced };
}

// One browser's link to the relay, which the test can cut while the relay (and everyone else's
// link) stays up. Playwright's offline mode alone does not do it: Chromium keeps an open WebSocket
// sending under it. So every sync WebSocket of the context runs through a route to the relay;
// `cut()` turns the browser offline (the page gets its "offline" event, new connections fail)
// and closes the open ones at both ends; `restore()` lets connections through again and turns
// the browser online (the "online" event makes the app connect at once, not after its back-off).
// Call `relayLink(context)` before the app first connects. `onMessage(dir, message)`, if given,
// sees every message as it passes (`>` from the page, `<` to it).
export async function relayLink(context, { onMessage } = {}) {
  let cut = false;
  const open = new Set();
  await context.routeWebSocket(/\/sync(\?|$)/, (ws) => {
    if (cut) {
      ws.close({ code: 1001, reason: "cut off by the test" });
      return;
    }
    // No close handlers here: with one, Playwright would stop passing a close on to the other end.
    const server = ws.connectToServer();
    open.add({ ws, server });
    // With message handlers, Playwright passes messages on only as they do.
    if (onMessage) {
      ws.onMessage((m) => {
        onMessage(">", m);
        server.send(m);
      });
      server.onMessage((m) => {
        onMessage("<", m);
        ws.send(m);
      });
    }
  });
  return {
    async cut() {
      cut = true;
      await context.setOffline(true);
      // Links that have closed already are closed again, harmlessly.
      for (const link of open) {
        await link.ws.close({ code: 1001, reason: "cut off by the test" }).catch(() => {});
        await link.server.close().catch(() => {});
      }
      open.clear();
    },
    async restore() {
      cut = false;
      await context.setOffline(false);
    },
  };
}

// The contacts on the browse screen that serve Helsinki itself (with a phone number when
// `withPhone`), in the order shown: each with its link, id and name.
export async function helsinkiContacts(page, url, { withPhone = false } = {}) {
  await page.goto(new URL("#/browse", url).href);
  await page.locator("main [data-testid=contact]").first().waitFor();
  const found = await page.locator("main [data-testid=contact]").evaluateAll(
    (els, [why, phone]) =>
      els
        .filter((el) => (el.querySelector(".why") || {}).textContent?.includes(why) && (!phone || el.querySelector("a.tel")))
        .map((el) => ({ href: el.querySelector("strong a").getAttribute("href"), name: el.querySelector("strong").textContent.trim() })),
    ["serves the municipality of Helsinki", withPhone],
  );
  check(found.length, `no contact on the browse screen serves the municipality of Helsinki${withPhone ? " and has a phone number" : ""}`);
  return found.map((c) => ({ ...c, id: decodeURIComponent(c.href.replace("#/contact/", "")) }));
}

