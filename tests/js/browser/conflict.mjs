// Browser test: two editors of Helsinki change the same phone number while the relay is gone.
// When it returns, both apps show the conflict with both numbers and the same one shown now;
// one editor keeps the other's number, and both apps then show that one number and no conflict.
//
// node conflict.mjs --url http://127.0.0.1:PORT/ --first INVITE --second INVITE
//                   --first-number "+358 0 000 0991" --second-number "+358 0 000 0992"
// Steps: "synced" (then the relay is stopped), "edited" (then it is started again).

import { args, check, finish, helsinkiContacts, helsinkiPerson, need, run, step, WAIT_MS, waitOffline, waitSyncedAfter } from "./common.mjs";

function firstNumber(page) {
  return page.locator("main [data-testid=contact] a.tel").first().textContent();
}

// Saves `number` as the first phone number through the edit form.
async function editFirstNumber(page, id, number) {
  await page.locator(`main a[href="#/edit/${encodeURIComponent(id)}"]`).click();
  await page.locator('[id="f-phones[0]"]').fill(number);
  await page.locator("main form button[type=submit]").click();
  await page.waitForFunction((n) => document.querySelector("main [data-testid=contact] a.tel")?.textContent.trim() === n, number);
}

// The conflict on the first phone number as the page shows it: the values, shown one first.
async function waitConflict(page, who, timeout = 2 * WAIT_MS) {
  const c = page.locator('main [data-testid=conflict][data-field="phones[0].number"]');
  await c.waitFor({ timeout }).catch(async () => {
    throw new Error(`${who}: no conflict shown within ${timeout / 1000} s; the page says ${JSON.stringify(await page.locator("main").innerText())}`);
  });
  return c.locator("button[data-value]").evaluateAll((els) => els.map((el) => el.dataset.value));
}

run(async () => {
  const a = args();
  need(a, "url", "first", "second", "first-number", "second-number");
  const first = await helsinkiPerson(a.url, a.first);
  const second = await helsinkiPerson(a.url, a.second);

  const [{ href, id }] = await helsinkiContacts(first.page, a.url, { withPhone: true });
  for (const p of [first.page, second.page]) {
    await p.goto(new URL(href, a.url).href);
    await p.locator("main [data-testid=contact] a.tel").first().waitFor();
  }
  const before = (await firstNumber(first.page)).trim();
  check(before !== a["first-number"] && before !== a["second-number"], `the contact already has one of the test numbers: ${before}`);
  await step("synced", { contact: id, before });

  // Both edit the same field with the relay gone.
  await waitOffline(first.page);
  await waitOffline(second.page);
  await editFirstNumber(first.page, id, a["first-number"]);
  await editFirstNumber(second.page, id, a["second-number"]);
  await step("edited");

  // Both apps reconnect and receive the other's change: both show the conflict alike.
  const firstValues = await waitConflict(first.page, "first editor");
  const secondValues = await waitConflict(second.page, "second editor");
  const shown = [(await firstNumber(first.page)).trim(), (await firstNumber(second.page)).trim()];

  // The second editor keeps the first editor's number (whichever is shown now).
  await second.page.locator(`main [data-testid=conflict][data-field="phones[0].number"] button[data-value="${a["first-number"]}"]`).click();
  for (const [p, who] of [[second.page, "second editor"], [first.page, "first editor"]]) {
    await p
      .waitForFunction(
        (n) => !document.querySelector("main [data-testid=conflict]") && document.querySelector("main [data-testid=contact] a.tel")?.textContent.trim() === n,
        a["first-number"],
        { timeout: 2 * WAIT_MS },
      )
      .catch(async () => {
        throw new Error(`${who}: after the choice the page says ${JSON.stringify(await p.locator("main").innerText())}`);
      });
  }
  const resolved = [(await firstNumber(first.page)).trim(), (await firstNumber(second.page)).trim()];
  const synced = await waitSyncedAfter(second.page, second.synced, 2 * WAIT_MS);
  await first.context.close();
  await second.context.close();
  finish({ contact: id, before, firstValues, secondValues, shown, resolved, synced });
});
