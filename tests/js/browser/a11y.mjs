// Browser test: accessibility and looks of the main screens in Finnish, Swedish and English.
// axe-core checks each screen against WCAG 2.1 A and AA; each screen is saved as a phone-size
// screenshot; at 320 px the home screen, a card's steps, the add form, the printable contact
// sheet and the accessibility statement must not scroll sideways.
// The person for the `--admin` language is an administrator, whose history and add screens are
// checked too; the others are readers, who must not be offered them.
//
// node a11y.mjs --url http://127.0.0.1:PORT/ --codes fi=CODE,sv=CODE,en=CODE --out DIR --admin en
// The result lists every violation found, sideways scrolling, stray "null" text (the Rust test
// asserts there is none of these) and the screenshots written.

import path from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import { args, check, finish, launch, lastSynced, need, newPage, pickMunicipality, run, signIn, waitSyncedAfter } from "./common.mjs";

const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
const LOCALES = { fi: "fi-FI", sv: "sv-FI", en: "en-GB" };
const CARD = "worried-about-young-person";

const violations = [];
const screenshots = [];
const overflow = [];
const checked = [];
const stray = [];

// Runs axe on the page as it is and keeps each violation, one entry per rule and screen.
async function axe(page, lang, screen) {
  const results = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  // How many rules applied and passed: a run that checked nothing must not count as clean.
  checked.push({ lang, screen, passes: results.passes.length, incomplete: results.incomplete.map((v) => `${v.id}: ${v.nodes.length}`) });
  for (const v of results.violations) {
    violations.push({
      lang,
      screen,
      rule: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary.replace(/\s+/g, " ")}`),
    });
  }
}

// Text that only a program could have put there: a missing value rendered as "null" or
// "undefined" in the main region.
async function strayText(page, lang, screen) {
  const found = await page.evaluate(() => {
    const walker = document.createTreeWalker(document.getElementById("main"), NodeFilter.SHOW_TEXT);
    const out = [];
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (/^\s*(null|undefined|NaN|\[object Object\])\s*$/.test(n.textContent)) out.push(n.textContent.trim());
    }
    return out;
  });
  if (found.length) stray.push({ lang, screen, text: found });
}

// axe must find what it is there to find: a page with an unlabelled field and grey-on-white
// text fails two rules. Without this, a checker that silently checked nothing would pass.
async function axeSelfTest(browser) {
  const { context, page } = await newPage(browser, { locale: "en-GB" });
  await page.setContent('<html lang="en"><head><title>t</title></head><body><main><input id="x"><p style="color:#bbb;background:#fff">faint</p></main></body></html>');
  const ids = (await new AxeBuilder({ page }).withTags(TAGS).analyze()).violations.map((v) => v.id);
  await context.close();
  check(ids.includes("label") && ids.includes("color-contrast"), `axe missed known violations on a bad page: ${ids}`);
}

async function shoot(page, out, lang, screen) {
  const file = path.join(out, `${lang}-${screen}.png`);
  await page.screenshot({ path: file });
  screenshots.push(file);
}

// Both checks and the screenshot for one screen.
async function screen(page, out, lang, name) {
  await axe(page, lang, name);
  await strayText(page, lang, name);
  await shoot(page, out, lang, name);
}

// Whether the page scrolls sideways at 320 px (content wider than the screen).
async function narrow(page, lang, name) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 320, height: size.height });
  const m = await page.evaluate(() => ({ scroll: document.scrollingElement.scrollWidth, client: document.scrollingElement.clientWidth }));
  if (m.scroll > m.client) overflow.push({ lang, screen: name, ...m });
  await page.setViewportSize(size);
}

async function go(page, url, hash) {
  await page.goto(new URL(hash, url).href);
}

async function oneLanguage(browser, url, lang, code, out, editor) {
  const { context, page } = await newPage(browser, { locale: LOCALES[lang] });

  // Sign-in, in the browser's language on first start.
  await page.goto(url);
  await page.locator("#code").waitFor();
  check((await page.evaluate(() => document.documentElement.lang)) === lang, `the app did not start in ${lang}`);
  await screen(page, out, lang, "1-sign-in");

  // The municipality picker, with a search typed in.
  await signIn(page, url, code);
  const never = await lastSynced(page);
  await page.locator("#muni").fill("hel");
  await page.locator("button.choice").first().waitFor();
  await screen(page, out, lang, "2-municipality");

  // Home, once the first sync has finished (the status line is then stable).
  await pickMunicipality(page, "helsing", "Helsinki");
  await waitSyncedAfter(page, never);
  await screen(page, out, lang, "3-home");
  await narrow(page, lang, "home");

  // A card's first question, and the steps for a minor.
  await go(page, url, `#/card/${CARD}`);
  await page.locator(`.list a[href="#/card/${CARD}/age"]`).waitFor();
  await screen(page, out, lang, "4-card-question");
  await go(page, url, `#/card/${CARD}/minor`);
  await page.locator(".urgency [data-testid=contact]").first().waitFor();
  await screen(page, out, lang, "5-card-steps");
  await narrow(page, lang, "steps");

  // A contact, reached from the steps.
  const link = page.locator("[data-testid=contact] strong a").first();
  const name = (await link.textContent()).trim();
  await link.click();
  await page.locator("main > h1", { hasText: name.split(" (")[0] }).waitFor();
  await page.locator("main a.tel").first().waitFor();
  await screen(page, out, lang, "6-contact");

  // The editor's screens, for the administrator: the contact's history and the add form.
  const history = page.locator('main a[href^="#/history/"]');
  if (editor) {
    check((await history.count()) === 1, `the administrator (${lang}) is offered no history on a contact`);
    await history.click();
    await page.locator("main [data-testid=history-entry]").first().waitFor();
    await screen(page, out, lang, "8-history");
    await go(page, url, "#/add");
    await page.locator("main form #f-area").waitFor();
    await screen(page, out, lang, "9-add");
    await narrow(page, lang, "add");
  } else {
    check((await history.count()) === 0, `a reader (${lang}) is offered a contact's history`);
  }

  await go(page, url, "#/settings");
  await page.locator("select#lang").waitFor();
  check((await page.locator("select#lang").inputValue()) === lang, `settings show a language other than ${lang}`);
  await screen(page, out, lang, "7-settings");

  // The municipality's printable contact sheet (on screen) and the accessibility statement.
  await go(page, url, "#/print/091");
  await page.locator("main [data-testid=print-sheet] dd").first().waitFor();
  await screen(page, out, lang, "10-print");
  await narrow(page, lang, "print");
  await go(page, url, "#/accessibility");
  await page.locator("main [data-testid=a11y-gaps]").waitFor();
  await screen(page, out, lang, "11-accessibility");
  await narrow(page, lang, "accessibility");
  await context.close();
}

run(async () => {
  const a = args();
  need(a, "url", "codes", "out", "admin");
  const codes = Object.fromEntries(a.codes.split(",").map((kv) => kv.split("=")));
  const browser = await launch();
  await axeSelfTest(browser);
  for (const lang of ["fi", "sv", "en"]) {
    check(codes[lang], `no invite code for ${lang}`);
    await oneLanguage(browser, a.url, lang, codes[lang], a.out, lang === a.admin);
  }
  await browser.close();
  finish({ violations, overflow, stray, screenshots, checked });
});
