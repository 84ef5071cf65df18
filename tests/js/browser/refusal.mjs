// Browser test: two edits that are each valid merge into an entry nobody can reach, and the relay
// refuses the second. Two editors of Helsinki, each in a browser profile of their own, open a
// contact that has a phone number and an e-mail address and nothing else. Editor B's link to the
// relay is cut (the relay keeps running for editor A). A removes the phone numbers, which the
// relay accepts; B, offline, removes the e-mail address, which is valid on B's device because the
// phone number is still there. When B's link returns, the relay refuses B's change: B's app says
// why and offers a reset to the relay's version. After the reset B's app lists the e-mail address
// among the values to enter again, shows the contact as the relay has it (no phone, the e-mail
// back), drops the refusal and syncs again. Entering B's value again is refused on the device.
//
// node refusal.mjs --url http://127.0.0.1:PORT/ --first INVITE --second INVITE
// Steps: "synced" (the Rust test checks the contact in the relay's database), "a-saved" (it
// waits until the relay has stored A's change).

import { args, check, finish, helsinkiContacts, helsinkiPerson, lastSynced, need, relayLink, run, step, WAIT_MS, waitOffline, waitSyncedAfter } from "./common.mjs";

// What a contact page shows of the ways to reach the contact.
function reach(page) {
  return page.locator("main").evaluate((m) => ({
    phones: Array.from(m.querySelectorAll("[data-testid=contact] a.tel"), (a) => a.textContent.trim()),
    email: m.querySelector('a[href^="mailto:"]')?.textContent.trim() ?? null,
    website: !!m.querySelector('a[rel="noopener"]'),
  }));
}

// Waits until the contact page's ways of reaching it are `want` (phones and e-mail).
async function waitReach(page, want, who, timeout = WAIT_MS) {
  await page
    .waitForFunction(
      (w) => {
        const m = document.querySelector("main");
        const phones = Array.from(m.querySelectorAll("[data-testid=contact] a.tel"), (a) => a.textContent.trim());
        const email = m.querySelector('a[href^="mailto:"]')?.textContent.trim() ?? null;
        return JSON.stringify(phones) === JSON.stringify(w.phones) && email === w.email;
      },
      want,
      { timeout },
    )
    .catch(async () => {
      throw new Error(`${who}: the contact page does not show ${JSON.stringify(want)} within ${timeout / 1000} s; it shows ${JSON.stringify(await reach(page))}, status "${await page.locator("#status").textContent()}"`);
    });
}

// Opens the edit form from the contact page, changes fields and saves.
async function edit(page, id, fill) {
  await page.locator(`main a[href="#/edit/${encodeURIComponent(id)}"]`).click();
  await page.locator("main form").waitFor();
  await fill(page);
  await page.locator("main form button[type=submit]").click();
  await page.waitForFunction((h) => location.hash === h, `#/contact/${encodeURIComponent(id)}`).catch(async () => {
    throw new Error(`saving did not return to the contact; the form says ${JSON.stringify(await page.locator("main").innerText())}`);
  });
}

