// Browser test: the administration screens at phone width. An administrator creates a reader
// invite for Helsinki in the app, and its link signs in a fresh browser profile as that reader.
// A Helsinki editor creates a reader invite for Helsinki, and is refused one for Turku and one
// with the editor role, with the relay's message on the screen. The administrator revokes a
// connected phone from the users screen, and the phone's connection to the relay closes: how
// long after the click is measured at the phone's WebSocket.
//
// node admin.mjs --url http://127.0.0.1:PORT/ --admin INVITE --editor INVITE --phone INVITE

import { AxeBuilder } from "@axe-core/playwright";
import { args, check, finish, helsinkiPerson, launchPersistent, need, run, WAIT_MS } from "./common.mjs";

// axe's WCAG 2.1 A and AA findings on each administration screen, as the a11y test checks the others.
const violations = [];
const axeChecked = [];
async function axe(page, screen) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  axeChecked.push({ screen, passes: results.passes.length });
  for (const v of results.violations) violations.push({ screen, rule: v.id, nodes: v.nodes.map((n) => n.target.join(" ")) });
}

// Opens the invite screen through the settings screen's link, as a person would.
async function openInviteScreen(page, url) {
  await page.goto(new URL("#/settings", url).href);
  await page.locator("[data-testid=admin-link]").click();
  await page.locator('a[href="#/admin/invite"]').click();
  await page.locator("[data-testid=create-invite]").waitFor();
}

// Fills in and sends the invite form; returns the link shown, or the error shown.
async function createInvite(page, { role, areas = "", mine, uses = 1, days = 7 }) {
  await page.locator("#invite-role").selectOption(role);
  const boxes = page.locator('input[name="area"]');
  for (let i = 0; i < (await boxes.count()); i++) await boxes.nth(i).setChecked(mine === undefined ? (await boxes.nth(i).isChecked()) : mine);
  await page.locator("#invite-areas").fill(areas);
  await page.locator("#invite-uses").fill(String(uses));
  await page.locator("#invite-days").fill(String(days));
  const before = await page.locator("[data-testid=admin-error]").textContent();
  await page.locator("[data-testid=create-invite]").click();
  // Whichever comes: the new link, or an error message.
  await page.waitForFunction(
    (b) => document.querySelector("#invite-link") || (document.querySelector("[data-testid=admin-error]").textContent || "") !== b,
    before,
  );
  const link = await page.locator("#invite-link").count() ? await page.locator("#invite-link").inputValue() : null;
  const error = (await page.locator("[data-testid=admin-error]").textContent()) || "";
  let qr = null;
  if (link) {
    await page.waitForFunction(() => document.querySelector("[data-testid=invite-qr]")?.complete);
    qr = await page.locator("[data-testid=invite-qr]").evaluate((img) => ({ width: img.naturalWidth, shown: img.getBoundingClientRect().width }));
  }
  // Nothing sticks out sideways at phone width.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  return { link, error, qr, overflow };
}

