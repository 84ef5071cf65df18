// Browser test: search is local-first and keeps its query. A reader in Vantaa searches "poliisi":
// the results are listed as the app shows them; the first one is opened and Back brings the
// query and its results back.
//
// node search-order.mjs --url http://127.0.0.1:PORT/ --code INVITE

import { args, finish, launchPersistent, lastSynced, need, pickMunicipality, run, signIn, waitSyncedAfter } from "./common.mjs";

run(async () => {
  const a = args();
  need(a, "url", "code");
  const { context, page } = await launchPersistent({ locale: "en-GB" });
  await signIn(page, a.url, a.code);
  const never = await lastSynced(page);
  await pickMunicipality(page, "vantaa", "Vantaa");
  await waitSyncedAfter(page, never);
  const results = page.locator("main ul.list[aria-live] li");
  await page.locator("#q").fill("poliisi");
  await results.first().waitFor();
  const titles = await page.locator("main ul.list[aria-live] li strong").allInnerTexts();
  // Open the first result, then come back.
  await page.locator("main ul.list[aria-live] li a").first().click();
  await page.waitForFunction(() => location.hash.startsWith("#/contact/"));
  const opened = await page.locator("main h1").innerText();
  await page.goBack();
  await page.locator("#q").waitFor();
  await results.first().waitFor();
  const kept = await page.locator("#q").inputValue();
  const again = await page.locator("main ul.list[aria-live] li strong").allInnerTexts();
  await context.close();
  finish({ titles, opened, kept, again });
});