run(async () => {
  const a = args();
  need(a, "url", "first", "second");
  const first = await helsinkiPerson(a.url, a.first);
  let link;
  const second = await helsinkiPerson(a.url, a.second, {
    prepare: async (context) => {
      link = await relayLink(context);
    },
  });

  // 1. A Helsinki contact reached by phone and e-mail, without a website.
  const hrefs = (await helsinkiContacts(first.page, a.url, { withPhone: true })).map((c) => c.href);
  let href;
  let before;
  for (const h of hrefs) {
    await first.page.goto(new URL(h, a.url).href);
    await first.page.locator("main [data-testid=contact] a.tel").first().waitFor();
    const r = await reach(first.page);
    if (r.phones.length && r.email && !r.website) {
      href = h;
      before = r;
      break;
    }
  }
  check(href, "no contact on the browse screen serving Helsinki has a phone number and an e-mail address and no website");
  const id = decodeURIComponent(href.replace("#/contact/", ""));
  const contactUrl = new URL(href, a.url).href;
  await second.page.goto(contactUrl);
  await waitReach(second.page, { phones: before.phones, email: before.email }, "editor B");
  check((await second.page.locator(`main a[href="#/edit/${encodeURIComponent(id)}"]`).count()) === 1, "editor B is offered no Edit link");
  await step("synced", { contact: id, before });

  // 2. B's link to the relay is cut; the relay and A's link stay up.
  const secondSynced = await lastSynced(second.page);
  await link.cut();
  await waitOffline(second.page);

  // A removes every phone number; the relay accepts it (the e-mail address remains).
  await edit(first.page, id, async (p) => {
    for (const f of await p.locator('main input[id^="f-phones["]').all()) await f.fill("");
  });
  await waitReach(first.page, { phones: [], email: before.email }, "editor A, after removing the phones");
  await step("a-saved");

  // B, offline, removes the e-mail address: valid on B's device, where the phone remains. The
  // status line says the edit waits on the device until the next reconnect attempt redraws it,
  // so every text it shows is recorded.
  await second.page.evaluate(() => {
    const el = document.getElementById("status");
    window.__statusSeen = [];
    new MutationObserver(() => window.__statusSeen.push(el.textContent)).observe(el, { childList: true, subtree: true, characterData: true });
  });
  await edit(second.page, id, (p) => p.locator('main [id="f-email"]').fill(""));
  await waitReach(second.page, { phones: before.phones, email: null }, "editor B, offline");
  const savedStatus = await second.page.evaluate(() => window.__statusSeen.find((s) => s.includes("Saved on this device")) ?? window.__statusSeen.join(" | "));

  check((await second.page.locator("#refusal").count()) === 0, "editor B was refused while cut off from the relay");
  const cutStatus = await second.page.locator("#status").textContent();
  check(!/Up to date|Updating/.test(cutStatus), `editor B is connected while cut off: ${cutStatus}`);

  // 3. B's link returns: the relay refuses B's change, and B's app says why.
  await link.restore();
  const refusal = second.page.locator("#refusal");
  await refusal.waitFor({ timeout: 2 * WAIT_MS }).catch(async () => {
    throw new Error(`editor B: no refusal shown within ${(2 * WAIT_MS) / 1000} s; status "${await second.page.locator("#status").textContent()}", page ${JSON.stringify(await second.page.locator("main").innerText())}`);
  });
  const refused = {
    role: await refusal.getAttribute("role"),
    heading: (await refusal.locator("h2").textContent()).trim(),
    message: (await refusal.locator("[data-testid=refusal-message]").textContent()).trim(),
    resetButton: (await refusal.locator("[data-testid=reset-doc]").count()) === 1 ? (await refusal.locator("[data-testid=reset-doc]").textContent()).trim() : null,
  };
  // The relay closed B's connection; B reconnects by its back-off, and the held document is not
  // offered again. B's device keeps B's change until the editor chooses to reset, and the app
  // does not claim to be up to date while the refused change waits: it would say so within its
  // quiet time (0.4 s) of the last message, so two seconds are ample.
  await second.page.locator("#status", { hasText: "Updating" }).waitFor({ timeout: 2 * WAIT_MS }).catch(async () => {
    throw new Error(`editor B: not reconnected after the refusal within ${(2 * WAIT_MS) / 1000} s; status "${await second.page.locator("#status").textContent()}"`);
  });
  const upToDateWhileHeld = await second.page
    .waitForFunction(() => document.getElementById("status").textContent.includes("Up to date"), null, { timeout: 2000 })
    .then(
      () => true,
      () => false,
    );
  const held = { reach: await reach(second.page), status: (await second.page.locator("#status").textContent()).trim(), lastSynced: await lastSynced(second.page), upToDateWhileHeld, refusalShown: await refusal.count() };

  // 4. The reset: the values B loses are listed to be entered again.
  await refusal.locator("[data-testid=reset-doc]").click();
  await second.page.waitForFunction(() => location.hash === "#/discarded");
  await second.page.locator("main [data-testid=discarded-item]").first().waitFor().catch(async () => {
    throw new Error(`editor B: the discarded screen lists nothing: ${JSON.stringify(await second.page.locator("main").innerText())}`);
  });
  const discardedTitle = (await second.page.locator("main h1").textContent()).trim();
  const discarded = await second.page.locator("main [data-testid=discarded-item]").evaluateAll((els) =>
    els.map((el) => {
      const values = el.querySelectorAll("p span");
      return {
        label: el.querySelector("a").textContent.trim(),
        href: el.querySelector("a").getAttribute("href"),
        yours: values[0]?.textContent.trim() ?? null,
        now: values[1]?.textContent.trim() ?? null,
      };
    }),
  );
  const refusalAfterReset = await second.page.locator("#refusal").count();

  // 5. The contact as the relay has it: A's change (no phone) and the e-mail address back.
  // Navigated within the page, never reloaded, so what shows is the running app's state.
  await second.page.evaluate((h) => {
    location.hash = h;
  }, href);
  await waitReach(second.page, { phones: [], email: before.email }, "editor B, after the reset", 2 * WAIT_MS);
  const after = await reach(second.page);
  const synced = await waitSyncedAfter(second.page, held.lastSynced, 2 * WAIT_MS);
  const status = (await second.page.locator("#status").textContent()).trim();
  const refusalAtEnd = await second.page.locator("#refusal").count();

  // 6. B enters the listed value again: the item leads to the edit form, where removing the
  // e-mail address is now refused on the device, with the same rule, and nothing is saved.
  await second.page.evaluate(() => {
    location.hash = "#/discarded";
  });
  await second.page.locator("main [data-testid=discarded-item] a").first().click();
  await second.page.locator('main [id="f-email"]').fill("");
  await second.page.locator("main form button[type=submit]").click();
  // The rule is about the whole entry, so the form's summary says it (no one field is to blame).
  await second.page.locator("main form [role=alert]", { hasText: /\S/ }).first().waitFor().catch(async () => {
    throw new Error(`editor B: entering the discarded value again was not refused: ${JSON.stringify(await second.page.locator("main").innerText())}`);
  });
  const reentered = {
    hash: new URL(second.page.url()).hash,
    errors: (await second.page.locator("main form .error").allTextContents()).map((e) => e.trim()).filter(Boolean),
  };
  await second.page.locator(`main form a[href="${href}"]`).click();
  await waitReach(second.page, { phones: [], email: before.email }, "editor B, after the refused re-entry");
  const firstRefusals = await first.page.locator("#refusal").count();
  const firstReach = await reach(first.page);
  await first.context.close();
  await second.context.close();
  finish({ contact: id, before, savedStatus, refused, held, secondSynced, discardedTitle, discarded, refusalAfterReset, after, synced, status, refusalAtEnd, reentered, firstRefusals, firstReach });
});