run(async () => {
  const a = args();
  need(a, "url", "admin", "editor", "phone");

  // 1. The administrator's reader invite, and its link in a fresh profile.
  const admin = await helsinkiPerson(a.url, a.admin);
  await openInviteScreen(admin.page, a.url);
  const adminInvite = await createInvite(admin.page, { role: "reader", areas: "091", uses: 2, days: 3 });
  check(adminInvite.link, `the administrator got no link: ${adminInvite.error}`);
  await axe(admin.page, "invite with its link");
  const fresh = await launchPersistent({ locale: "en-GB" });
  await fresh.page.goto(adminInvite.link);
  const prefilled = await fresh.page.locator("#code").inputValue();
  await fresh.page.locator("#device").fill("invited phone");
  await fresh.page.locator("form button[type=submit]").click();
  await fresh.page.locator("#muni").waitFor();
  const invitedUser = await fresh.page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("contactpoint");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const get = open.result.transaction("settings").objectStore("settings").get("user");
          get.onsuccess = () => resolve(get.result);
          get.onerror = () => reject(get.error);
        };
      }),
  );
  await fresh.context.close();

  // 2. The editor: a reader invite for Helsinki; none for Turku, none for an editor.
  const editor = await helsinkiPerson(a.url, a.editor);
  await openInviteScreen(editor.page, a.url);
  const editorAreas = await editor.page.locator('input[name="area"]').evaluateAll((els) => els.map((e) => ({ value: e.value, checked: e.checked })));
  const editorReader = await createInvite(editor.page, { role: "reader" });
  await openInviteScreen(editor.page, a.url);
  const editorTurku = await createInvite(editor.page, { role: "reader", areas: "853", mine: false });
  await openInviteScreen(editor.page, a.url);
  const editorEditor = await createInvite(editor.page, { role: "editor" });
  await axe(editor.page, "invite refused");
  // Users and the audit log are for administrators: the editor's menu does not offer them.
  await editor.page.goto(new URL("#/admin", a.url).href);
  await editor.page.locator('a[href="#/admin/invite"]').waitFor();
  const editorMenu = await editor.page.locator("main .list a").evaluateAll((els) => els.map((e) => e.getAttribute("href")));
  await editor.context.close();

  // 3. A phone whose WebSocket is watched: when does the relay close it?
  let closedAt = null;
  let opened = 0;
  const phone = await helsinkiPerson(a.url, a.phone, {
    prepare: (context) =>
      context.routeWebSocket(/\/sync(\?|$)/, (ws) => {
        const server = ws.connectToServer();
        opened += 1;
        server.onClose((code, reason) => {
          if (closedAt === null) closedAt = Date.now();
          ws.close({ code, reason });
        });
        ws.onClose((code, reason) => server.close({ code, reason }));
        ws.onMessage((m) => server.send(m));
        server.onMessage((m) => ws.send(m));
      }),
  });
  check(opened > 0 && closedAt === null, `the phone is not connected (opened ${opened})`);
  await admin.page.goto(new URL("#/admin/users", a.url).href);
  const row = admin.page.locator("[data-testid=admin-user]", { hasText: "Phone to revoke" });
  await row.locator("[data-testid=revoke]").waitFor();
  await axe(admin.page, "users and devices");
  admin.page.once("dialog", (d) => d.accept());
  const clickedAt = Date.now();
  await row.locator("[data-testid=revoke]").click();
  const deadline = Date.now() + WAIT_MS;
  while (closedAt === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  check(closedAt !== null, "the phone's connection was never closed");
  const closedAfterMs = closedAt - clickedAt;
  // The phone then deletes its data and says why.
  await phone.page.locator("[data-testid=removed]").waitFor();
  const phoneNotice = await phone.page.locator("[data-testid=removed]").textContent();
  // The users screen, redrawn, shows the device as removed.
  await row.locator("[data-testid=revoke]").waitFor({ state: "detached" });
  const rowAfter = await row.textContent();
  await phone.context.close();

  // 4. The audit log: the administrator's own invites, filtered by who and what.
  await admin.page.goto(new URL("#/admin/audit", a.url).href);
  await admin.page.locator("#audit-action").selectOption("invite");
  await admin.page.locator("#audit-since").fill(new Date().toISOString().slice(0, 10));
  await admin.page.locator("[data-testid=audit-search]").click();
  await admin.page.locator("[data-testid=audit-entry]").first().waitFor();
  const audit = await admin.page.locator("[data-testid=audit-entry]").evaluateAll((els) => els.map((e) => e.textContent));
  await axe(admin.page, "audit log");
  const auditOverflow = await admin.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  await admin.context.close();

  finish({ adminInvite, prefilled, invitedUser, editorAreas, editorReader, editorTurku, editorEditor, editorMenu, closedAfterMs, phoneNotice, rowAfter, audit, auditOverflow, violations, axeChecked });
});
