// Browser test: an editor changes a contact's opening hours and description, and a reader sees
// them. An editor of Helsinki and a reader, each in a browser profile of their own, are signed in
// and synced, the reader's page open on a Helsinki contact. The editor replaces the contact's
// opening hours with one row (regular hours, Monday to Friday) and rewrites its description in
// English. A closing time with only the hour typed is refused next to the closing time; an opening
// time with no closing time next to the row; nothing is saved until the row is whole. Then the
// save shows on the editor's page at once and on the reader's page, never reloaded, after sync.
// The form is checked with axe, and at 320 px it must not scroll sideways.
//
// node edit-hours.mjs --url http://127.0.0.1:PORT/ --editor INVITE --reader INVITE
//                     --opens 08:30 --closes 15:30 --hours "Mon Tue Wed Thu Fri 08:30–15:30"
//                     --description "New description"
// The result has the contact, the messages shown, the hours and description each page showed,
// and axe's violations on the form.

import { AxeBuilder } from "@axe-core/playwright";
import { args, check, finish, helsinkiContacts, helsinkiPerson, need, run, WAIT_MS } from "./common.mjs";

const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR"];

// The form field `key` and its error line (ids such as "f-schedules[0].opens" hold brackets
// and dots, so they are matched whole).
const field = (page, key) => page.locator(`[id="f-${key}"]`);
const fieldError = (page, key) => page.locator(`[id="e-${key}"]`);

// Waits until the error line of `key` says something; returns it.
async function errorOf(page, key, what) {
  await fieldError(page, key)
    .filter({ hasText: /\S/ })
    .waitFor()
    .catch(async () => {
      throw new Error(`no message next to ${key} for ${what}; the form says: ${await page.locator("main form").innerText()}`);
    });
  return (await fieldError(page, key).textContent()).trim();
}

// The contact card's text on a contact page (its hours are a line of it).
function card(page) {
  return page.locator("main [data-testid=contact]").innerText();
}

// Waits until the contact page shows `text` (in the card, or the description below it).
async function waitShows(page, text, who, timeout = WAIT_MS) {
  await page
    .waitForFunction((s) => document.querySelector("main").innerText.includes(s), text, { timeout })
    .catch(async () => {
      throw new Error(`${who}: the contact page does not show ${JSON.stringify(text)} within ${timeout / 1000} s; it shows ${JSON.stringify(await page.locator("main").innerText())}, status "${await page.locator("#status").textContent()}"`);
    });
}

// Whether the page scrolls sideways at 320 px.
async function overflowAt320(page) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 320, height: size.height });
  const m = await page.evaluate(() => ({ scroll: document.scrollingElement.scrollWidth, client: document.scrollingElement.clientWidth }));
  await page.setViewportSize(size);
  return m.scroll > m.client ? m : null;
}

