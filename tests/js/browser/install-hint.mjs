// Browser test: the hint to install the app and the home screen icon for iOS. In Finnish, a
// signed-in person whose browser offers installation (a `beforeinstallprompt` event, made here
// since headless Chromium never decides a page is installable) is shown the hint with an Install
// button, which opens the browser's prompt; after a reload the offer comes again and no hint is
// shown. On an iPhone's Safari (its user agent), which has no such event, the hint says how to
// add the app to the home screen; closed, it does not come back. The apple-touch-icon linked from
// the page is a 180×180 PNG. axe finds no WCAG 2.1 A or AA problem with the hint shown.
//
// node install-hint.mjs --url http://127.0.0.1:PORT/ --chromium CODE --iphone CODE
// The result holds what each person was shown and the icon's type and size.

import { AxeBuilder } from "@axe-core/playwright";
import { args, check, finish, launch, lastSynced, need, pickMunicipality, run, signIn, waitSyncedAfter, WAIT_MS } from "./common.mjs";

const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

// The browser's install offer, as Chromium fires it once a page is installable.
function offerInstall(page) {
  return page.evaluate(() => {
    const e = new Event("beforeinstallprompt", { cancelable: true });
    e.prompt = async () => void (window.prompted = (window.prompted || 0) + 1);
    dispatchEvent(e);
  });
}

async function signedIn(browser, url, code, userAgent) {
  const context = await browser.newContext({ locale: "fi-FI", viewport: { width: 390, height: 844 }, ...(userAgent ? { userAgent } : {}) });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  await signIn(page, url, code);
  const never = await lastSynced(page);
  await pickMunicipality(page, "helsing", "Helsinki");
  await waitSyncedAfter(page, never);
  return { context, page };
}

// Whether the hint appears within a few seconds (it loads its module first): for the checks that
// it does not come back, where nothing else would tell that the app decided.
function appears(locator) {
  return locator.waitFor({ timeout: 3000 }).then(
    () => 1,
    () => 0,
  );
}

async function reloadHome(page) {
  await page.reload();
  await page.locator(".topics a").first().waitFor();
  await page.locator("[data-testid=last-synced]").waitFor();
}

run(async () => {
  const a = args();
  need(a, "url", "chromium", "iphone");
  const browser = await launch();

  const chromium = await signedIn(browser, a.url, a.chromium);
  const hint = chromium.page.locator("[data-testid=install-hint]");
  const before = await appears(hint);
  await offerInstall(chromium.page);
  await hint.waitFor();
  const offered = (await hint.innerText()).trim();
  // The hint passes axe's WCAG 2.1 A and AA rules on the home screen it sits above.
  const axe = await new AxeBuilder({ page: chromium.page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const violations = axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  await chromium.page.locator("[data-testid=install]").click();
  await hint.waitFor({ state: "detached" });
  const prompted = await chromium.page.evaluate(() => window.prompted || 0);
  await reloadHome(chromium.page);
  await offerInstall(chromium.page);
  const again = await appears(hint);
  const icon = await chromium.page.evaluate(async () => {
    const link = document.querySelector('link[rel="apple-touch-icon"]');
    if (!link) return null;
    const res = await fetch(link.href);
    const b = new DataView(await res.arrayBuffer());
    // A PNG's IHDR: width and height, big-endian, at bytes 16 and 20.
    return { type: res.headers.get("content-type"), signature: b.getUint32(0) === 0x89504e47, width: b.getUint32(16), height: b.getUint32(20) };
  });
  await chromium.context.close();

  const iphone = await signedIn(browser, a.url, a.iphone, IPHONE);
  const ios = iphone.page.locator("[data-testid=install-hint]");
  await ios.waitFor();
  const iosText = (await ios.innerText()).trim();
  const iosInstallButton = await iphone.page.locator("[data-testid=install]").count();
  await iphone.page.locator("[data-testid=install-dismiss]").click();
  await ios.waitFor({ state: "detached" });
  await reloadHome(iphone.page);
  const iosAgain = await appears(ios);
  await iphone.context.close();

  await browser.close();
  check(before === 0, "a hint was shown before the browser offered installation");
  finish({ violations, axePasses: axe.passes.length, offered, prompted, again, icon, iosText, iosInstallButton, iosAgain });
});
