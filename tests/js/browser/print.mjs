// Browser test: a municipality's printable contact sheet. A reader who is a member of Helsinki
// opens the sheet from the home screen in Finnish; it is printed by Chromium to an A4 PDF
// (`page.pdf`, print media), which the Rust test reads back. A card's steps are printed too.
// On screen the sheet shows the print button; in print media no button, link styled as a
// button or live badge is visible. Once opened online, the sheet opens offline too.
//
// node print.mjs --url http://127.0.0.1:PORT/ --code INVITE --out DIR
// The result names the PDFs written and what print media left visible.

import path from "node:path";
import { args, check, finish, launch, lastSynced, need, newPage, pickMunicipality, run, signIn, waitServiceWorkerActive, waitSyncedAfter } from "./common.mjs";

// What print media shows of the page's controls and live badges.
async function visibleControls(page) {
  await page.emulateMedia({ media: "print" });
  const found = await page.evaluate(() =>
    [...document.querySelectorAll("button, .button, .badge.open, .badge.closed, header, nav, .no-print")]
      .filter((el) => el.getClientRects().length > 0)
      .map((el) => `${el.tagName.toLowerCase()}.${el.className}: ${el.textContent.trim().slice(0, 40)}`),
  );
  // Back to the default: page.pdf prints with print media unless screen media is emulated.
  await page.emulateMedia({ media: null });
  return found;
}

run(async () => {
  const a = args();
  need(a, "url", "code", "out");
  const browser = await launch();
  const { context, page } = await newPage(browser, { locale: "fi-FI" });
  await signIn(page, a.url, a.code);
  const never = await lastSynced(page);
  await pickMunicipality(page, "helsing", "Helsinki");
  await waitSyncedAfter(page, never);
  // Helsinki's members-only document (its local cooperation group) arrives after the session.
  await page.goto(new URL("#/browse", a.url).href);
  await page.locator("main [data-testid=members-only]").first().waitFor();
  await page.goto(new URL("#/", a.url).href);
  await page.locator("[data-testid=print-link]").click();
  await page.locator("[data-testid=print-sheet] dd").first().waitFor();
  check(new URL(page.url()).hash === "#/print/091", `the home screen's link opened ${page.url()}`);
  const onScreen = await page.locator("main button").count();
  check(onScreen === 1, `the sheet shows ${onScreen} buttons on screen, not its print button`);
  const roles = await page.locator("[data-testid=print-sheet] dt").evaluateAll((els) => els.map((el) => el.dataset.role));
  const meta = await page.locator("[data-testid=print-meta]").innerText();
  const sheetControls = await visibleControls(page);
  const sheet = path.join(a.out, "print-sheet-091.pdf");
  await page.pdf({ path: sheet, format: "A4", printBackground: true });

  await page.goto(new URL("#/card/worried-about-young-person/minor", a.url).href);
  await page.locator(".urgency [data-testid=contact]").first().waitFor();
  const cardControls = await visibleControls(page);
  const card = path.join(a.out, "print-card.pdf");
  await page.pdf({ path: card, format: "A4", printBackground: true });

  // The sheet's module, loaded on demand, is kept by the service worker once fetched: with the
  // network gone, the sheet still opens.
  await waitServiceWorkerActive(page);
  await page.reload();
  await page.locator(".urgency [data-testid=contact]").first().waitFor();
  await page.goto(new URL("#/print/091", a.url).href);
  await page.locator("[data-testid=print-sheet] dd").first().waitFor();
  // Not from the browser's own HTTP cache, which would serve the module offline anyway.
  await (await context.newCDPSession(page)).send("Network.clearBrowserCache");
  await context.setOffline(true);
  await page.reload();
  await page.locator("[data-testid=print-sheet] dd").first().waitFor();
  const offline = await page.locator("[data-testid=print-sheet] dd").count();

  await context.close();
  await browser.close();
  finish({ offline, sheet, card, roles, meta, origin: new URL(a.url).origin, sheetControls, cardControls });
});
