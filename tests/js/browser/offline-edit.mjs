// Browser test: an edit made offline reaches another device. An editor of Helsinki and a reader,
// each in a browser profile of their own, are signed in and synced; the Rust test stops the
// relay process; the editor tries an invalid phone number (refused, nothing saved), then saves a
// valid one, which shows at once on the editor's page. When the relay is back on the same port,
// the reader's page, open on that contact and never reloaded, shows the new number by itself.
// Then the editor opens the contact's history: the change is listed with the editor's name as the
// relay recorded it and the previous number; restoring it reaches the reader as a new change.
//
// node offline-edit.mjs --url http://127.0.0.1:PORT/ --editor INVITE --reader INVITE
//                       --number "+358 0 000 0999" --invalid "call me maybe"
// Steps: "synced" (then the relay is stopped), "edited" (then it is started again), "seen"
// (the Rust test reads the audit log).

import { args, check, finish, helsinkiContacts, helsinkiPerson, need, run, step, WAIT_MS, waitOffline, waitSyncedAfter } from "./common.mjs";

// The phone numbers shown on a contact page, in order.
function numbers(page) {
  return page.locator("main [data-testid=contact] a.tel").allTextContents();
}

// Waits until the contact page shows `number` first; says what it showed instead if it never does.
async function waitFirstNumber(page, number, who, timeout = WAIT_MS) {
  await page
    .waitForFunction(
      (n) => {
        const a = document.querySelector("main [data-testid=contact] a.tel");
        return a && a.textContent.trim() === n;
      },
      number,
      { timeout },
    )
    .catch(async () => {
      throw new Error(`${who}: the contact page does not show ${number} within ${timeout / 1000} s; it shows ${JSON.stringify(await numbers(page))}, status "${await page.locator("#status").textContent()}"`);
    });
}

// The form field `key` (ids such as "f-phones[0]" hold brackets, so they are matched whole).
const field = (page, key) => page.locator(`[id="f-${key}"]`);
const fieldError = (page, key) => page.locator(`[id="e-${key}"]`);

