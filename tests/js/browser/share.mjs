// Browser test: sharing a contact and a card. Headless Chromium has no Web Share API, so the
// Finnish app copies a contact's text and link to the clipboard and says so in Finnish; with
// `navigator.share` stubbed (as on a phone) the card's steps go to the share sheet instead, with
// no "copied" message; with the clipboard refused as well, the text is shown to copy by hand.
//
// node share.mjs --url http://127.0.0.1:PORT/ --code INVITE
// The result holds what was copied, the messages shown and what the share sheet was given.

import { args, check, finish, launch, lastSynced, need, newPage, pickMunicipality, run, signIn, waitSyncedAfter } from "./common.mjs";

run(async () => {
  const a = args();
  need(a, "url", "code");
  const browser = await launch();
  const { context, page } = await newPage(browser, { locale: "fi-FI" });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(a.url).origin });
  await signIn(page, a.url, a.code);
  const never = await lastSynced(page);
  await pickMunicipality(page, "helsing", "Helsinki");
  await waitSyncedAfter(page, never);
  check(!(await page.evaluate(() => "share" in navigator)), "this Chromium has navigator.share: the fallback is not what runs");

  // A contact with a phone number, from a card's steps.
  await page.goto(new URL("#/card/worried-about-young-person/minor", a.url).href);
  const href = await page.locator(".urgency [data-testid=contact]:has(a.tel) strong a").first().getAttribute("href");
  await page.goto(new URL(href, a.url).href);
  await page.locator("main [data-testid=contact]").waitFor();
  const number = (await page.locator("main [data-testid=contact] a.tel").first().innerText()).trim();
  const name = (await page.locator("main h1").innerText()).trim();
  // A reader changes nothing, so no contact is marked as theirs nor names its maintainer.
  const readerMarks = await page.locator("main [data-testid=may-edit], main [data-testid=maintainer]").count();
  await page.locator("[data-testid=share]").click();
  await page.waitForFunction(() => document.querySelector("[data-testid=share-note]")?.textContent.trim());
  const copiedNote = (await page.locator("[data-testid=share-note]").innerText()).trim();
  const copied = await page.evaluate(() => navigator.clipboard.readText());

  // The share sheet, as a phone's browser offers it.
  await page.evaluate(() => {
    Object.defineProperty(navigator, "share", { configurable: true, value: async (data) => void (window.sharedData = data) });
  });
  await page.goto(new URL("#/card/worried-about-young-person/minor", a.url).href);
  await page.locator(".urgency [data-testid=contact]").first().waitFor();
  await page.locator("[data-testid=share]").click();
  await page.waitForFunction(() => window.sharedData);
  const shared = await page.evaluate(() => window.sharedData);
  const sharedNote = (await page.locator("[data-testid=share-note]").innerText()).trim();

  // Neither a share sheet nor a clipboard: the text to select by hand.
  await page.evaluate(() => {
    delete navigator.share;
    Object.defineProperty(navigator, "clipboard", { configurable: true, value: { writeText: () => Promise.reject(new DOMException("denied", "NotAllowedError")) } });
  });
  await page.locator("[data-testid=share]").click();
  await page.locator("[data-testid=share-text]").waitFor();
  const byHand = await page.locator("[data-testid=share-text]").inputValue();
  const byHandNote = (await page.locator("[data-testid=share-note]").innerText()).trim();

  await context.close();
  await browser.close();
  finish({ name, number, readerMarks, copied, copiedNote, shared, sharedNote, byHand, byHandNote });
});
