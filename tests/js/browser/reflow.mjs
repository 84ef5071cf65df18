// Browser test: reflow at 320 CSS px with text at 200 % (WCAG 2.1 1.4.4 and 1.4.10). The
// root font size is doubled (text only, not page zoom), the window is 320 px wide, and an administrator goes through the main screens: sign-in, home, a
// card's steps, a contact, search results, the printable contact sheet, the accessibility
// statement, and the edit form, where a contact is renamed with a
// long unbroken word, then shown. On each: no element reaches beyond the viewport, the page does
// not scroll sideways, no element's text overflows its box (scrollWidth > clientWidth), and a
// screenshot is written to --out.
//
// node reflow.mjs --url http://127.0.0.1:PORT/ --code INVITE --out DIR
// The result lists each problem found, the root font size, the header's height and the
// screenshots written.

import path from "node:path";
import { args, check, finish, launch, lastSynced, need, newPage, pickMunicipality, run, signIn, waitSyncedAfter } from "./common.mjs";

const CARD = "worried-about-young-person";
// A Finnish compound with no place to break: 52 letters, wider than the screen at 200 %.
const LONG = "Lastensuojeluilmoitustenvastaanottopalvelukeskuspäivystys";

const problems = [];
const screenshots = [];
const headers = [];

// Everything on the screen that is wider than the viewport or whose text overflows its box.
async function measure(page, screen, out) {
  const found = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const out = [];
    const name = (el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}${el.className && typeof el.className === "string" ? `.${el.className.trim().split(/\s+/).join(".")}` : ""}`;
    if (document.scrollingElement.scrollWidth > width) out.push({ what: "page scrolls sideways", scrollWidth: document.scrollingElement.scrollWidth, width });
    for (const el of document.body.querySelectorAll("*")) {
      // Hidden on purpose: the skip link until focused, text for screen readers only.
      if (el.closest(".skip, .visually-hidden, [hidden], noscript, script, style")) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < -1 || r.right > width + 1) out.push({ what: "wider than the viewport", el: name(el), left: Math.round(r.left), right: Math.round(r.right), width, text: el.textContent.trim().slice(0, 60) });
      // Text clipped or spilling out of its box. Form fields scroll their own value.
      if (["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName)) continue;
      const ownText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (ownText && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) out.push({ what: "text overflows its box", el: name(el), scrollWidth: el.scrollWidth, clientWidth: el.clientWidth, text: el.textContent.trim().slice(0, 60) });
    }
    return { out, header: Math.round(document.querySelector("header.bar").getBoundingClientRect().height), height: innerHeight };
  });
  for (const p of found.out) problems.push({ screen, ...p });
  headers.push({ screen, height: found.header, viewport: found.height });
  const file = path.join(out, `reflow-320-200-${screen}.png`);
  await page.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
}

run(async () => {
  const a = args();
  need(a, "url", "code", "out");
  const browser = await launch();
  const { context, page } = await newPage(browser, { locale: "en-GB", viewport: { width: 320, height: 640 } });
  // Text at 200 %: the root font size doubled on every page, as a person's text size setting
  // does to a page sized in rem (Chromium's own font size setting, through CDP, changed the
  // computed size but not what was drawn in a headless screenshot).
  await context.addInitScript(() => {
    const big = () => document.documentElement && document.documentElement.style.setProperty("font-size", "200%", "important");
    big();
    document.addEventListener("DOMContentLoaded", big);
  });
  await page.goto(a.url);
  await page.locator("#code").waitFor();
  const rootFont = await page.evaluate(() => getComputedStyle(document.documentElement).fontSize);
  const textFont = await page.evaluate(() => getComputedStyle(document.querySelector("main p")).fontSize);
  check(rootFont === "32px" && textFont === "32px", `the text is not at 200 %: the root font size is ${rootFont}, a paragraph's ${textFont}`);
  await measure(page, "sign-in", a.out);

  await signIn(page, a.url, a.code);
  const never = await lastSynced(page);
  await pickMunicipality(page, "helsing", "Helsinki");
  await waitSyncedAfter(page, never);
  await measure(page, "home", a.out);

  await page.locator("#q").fill("poliisi");
  await page.locator("main ul.list[aria-live] li a").first().waitFor();
  await measure(page, "search", a.out);

  await page.goto(new URL(`#/card/${CARD}/minor`, a.url).href);
  await page.locator(".urgency [data-testid=contact]").first().waitFor();
  await measure(page, "card", a.out);

  const href = await page.locator(".urgency [data-testid=contact] strong a").first().getAttribute("href");
  const id = decodeURIComponent(href.replace("#/contact/", ""));
  await page.goto(new URL(href, a.url).href);
  await page.locator("main [data-testid=contact]").waitFor();
  await measure(page, "contact", a.out);

  await page.goto(new URL("#/print/091", a.url).href);
  await page.locator("main [data-testid=print-sheet] dd").first().waitFor();
  await measure(page, "print", a.out);
  await page.goto(new URL("#/accessibility", a.url).href);
  await page.locator("main [data-testid=a11y-gaps]").waitFor();
  await measure(page, "accessibility", a.out);

  // The edit form, then the contact renamed with one long word.
  await page.goto(new URL(`#/edit/${encodeURIComponent(id)}`, a.url).href);
  await page.locator("#f-name").waitFor();
  await measure(page, "edit", a.out);
  await page.locator("#f-name").fill(LONG);
  await page.locator("main form button[type=submit]").click();
  await page.waitForFunction((t) => document.querySelector("main h1")?.textContent.includes(t) && location.hash.startsWith("#/contact/"), LONG);
  await measure(page, "long-word", a.out);

  await context.close();
  await browser.close();
  finish({ problems, headers, rootFont, screenshots });
});