run(async () => {
  const a = args();
  need(a, "url", "editor", "reader", "number", "invalid");
  const editor = await helsinkiPerson(a.url, a.editor);
  const reader = await helsinkiPerson(a.url, a.reader);

  // 1. A Helsinki contact with a phone number, from the editor's list of contacts.
  const [contact] = await helsinkiContacts(editor.page, a.url, { withPhone: true });
  const id = contact.id;
  const contactUrl = new URL(contact.href, a.url).href;

  await editor.page.goto(contactUrl);
  await editor.page.locator("main [data-testid=contact] a.tel").first().waitFor();
  const before = await numbers(editor.page);
  check(before[0] !== a.number, `the contact already has ${a.number}`);
  check((await editor.page.locator(`main a[href="#/edit/${encodeURIComponent(id)}"]`).count()) === 1, "the editor of Helsinki is offered no Edit link");

  await reader.page.goto(contactUrl);
  await waitFirstNumber(reader.page, before[0], "reader");
  check((await reader.page.locator('main a[href^="#/edit/"]').count()) === 0, "a reader is offered an Edit link");
  // Marks this document: a reload or navigation to another page would lose the mark.
  await reader.page.evaluate(() => {
    window.__sameDocument = true;
  });
  await step("synced", { contact: { id, name: contact.name }, before, editorSynced: editor.synced, readerSynced: reader.synced });

  // 2. The relay process is gone: both apps notice the connection dropped.
  const probe = await editor.page.request.get(new URL("/healthz", a.url).href, { timeout: 5000 }).then(
    (r) => `status ${r.status()}`,
    () => "unreachable",
  );
  check(probe === "unreachable", `the relay still answers after being stopped: ${probe}`);
  await waitOffline(editor.page);
  await waitOffline(reader.page);

  // An invalid number is refused next to its field, and nothing is saved.
  await editor.page.locator(`main a[href="#/edit/${encodeURIComponent(id)}"]`).click();
  await field(editor.page, "phones[0]").fill(a.invalid);
  await editor.page.locator("main form button[type=submit]").click();
  await fieldError(editor.page, "phones[0]")
    .filter({ hasText: /\S/ })
    .waitFor()
    .catch(() => {
      throw new Error(`no field error under the first phone number for ${JSON.stringify(a.invalid)}`);
    });
  const invalidError = (await fieldError(editor.page, "phones[0]").textContent()).trim();
  check((await field(editor.page, "phones[0]").getAttribute("aria-invalid")) === "true", "the invalid field is not marked aria-invalid");
  check(new URL(editor.page.url()).hash.startsWith("#/edit/"), `after an invalid save the page left the form: ${editor.page.url()}`);
  await editor.page.locator(`main form a[href="#/contact/${encodeURIComponent(id)}"]`).click();
  await editor.page.locator("main [data-testid=contact] a.tel").first().waitFor();
  const afterInvalid = await numbers(editor.page);
  check(JSON.stringify(afterInvalid) === JSON.stringify(before), `after the refused edit the contact shows ${JSON.stringify(afterInvalid)}, not ${JSON.stringify(before)}`);

  // A valid number is saved on the device and shown at once, still offline.
  await editor.page.locator(`main a[href="#/edit/${encodeURIComponent(id)}"]`).click();
  await field(editor.page, "phones[0]").fill(a.number);
  await editor.page.locator("main form button[type=submit]").click();
  await waitFirstNumber(editor.page, a.number, "editor, offline");
  const editorNumbers = await numbers(editor.page);
  const savedStatus = (await editor.page.locator("#status").textContent()).trim();
  const readerOffline = await numbers(reader.page);
  await step("edited", { editorNumbers, savedStatus, invalidError, readerNumbers: readerOffline });

  // 3. The relay is back on the same port. Both apps reconnect by their back-off (1 s,
  // doubling), so the wait may be longer than one back-off interval.
  const started = Date.now();
  await waitFirstNumber(reader.page, a.number, "reader, after the relay returned", 2 * WAIT_MS);
  const readerMs = Date.now() - started;
  const readerNumbers = await numbers(reader.page);
  const sameDocument = await reader.page.evaluate(() => window.__sameDocument === true);
  const readerHash = new URL(reader.page.url()).hash;
  // The editor's "last synced" time moves on once the relay acknowledged every document.
  const editorSynced = await waitSyncedAfter(editor.page, editor.synced, 2 * WAIT_MS);
  await step("seen", { contact: { id, name: contact.name }, readerNumbers, readerMs, sameDocument, readerHash, editorSynced });

  // 4. The history names the editor (as the relay recorded it) and shows the previous number.
  await editor.page.locator(`main a[href="#/history/${encodeURIComponent(id)}"]`).click();
  const change = editor.page.locator('main [data-testid=history-entry] .change[data-field="phones[0].number"]').first();
  await change.waitFor().catch(async () => {
    throw new Error(`the history shows no change of the first phone number: ${await editor.page.locator("main").innerText()}`);
  });
  const history = {
    author: (await change.locator("[data-testid=author]").textContent()).trim(),
    before: (await change.locator("[data-testid=before]").textContent()).trim(),
    after: (await change.locator("[data-testid=after]").textContent()).trim(),
    text: (await change.innerText()).trim(),
  };
  // Restoring writes the previous number back as a new change; the reader sees it without reloading.
  await change.locator("[data-testid=restore]").click();
  await waitFirstNumber(editor.page, before[0], "editor, after restoring");
  await waitFirstNumber(reader.page, before[0], "reader, after the editor restored the number");
  const restoredSame = await reader.page.evaluate(() => window.__sameDocument === true);
  await editor.page.locator(`main a[href="#/history/${encodeURIComponent(id)}"]`).click();
  await editor.page.locator("main [data-testid=history-entry]").first().waitFor();
  const newest = editor.page.locator('main [data-testid=history-entry] .change[data-field="phones[0].number"]').first();
  const afterRestore = {
    before: (await newest.locator("[data-testid=before]").textContent()).trim(),
    after: (await newest.locator("[data-testid=after]").textContent()).trim(),
  };
  // The reader received the restored number through the relay, which passes changes on only
  // after storing them: the Rust side can read the relay's database now.
  await editor.context.close();
  await reader.context.close();
  finish({ contact: { id, name: contact.name }, before, editorNumbers, readerNumbers, readerMs, sameDocument, readerHash, editorSynced, invalidError, history, afterRestore, restoredSame });
});
