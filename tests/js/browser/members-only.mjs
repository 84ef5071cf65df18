// Browser test: members-only contact points. A reader who is a member of Helsinki sees Helsinki's
// local cooperation group on the browse screen, labelled for area members, and finds it by search;
// a reader of Joensuu who picked Helsinki as their municipality sees neither, and Helsinki's
// members-only document never reaches that browser's IndexedDB.
//
// node members-only.mjs --url http://127.0.0.1:PORT/ --member INVITE --outsider INVITE --doc ID

import { args, check, finish, helsinkiPerson, need, run } from "./common.mjs";

const WAIT_MS = 20_000;

// The labels of the members-only entries on the browse screen, with their names.
async function membersOnly(page, url) {
  await page.goto(new URL("#/browse", url).href);
  await page.locator("main [data-testid=contact]").first().waitFor();
  return page.locator("main [data-testid=contact]:has([data-testid=members-only])").evaluateAll((els) =>
    els.map((el) => ({ name: el.querySelector("strong").textContent.trim(), label: el.querySelector("[data-testid=members-only]").textContent.trim() })),
  );
}

// The names of the search results for a query.
async function searchNames(page, url, query) {
  await page.goto(new URL("#/", url).href);
  await page.locator("#q").fill(query);
  await page.locator('main ul.list[aria-live] li').first().waitFor();
  return page.locator("main ul.list[aria-live] li").allInnerTexts();
}

// The document ids the app keeps in IndexedDB (chunks and sync states).
function storedDocs(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open("contactpoint");
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const db = req.result;
          const tx = db.transaction(["chunks", "sync"], "readonly");
          const docs = new Set();
          tx.objectStore("chunks").openCursor().onsuccess = (e) => {
            const c = e.target.result;
            if (!c) return;
            docs.add(c.value.doc);
            c.continue();
          };
          tx.objectStore("sync").getAllKeys().onsuccess = (e) => e.target.result.forEach((k) => docs.add(k));
          tx.oncomplete = () => {
            db.close();
            resolve([...docs]);
          };
        };
      }),
  );
}

run(async () => {
  const a = args();
  need(a, "url", "member", "outsider", "doc");
  const member = await helsinkiPerson(a.url, a.member);
  await member.page.goto(new URL("#/browse", a.url).href);
  await member.page
    .locator("main [data-testid=members-only]")
    .first()
    .waitFor({ timeout: WAIT_MS })
    .catch(async () => {
      throw new Error(`a member of Helsinki sees no members-only entry; stored documents: ${JSON.stringify(await storedDocs(member.page))}`);
    });
  const memberSees = await membersOnly(member.page, a.url);
  const memberFinds = await searchNames(member.page, a.url, "cooperation");
  const memberStored = await storedDocs(member.page);

  const outsider = await helsinkiPerson(a.url, a.outsider);
  // Give the app the time it gives a member to open its members-only documents.
  await outsider.page.waitForTimeout(3000);
  const outsiderSees = await membersOnly(outsider.page, a.url);
  const outsiderFinds = await searchNames(outsider.page, a.url, "cooperation");
  const outsiderStored = await storedDocs(outsider.page);
  check(outsiderStored.length > 10, `the outsider's browser stored only ${outsiderStored.length} documents`);
  await member.context.close();
  await outsider.context.close();
  finish({ memberSees, memberFinds, memberStored, outsiderSees, outsiderFinds, outsiderStored });
});
