// Browser test: an area adapts national guidance. An editor of Helsinki opens a card's steps,
// creates Helsinki's local version, rewords a step and adds a local one; the steps the national
// card requires offer no way to remove them. A reader in Helsinki then walks the card and sees
// the local wording and step, while a reader in Espoo still sees the national guidance.
//
// node local-guidance.mjs --url http://127.0.0.1:PORT/ --editor INVITE --reader INVITE --other INVITE
//                         --wording "…" --added "…"

import { args, check, finish, helsinkiPerson, launchPersistent, lastSynced, need, pickMunicipality, run, signIn, waitSyncedAfter, walkCard } from "./common.mjs";

const CARD = "worried-about-young-person";
const PATH = ["age", "minor"];
const AREA = "municipality:091";

// The text of the steps shown on a card's steps node.
function stepTexts(page) {
  return page.locator(".urgency ol.steps > li").allInnerTexts();
}

run(async () => {
  const a = args();
  need(a, "url", "editor", "reader", "other", "wording", "added");
  const editor = await helsinkiPerson(a.url, a.editor);
  const reader = await helsinkiPerson(a.url, a.reader);
  const other = await launchPersistent({ locale: "en-GB" });
  await signIn(other.page, a.url, a.other);
  const never = await lastSynced(other.page);
  await pickMunicipality(other.page, "espoo", "Espoo");
  await waitSyncedAfter(other.page, never);

  // 1. From the card's steps, the editor opens Helsinki's local version and creates it.
  await walkCard(editor.page, CARD, PATH);
  const nationalSteps = await stepTexts(editor.page);
  await editor.page.locator(`main a[href="#/local/${CARD}/${encodeURIComponent(AREA)}"]`).click();
  await editor.page.locator("[data-testid=adapt]").click();
  const node = editor.page.locator('main section[data-node="minor"]');
  await node.waitFor().catch(async () => {
    throw new Error(`no local version of the steps for minors after creating it; the page says ${JSON.stringify(await editor.page.locator("main").innerText())}`);
  });
  const steps = node.locator("ol.steps > li");
  const total = await steps.count();
  const removable = await node.locator("ol.steps > li:has([data-testid=remove-step])").count();
  check(total > removable && removable > 0, `expected both required and removable steps, got ${total} steps of which ${removable} removable`);

  // 2. Reword the first step that may be removed (so not one the nation requires), and add one.
  const li = node.locator("ol.steps > li:has([data-testid=remove-step])").first();
  const stepId = await li.getAttribute("data-step");
  await li.locator("textarea").fill(a.wording);
  await li.locator("[data-testid=save-wording]").click();
  await editor.page.waitForFunction(
    ([id, text]) => document.querySelector(`section[data-node="minor"] li[data-step="${id}"] textarea`)?.value === text,
    [stepId, a.wording],
  );
  await node.locator("details summary").click();
  await node.locator('textarea[id="t-minor"]').fill(a.added);
  await node.locator("[data-testid=add-step]").click();
  await editor.page.waitForFunction((text) => [...document.querySelectorAll('section[data-node="minor"] ol.steps textarea')].some((t) => t.value === text), a.added);
  const report = (await editor.page.locator("[data-testid=local-report]").textContent()).trim();
  check(report === "", `the editor was told: ${report}`);
  const editorSynced = await waitSyncedAfter(editor.page, editor.synced);

  // 3. The Helsinki reader sees the local version; the Espoo reader the national one.
  await walkCard(reader.page, CARD, PATH);
  await reader.page
    .waitForFunction(([w, x]) => document.querySelector("main").innerText.includes(w) && document.querySelector("main").innerText.includes(x), [a.wording, a.added], { timeout: 40_000 })
    .catch(async () => {
      throw new Error(`the Helsinki reader does not see the local steps: ${JSON.stringify(await stepTexts(reader.page))}`);
    });
  const readerSteps = await stepTexts(reader.page);
  await walkCard(other.page, CARD, PATH);
  const otherSteps = await stepTexts(other.page);
  const readerLinks = await reader.page.locator('main a[href^="#/local/"]').count();
  await editor.context.close();
  await reader.context.close();
  await other.context.close();
  finish({ nationalSteps, readerSteps, otherSteps, total, removable, stepId, editorSynced, readerLinks });
});
