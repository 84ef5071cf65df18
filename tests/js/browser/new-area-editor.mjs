// Browser test: an editor invited for an area that had no document can add a contact point at
// once. The Rust test invites an editor for Vantaa, where the sample data has no document of its
// own; the editor signs in, picks Vantaa, opens "Add a contact", picks Vantaa's document, fills
// in a name, a phone number and a role, and saves. The new contact's page shows it, and the Rust
// test then finds it in the relay's database. The page's clock is fixed at `--at`, half past
// midnight in Finland while it is still the day before in UTC, so the date the app records for
// the new entry shows which calendar it used. Last, a link with a broken escape (a lone "%")
// must leave the app working. On the browse screen, each contact is marked as the editor's to
// change or names the document's area that maintains it.
//
// node new-area-editor.mjs --url http://127.0.0.1:PORT/ --code INVITE --name NAME --number NUMBER --at ISO
// The result: the documents offered on the form, the contact page's name and number, and the
// browse screen's marks.

import { args, check, finish, launchPersistent, lastSynced, need, pickMunicipality, run, signIn, waitSyncedAfter } from "./common.mjs";

run(async () => {
  const a = args();
  need(a, "url", "code", "name", "number", "at");
  const { context, page } = await launchPersistent({ locale: "en-GB" });
  await page.clock.setFixedTime(new Date(a.at));
  await signIn(page, a.url, a.code);
  const never = await lastSynced(page);
  await pickMunicipality(page, "vantaa", "Vantaa");
  await waitSyncedAfter(page, never);

  const add = page.locator('main a[href="#/add"]');
  check((await add.count()) === 1, `the editor of Vantaa is offered no "Add a contact": ${await page.locator("main").innerText()}`);
  await add.click();
  await page.locator("#f-area").waitFor({ timeout: 5000 }).catch(async () => {
    throw new Error(`"Add a contact" shows no form; the page says: ${await page.locator("main").innerText()}`);
  });
  const offered = await page.locator("#f-area option").evaluateAll((os) => os.map((o) => ({ area: o.value, title: o.textContent.trim() })));
  check(offered.some((o) => o.area === "municipality:092"), `Vantaa's document is not offered: ${JSON.stringify(offered)}`);
  await page.locator("#f-area").selectOption("municipality:092");
  await page.locator('[id="f-name"]').fill(a.name);
  await page.locator('[id="f-phones[0]"]').fill(a.number);
  await page.locator("main fieldset input[type=checkbox]").first().check();
  await page.locator("main form button[type=submit]").click();
  await page.waitForFunction(() => location.hash.startsWith("#/contact/"), null, { timeout: 5000 }).catch(async () => {
    throw new Error(`saving did not open the new contact; the form says: ${await page.locator("main").innerText()}`);
  });
  const card = page.locator("main [data-testid=contact]").first();
  await card.waitFor();
  const shown = await card.innerText();
  const number = await page.locator("main [data-testid=contact] a.tel").first().textContent();
  const contactUrl = page.url();
  // On the browse screen every contact says whether this editor may change it, or who does.
  await page.goto(new URL("#/browse", a.url).href);
  await page.locator("main [data-testid=contact]").first().waitFor();
  const marks = await page.locator("main [data-testid=contact]").evaluateAll((els) =>
    els.map((el) => ({
      name: el.querySelector("strong").textContent.trim(),
      mayEdit: !!el.querySelector("[data-testid=may-edit]"),
      maintainer: el.querySelector("[data-testid=maintainer]")?.textContent.trim() || null,
    })),
  );
  await page.goto(contactUrl);
  await page.locator("main [data-testid=contact]").first().waitFor();
  // A broken link opens the home screen or says it found nothing; the app keeps working.
  await page.evaluate(() => {
    location.hash = "#/contact/%E0%A4%A";
  });
  await page.locator("main").waitFor();
  await page.evaluate(() => {
    location.hash = "#/";
  });
  await page.locator(".topics a").first().waitFor();
  // The change leaves for the relay; the Rust test waits for it there. The browser is closed
  // before the result, as every script does, so that its teardown cannot change the exit status.
  const id = decodeURIComponent(contactUrl.split("#/contact/")[1] || "");
  await context.close();
  finish({ offered, shown, number: number.trim(), id, marks });
});
