// Browser test: a new build reaches a phone that runs the app. The page runs under the service
// worker; the Rust test deploys a changed build into the served directory; the page offers the
// update, and accepting it reloads into the new build with every local setting and document
// still there, even with the relay gone by then; the editing screens open too.
//
// node update.mjs --url http://127.0.0.1:PORT/ --code INVITE
// Steps: "controlled" (then a new build is deployed), "offered" (then the relay is killed).

import { args, check, finish, helsinkiPerson, need, run, step, waitServiceWorkerActive } from "./common.mjs";

const MARKER = "[data-testid=build-marker]";

// What the page can tell about the service worker and its caches.
function swState(page) {
  return page.evaluate(async () => {
    const reg = await navigator.serviceWorker.getRegistration();
    return {
      controlled: !!navigator.serviceWorker.controller,
      waiting: !!(reg && reg.waiting),
      caches: await caches.keys(),
    };
  });
}

run(async () => {
  const a = args();
  need(a, "url", "code");
  // 1. The first version: signed in, Helsinki picked, synced once, and after a reload running
  // under the service worker (only such a page can be out of date).
  const { context, page } = await helsinkiPerson(a.url, a.code);
  const topicsBefore = await page.locator(".topics a").count();
  await waitServiceWorkerActive(page);
  await page.reload();
  await page.waitForFunction(() => !!navigator.serviceWorker.controller);
  await page.locator(".topics a").first().waitFor();
  const before = await swState(page);
  check(before.caches.length === 1, `one cache before the update, not ${JSON.stringify(before.caches)}`);
  check((await page.locator(MARKER).count()) === 0, "the first version already has the new build's marker");
  check(await page.locator("#update").isHidden(), "the update banner shows before there is an update");
  await step("controlled", { caches: before.caches, topics: topicsBefore });

  // 2. A new build is on the server: the page checks (as it would on its own on the next
  // navigation or after a day) and offers it.
  await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
  await page.locator("#update").waitFor({ state: "visible" });
  const offered = await swState(page);
  check(offered.waiting, "the banner shows but no new service worker is waiting");
  check(offered.caches.length === 2, `the new build is precached next to the old: ${JSON.stringify(offered.caches)}`);
  // The new build's cache, as the waiting worker filled it: the modules on demand this device
  // used (the editing screens, which an administrator's app loads at start) are in it already.
  const carried = await page.evaluate(async (old) => {
    const name = (await caches.keys()).find((k) => !old.includes(k));
    const keys = await (await caches.open(name)).keys();
    return keys.map((r) => new URL(r.url).pathname).filter((p) => /^\/js\/editing\./.test(p));
  }, before.caches);
  // Nothing may come from the browser's HTTP cache after this: what opens offline must come
  // from the worker's.
  await (await context.newCDPSession(page)).send("Network.clearBrowserCache");
  await step("offered", { caches: offered.caches, carried });

  // 3. The relay is gone. Accepting reloads the page into the new build, from the new cache.
  await page.evaluate(() => {
    window.__oldPage = true;
  });
  await Promise.all([page.waitForEvent("load"), page.locator("#update-reload").click()]);
  check(await page.evaluate(() => !window.__oldPage), "the page did not reload");
  await page.locator(MARKER).waitFor({ state: "visible" });
  await page.waitForFunction(() => !!navigator.serviceWorker.controller);
  const after = await swState(page);
  const fresh = before.caches.filter((c) => after.caches.includes(c));
  check(after.caches.length === 1 && fresh.length === 0, `after the update the caches are ${JSON.stringify(after.caches)}`);
  check(!after.waiting, "a service worker is still waiting after the update");

  // Local data survived: still signed in, Helsinki kept, topics from IndexedDB (no relay).
  await page.locator(".topics a").first().waitFor();
  const topicsAfter = await page.locator(".topics a").count();
  check(topicsAfter === topicsBefore, `${topicsBefore} topics before the update, ${topicsAfter} after`);
  const muni = await page.locator('main a[href="#/municipality"]').textContent();
  check(muni.includes("Helsinki"), `the municipality after the update is ${muni}`);
  check((await page.locator("#code").count()) === 0, "the update signed the person out");
  check(await page.locator("#update").isHidden(), "the banner still shows after the update");
  const marker = await page.locator(MARKER).textContent();

  // The editing screens, which an editor's app loaded at start before the update and which no
  // build precaches, open with the relay gone: the new worker brought the new build's copy.
  await page.evaluate(() => (location.hash = "#/add"));
  await page.locator("#f-area").waitFor();
  const saveButton = await page.locator('main button[type="submit"]').first().textContent();
  await context.close();
  finish({ before: before.caches, after: after.caches, topics: topicsAfter, municipality: muni.trim(), marker, saveButton });
});