run(async () => {
  const a = args();
  need(a, "url", "editor", "reader", "opens", "closes", "hours", "description");
  const editor = await helsinkiPerson(a.url, a.editor);
  const reader = await helsinkiPerson(a.url, a.reader);

  // 1. A Helsinki contact, from the editor's list of contacts.
  const [contact] = await helsinkiContacts(editor.page, a.url);
  const id = contact.id;
  const contactUrl = new URL(contact.href, a.url).href;
  await editor.page.goto(contactUrl);
  await editor.page.locator("main [data-testid=contact]").waitFor();
  const before = await editor.page.locator("main").innerText();
  check(!before.includes(a.hours), `the contact already shows ${a.hours}`);
  check(!before.includes(a.description), `the contact already shows ${a.description}`);

  await reader.page.goto(contactUrl);
  await reader.page.locator("main [data-testid=contact]").waitFor();
  await reader.page.evaluate(() => {
    window.__sameDocument = true;
  });

  // 2. The form: every stored row removed, one row added.
  await editor.page.locator(`main a[href="#/edit/${encodeURIComponent(id)}"]`).click();
  await field(editor.page, "description").waitFor();
  const storedRows = await editor.page.locator("main [data-testid=schedule]").count();
  while ((await editor.page.locator("main [data-testid=remove-hours]").count()) > 0) {
    await editor.page.locator("main [data-testid=remove-hours]").first().click();
  }
  await editor.page.locator("main [data-testid=add-hours]").click();
  check((await editor.page.locator("main [data-testid=schedule]").count()) === 1, "adding a row after removing them all gave other than one row");
  const focused = await editor.page.evaluate(() => document.activeElement && document.activeElement.id);
  await field(editor.page, "schedules[0].kind").selectOption("regular");
  for (const d of WEEKDAYS) await field(editor.page, `schedules[0].${d}`).check();
  await field(editor.page, "schedules[0].opens").fill(a.opens);
  // Only the hour of the closing time: the browser cannot read it as a time.
  await field(editor.page, "schedules[0].closes").focus();
  await editor.page.keyboard.type(a.closes.slice(0, 2));
  await field(editor.page, "description").fill(a.description);
  const form = await new AxeBuilder({ page: editor.page }).include("main").withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const overflow = await overflowAt320(editor.page);

  // 3. A time the browser could not read is refused next to the closing time; nothing is saved.
  await editor.page.locator("main form button[type=submit]").click();
  const timeError = await errorOf(editor.page, "schedules[0].closes", "a closing time with only the hour");
  const timeInvalid = await field(editor.page, "schedules[0].closes").getAttribute("aria-invalid");
  const timeFocus = await editor.page.evaluate(() => document.activeElement && document.activeElement.id);
  check(new URL(editor.page.url()).hash.startsWith("#/edit/"), `after an invalid save the page left the form: ${editor.page.url()}`);

  // An opening time without a closing time is refused next to the row.
  await field(editor.page, "schedules[0].closes").fill("");
  await editor.page.locator("main form button[type=submit]").click();
  const pairError = await errorOf(editor.page, "schedules[0]", "an opening time without a closing time");
  const pairFocus = await editor.page.evaluate(() => document.activeElement && document.activeElement.id);
  const closesCleared = (await fieldError(editor.page, "schedules[0].closes").textContent()).trim() === "";
  const withErrors = await new AxeBuilder({ page: editor.page }).include("main").withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const summary = (await editor.page.locator("main form [role=alert]").textContent()).trim();

  // Nothing was saved: the editor's own contact page still has the old hours and description.
  await editor.page.locator(`main form a[href="#/contact/${encodeURIComponent(id)}"]`).click();
  await editor.page.locator("main [data-testid=contact]").waitFor();
  const afterRefused = await editor.page.locator("main").innerText();

  // 4. The whole row is saved, and shows at once on the editor's page.
  await editor.page.locator(`main a[href="#/edit/${encodeURIComponent(id)}"]`).click();
  await field(editor.page, "description").waitFor();
  while ((await editor.page.locator("main [data-testid=remove-hours]").count()) > 0) {
    await editor.page.locator("main [data-testid=remove-hours]").first().click();
  }
  await editor.page.locator("main [data-testid=add-hours]").click();
  for (const d of WEEKDAYS) await field(editor.page, `schedules[0].${d}`).check();
  await field(editor.page, "schedules[0].opens").fill(a.opens);
  await field(editor.page, "schedules[0].closes").fill(a.closes);
  await field(editor.page, "description").fill(a.description);
  await editor.page.locator("main form button[type=submit]").click();
  await waitShows(editor.page, a.hours, "editor");
  const editorCard = await card(editor.page);
  const editorMain = await editor.page.locator("main").innerText();

  // 5. The reader's page, never reloaded, shows both after sync.
  const started = Date.now();
  await waitShows(reader.page, a.hours, "reader", 2 * WAIT_MS);
  await waitShows(reader.page, a.description, "reader", 2 * WAIT_MS);
  const readerMs = Date.now() - started;
  const readerCard = await card(reader.page);
  const readerMain = await reader.page.locator("main").innerText();
  const sameDocument = await reader.page.evaluate(() => window.__sameDocument === true);

  // The form opens with the saved row.
  await editor.page.locator(`main a[href="#/edit/${encodeURIComponent(id)}"]`).click();
  await field(editor.page, "schedules[0].opens").waitFor();
  const reopened = {
    rows: await editor.page.locator("main [data-testid=schedule]").count(),
    kind: await field(editor.page, "schedules[0].kind").inputValue(),
    days: await editor.page.locator('main [data-testid=schedule] input[type=checkbox]:checked').evaluateAll((els) => els.map((e) => e.value)),
    opens: await field(editor.page, "schedules[0].opens").inputValue(),
    closes: await field(editor.page, "schedules[0].closes").inputValue(),
    description: await field(editor.page, "description").inputValue(),
  };
  const violations = [...form.violations, ...withErrors.violations].map((v) => ({
    rule: v.id,
    help: v.help,
    nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary.replace(/\s+/g, " ")}`),
  }));
  await editor.context.close();
  await reader.context.close();
  finish({
    contact: { id, name: contact.name },
    storedRows,
    focused,
    timeError,
    timeInvalid,
    timeFocus,
    pairError,
    pairFocus,
    closesCleared,
    summary,
    afterRefused,
    before,
    editorCard,
    editorMain,
    readerCard,
    readerMain,
    readerMs,
    sameDocument,
    reopened,
    violations,
    axePasses: form.passes.length,
    overflow,
  });
});
