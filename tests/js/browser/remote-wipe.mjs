// Browser test: a lost phone deletes its data once the relay says an administrator removed it,
// and signing out leaves nothing either. Two readers sign in, each in a fresh browser profile,
// and sync everything. The first is revoked with the real command while its page is open and
// connected. The second picks Finnish in the settings, has its link to the relay cut, is revoked
// while cut off, and its link comes back. Each must end with nothing in the page's IndexedDB or
// localStorage and the sign-in screen saying why, in the person's language, also after a reload.
// A third reader, with the app open in two tabs, signs out in one: nothing is left, also after
// the other tab draws its home screen again (which would keep its snapshot if it could).
//
// node remote-wipe.mjs --url http://127.0.0.1:PORT/ --online INVITE --offline INVITE --signout INVITE
// Steps: "signed-in" (revoke the first device now), "cut" (revoke the second device now).

import { args, check, finish, launchPersistent, lastSynced, need, pickMunicipality, relayLink, run, signIn, step, waitOffline, waitServiceWorkerActive, waitSyncedAfter } from "./common.mjs";

// What this origin keeps: the IndexedDB databases by name, the records in the app's database
// per object store, the localStorage keys and the Cache Storage caches. The app's database is opened only if it
// exists (opening it would create it).
async function kept(page) {
  return page.evaluate(async () => {
    const req = (r) =>
      new Promise((resolve, reject) => {
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
    const databases = (await indexedDB.databases()).map((d) => d.name);
    const records = {};
    if (databases.includes("contactpoint")) {
      const db = await req(indexedDB.open("contactpoint"));
      for (const name of db.objectStoreNames) records[name] = await req(db.transaction(name).objectStore(name).count());
      db.close();
    }
    const caches = await globalThis.caches.keys();
    const local = Object.keys(localStorage);
    return { databases, records, total: Object.values(records).reduce((a, b) => a + b, 0), local, caches };
  });
}

// Waits for the sign-in screen with the notice of a removal and returns what the page shows.
async function removedScreen(page) {
  await page.locator("[data-testid=removed]").waitFor();
  await page.locator("#code").waitFor();
  return {
    notice: await page.locator("[data-testid=removed]").textContent(),
    lang: await page.evaluate(() => document.documentElement.lang),
    url: page.url(),
    contacts: await page.locator("[data-testid=contact]").count(),
  };
}

// A signed-in, synced reader with Helsinki picked; the caller's `prepare` runs first.
async function reader(url, code, prepare) {
  const { context, page } = await launchPersistent({ locale: "en-GB" });
  const link = prepare ? await prepare(context) : null;
  await signIn(page, url, code);
  const never = await lastSynced(page);
  await pickMunicipality(page, "helsing", "Helsinki");
  await waitSyncedAfter(page, never);
  await waitServiceWorkerActive(page);
  return { context, page, link };
}

run(async () => {
  const a = args();
  need(a, "url", "online", "offline", "signout");

  // 1. Revoked while the page is open and connected: the relay closes its connection.
  const first = await reader(a.url, a.online);
  const firstBefore = await kept(first.page);
  check(firstBefore.records.chunks > 0 && firstBefore.records.settings > 0, `nothing was stored before the revocation: ${JSON.stringify(firstBefore)}`);
  await step("signed-in", { before: firstBefore });
  const firstScreen = await removedScreen(first.page);
  const firstAfter = await kept(first.page);
  // A reload keeps the notice (it lives in the history entry) and stores nothing.
  await first.page.reload();
  const firstReloaded = await removedScreen(first.page);
  const firstAfterReload = await kept(first.page);
  await first.context.close();

  // 2. Revoked while cut off: the data stays until the phone reaches the relay again.
  const second = await reader(a.url, a.offline, relayLink);
  await second.page.goto(new URL("#/settings", a.url).href);
  await second.page.locator("#lang").selectOption("fi");
  await second.page.locator("html[lang=fi]").waitFor();
  // The home screen's snapshot was in English: it goes, and the next home screen keeps a Finnish one.
  const snapshot = () => second.page.evaluate(() => JSON.parse(localStorage.getItem("contactpoint-first-screen") || "null")?.lang || null);
  const languageChanged = await snapshot();
  await second.page.goto(new URL("#/", a.url).href);
  await second.page.locator(".topics a").first().waitFor();
  const homeAgain = await snapshot();
  await second.link.cut();
  await waitOffline(second.page);
  await step("cut");
  const secondOffline = await kept(second.page);
  const offlineScreen = { notice: await second.page.locator("[data-testid=removed]").count(), topics: await second.page.locator(".topics a").count() };
  await second.link.restore();
  const secondScreen = await removedScreen(second.page);
  const secondAfter = await kept(second.page);
  await second.context.close();

  // 3. Signing out in one of two tabs.
  const third = await reader(a.url, a.signout);
  const other = await third.context.newPage();
  await other.goto(a.url);
  await other.locator(".topics a").first().waitFor();
  const thirdBefore = await kept(third.page);
  await third.page.goto(new URL("#/settings", a.url).href);
  third.page.once("dialog", (d) => d.accept());
  await third.page.locator("button.secondary", { hasText: "Sign out" }).click();
  await third.page.locator("#code").waitFor();
  // The other tab, still running with its documents in memory, draws its home screen again.
  await other.goto(new URL("#/browse", a.url).href);
  await other.goto(new URL("#/", a.url).href);
  await other.locator(".topics a").first().waitFor();
  const thirdAfter = await kept(third.page);
  await third.context.close();

  finish({ firstBefore, firstScreen, firstAfter, firstReloaded, firstAfterReload, secondOffline, offlineScreen, secondScreen, secondAfter, snapshotLanguage: { languageChanged, homeAgain }, thirdBefore, thirdAfter });
});
