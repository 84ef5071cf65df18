// Browser test: the app works with the relay process gone. It signs in and syncs once, the Rust
// test kills the relay, the page reloads from the service worker and local data and still leads
// from a concern to the right phone numbers; when the relay is back on the same port, the app
// reconnects by itself and the "last synced" time moves on. A cold start on the home screen draws
// it from the snapshot kept last time before the database or the wasm is ready.
//
// node offline.mjs --url http://127.0.0.1:PORT/ --code INVITE
// Steps: "synced" (then the relay is killed), "offline-done" (then it is started again).

import { args, check, contacts, finish, launchPersistent, lastSynced, need, run, signIn, step, waitServiceWorkerActive, waitSyncedAfter, pickMunicipality, walkCard, WAIT_MS } from "./common.mjs";

const CARD = "worried-about-young-person";

run(async () => {
  const a = args();
  need(a, "url", "code");
  const { context, page } = await launchPersistent({ locale: "en-GB" });

  // 1. Online: sign in, let the first sync finish and the service worker take over.
  await signIn(page, a.url, a.code);
  const never = await lastSynced(page);
  const neverText = await page.locator("[data-testid=last-synced]").textContent();
  check(never === "" && neverText.includes("not synced yet"), `before the first sync the status says ${JSON.stringify(neverText)} (at ${JSON.stringify(never)})`);
  const firstSync = await waitSyncedAfter(page, never);
  // The status line says how long ago, not when: the sync has only just finished.
  const ageText = await page.locator("[data-testid=last-synced]").textContent();
  check(ageText === "last synced just now", `after the first sync the status says ${JSON.stringify(ageText)}`);
  await waitServiceWorkerActive(page);
  await step("synced", { lastSynced: firstSync });

  // 2. The relay process is gone. Nothing on that port answers, not even the app's files.
  const probe = await page.request.get(new URL("/healthz", a.url).href, { timeout: 5000 }).then(
    (r) => `status ${r.status()}`,
    () => "unreachable",
  );
  check(probe === "unreachable", `the relay still answers after being killed: ${probe}`);
  await page.reload();
  const controlled = await page.evaluate(() => !!navigator.serviceWorker.controller);
  check(controlled, "after the reload no service worker controls the page");
  await pickMunicipality(page, "helsing", "Helsinki");
  // The status line shows the stored time of the one sync once the app has loaded its settings
  // (it says "not synced yet" for a moment while the documents load: see the report).
  await page
    .waitForFunction((t) => document.querySelector("#status [data-testid=last-synced]")?.getAttribute("data-at") === t, firstSync)
    .catch(async () => {
      throw new Error(`offline, the status does not show the first sync: ${await page.locator("#status").textContent()}`);
    });
  const offlineStatus = await page.locator("#status").textContent();
  check(!offlineStatus.includes("Up to date"), `with the relay gone the status says ${offlineStatus}`);

  await walkCard(page, CARD, ["age", "minor"]);
  const minor = await contacts(page);
  const intake = minor.find((c) => /Child welfare intake, Helsinki/.test(c.name));
  check(intake, `no Helsinki child welfare intake among ${JSON.stringify(minor.map((c) => c.name))}`);
  check(intake.tel.length && intake.tel.every((t) => /^tel:\+?\d+$/.test(t)), `its phone links are ${JSON.stringify(intake.tel)}`);

  // The emergency path, from the card's first question.
  await page.goto(new URL("#/", a.url).href);
  await walkCard(page, CARD, ["emergency"]);
  const emergency = await contacts(page);
  const e112 = emergency.find((c) => c.tel.includes("tel:112"));
  check(e112, `no contact calling tel:112 on the emergency path: ${JSON.stringify(emergency)}`);
  const urgency = await page.locator(".urgency").getAttribute("class");
  check(urgency.includes("urgency-emergency"), `the emergency steps are marked ${urgency}`);

  // 3. A cold start on the home screen draws it at once from the snapshot the last drawing kept,
  // before the database is open, and the screen drawn from the documents afterwards is the same.
  await page.goto(new URL("#/", a.url).href);
  await page.locator(".topics a").first().waitFor();
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      const topics = document.querySelector(".topics");
      if (!topics) return;
      window.__firstTopics = topics.textContent;
      observer.disconnect();
    }).observe(document, { childList: true, subtree: true });
  });
  await page.reload();
  await page.waitForFunction(() => performance.getEntriesByName("cp-opened").length > 0);
  const early = await page.evaluate(() => {
    const at = (name) => performance.getEntriesByName(name)[0]?.startTime;
    return { drawn: at("cp-drawn"), store: at("cp-store"), wasm: at("cp-wasm"), first: window.__firstTopics, now: document.querySelector(".topics")?.textContent };
  });
  check(early.drawn < early.store && early.drawn < early.wasm, `the home screen was drawn at ${early.drawn} ms, not before the database (${early.store}) and the wasm (${early.wasm})`);
  check(early.first && early.first === early.now, `the home screen drawn first said ${JSON.stringify(early.first)}, from the documents ${JSON.stringify(early.now)}`);
  // A snapshot this build cannot draw (damaged, or from another version) is not drawn and does
  // not stop the app: the documents draw the screen and keep a good one.
  await page.evaluate(() => {
    const kept = JSON.parse(localStorage.getItem("contactpoint-first-screen"));
    localStorage.setItem("contactpoint-first-screen", JSON.stringify({ ...kept, topics: [null] }));
  });
  await page.reload();
  await page.waitForFunction(() => performance.getEntriesByName("cp-opened").length > 0);
  const damaged = await page.evaluate(() => ({
    topics: document.querySelectorAll(".topics a").length,
    kept: JSON.parse(localStorage.getItem("contactpoint-first-screen") || "null")?.topics?.length ?? 0,
  }));
  check(damaged.topics > 0 && damaged.kept === damaged.topics, `after a damaged snapshot the home screen shows ${damaged.topics} topics and keeps ${damaged.kept}`);

  const stillOffline = await lastSynced(page);
  await step("offline-done", { intake, emergency: e112, lastSynced: stillOffline });

  // 4. The relay is back on the same port: the app reconnects by its back-off (1 s, doubling),
  // so the wait may be longer than one back-off interval since the reload.
  const started = Date.now();
  const secondSync = await waitSyncedAfter(page, stillOffline, 2 * WAIT_MS);
  await context.close();
  finish({ firstSync, secondSync, reconnectMs: Date.now() - started, intake, emergency: e112, early, damaged });
});
