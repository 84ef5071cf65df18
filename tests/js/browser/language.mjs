// Browser test: no English in the Finnish and Swedish app. For each of fi and sv, an
// administrator on an English-speaking browser chooses the language on the sign-in screen, types
// a wrong invite code, signs in, and goes through the main screens: the municipality picker,
// home with the hint to install the app, search results, a card's steps (with a legal basis), a
// contact, its Share button's messages (copied, and copying refused with the text to copy by
// hand), settings, the printable contact sheet, the accessibility statement, and the edit form
// showing a validation error. On every screen the page's text is searched for the English
// strings: the app's own English words (web/js/i18n.js) and the English messages of the rules
// and the relay (given in --english, a JSON list of {code, en}; `{name}` marks a parameter). A
// string that reads the same in Finnish or Swedish is not English and is left out. Every
// message's code must also have a Finnish and a Swedish wording in the app.
//
// node language.mjs --url http://127.0.0.1:PORT/ --codes fi=CODE,sv=CODE --english FILE
// The result lists every English string found (`hits`), the codes without a wording
// (`unworded`), the screens checked, and the wrong code's and the phone number's messages and
// the legal basis as shown.

import fs from "node:fs";
import { args, check, finish, launch, lastSynced, need, newPage, pickMunicipality, run, waitSyncedAfter } from "./common.mjs";
import { addMessages, addWords, catalogue } from "../../../web/js/i18n.js";
import { WORDS as ADMIN_WORDS } from "../../../web/js/admin.js";
import { MESSAGES as EDITING_MESSAGES, WORDS as EDITING_WORDS } from "../../../web/js/editing-words.js";
import { WORDS as INSTALL_WORDS } from "../../../web/js/install-hint.js";
import { WORDS as PRINT_WORDS } from "../../../web/js/print.js";
import { WORDS } from "../../../web/js/statement.js";

// The words of the screens loaded on demand (the administration, the printable sheet, the
// accessibility statement, the install hint, the editing screens with the rules' messages) join
// the catalogue when they load; here, before the list is made.
addWords(ADMIN_WORDS);
addWords(EDITING_WORDS);
addMessages(EDITING_MESSAGES);
addWords(PRINT_WORDS);
addWords(INSTALL_WORDS);
addWords(WORDS);

const CARD = "worried-about-young-person";

// The English strings to look for: whole words or phrases, each at least four characters.
function englishStrings(messages, fi, sv) {
  const { en } = catalogue();
  const translated = new Set([...Object.values(fi), ...Object.values(sv)].map((s) => s.trim()));
  const out = new Set();
  const add = (text, min) => {
    for (const piece of text.split(/\{\w+\}/)) {
      const p = piece.trim().replace(/^[\s.,:;()"'—–-]+|[\s.,:;()"'—–-]+$/g, "");
      if (p.length >= min && !translated.has(p)) out.add(p);
    }
  };
  for (const [key, text] of Object.entries(en)) if (text !== fi[key] && text !== sv[key]) add(text, 4);
  // The rules' messages: the parts around parameters, long enough to be phrases.
  for (const { en: text } of messages) add(text, 12);
  return [...out];
}

run(async () => {
  const a = args();
  need(a, "url", "codes", "english");
  const messages = JSON.parse(fs.readFileSync(a.english, "utf8"));
  const { fi, sv, messages: worded } = catalogue();
  const english = englishStrings(messages, fi, sv);
  const unworded = messages.filter(({ code }) => !(worded[code] && worded[code].fi && worded[code].sv)).map(({ code }) => code);
  const codes = Object.fromEntries(a.codes.split(",").map((kv) => kv.split("=")));
  const browser = await launch();
  const hits = [];
  const screens = [];
  const shown = {};

  // Every English string found in the page's text (its title and the values of its text boxes
  // too), as a whole word or phrase.
  async function scan(page, lang, screen) {
    const text = await page.evaluate(
      () => `${document.title}\n${document.body.innerText}\n${[...document.querySelectorAll("textarea")].map((t) => t.value).join("\n")}`,
    );
    screens.push({ lang, screen, chars: text.length });
    for (const s of english) {
      const re = new RegExp(`(?<![\\p{L}\\p{N}])${s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\p{L}\\p{N}])`, "u");
      const m = re.exec(text);
      if (m) hits.push({ lang, screen, english: s, context: text.slice(Math.max(0, m.index - 40), m.index + s.length + 40) });
    }
  }

  for (const lang of ["fi", "sv"]) {
    const { context, page } = await newPage(browser, { locale: "en-GB" });
    // The browser speaks English, so the app starts in English; the person chooses.
    await page.goto(a.url);
    await page.locator("#signin-lang").selectOption(lang);
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
    check((await page.locator("h1").innerText()) !== "Start using the app", `${lang}: the sign-in screen stayed English`);
    await scan(page, lang, "sign-in");

    // A wrong invite code.
    await page.locator("#code").fill("AAAAA-AAAAA-AAAAA");
    await page.locator("#device").fill("language test");
    await page.locator("form button[type=submit]").click();
    const error = page.locator("form .error");
    await page.waitForFunction(() => document.querySelector("form .error")?.textContent.trim());
    shown[`${lang}WrongCode`] = (await error.innerText()).trim();
    await scan(page, lang, "wrong-code");

    // Signed in with the right code: the language chosen before stays.
    await page.locator("#code").fill(codes[lang]);
    await page.locator("form button[type=submit]").click();
    await page.locator("#muni").waitFor();
    check((await page.evaluate(() => document.documentElement.lang)) === lang, `${lang}: the language was lost at sign-in`);
    const never = await lastSynced(page);
    await page.locator("#muni").fill("hel");
    await page.locator("button.choice").first().waitFor();
    await scan(page, lang, "municipality");
    await pickMunicipality(page, "helsing", "Helsinki");
    await waitSyncedAfter(page, never);
    await scan(page, lang, "home");
    // A cold start in a new tab (no history entry to carry the language) takes it from the store.
    const again = await context.newPage();
    await again.goto(a.url);
    await again.locator(".topics a").first().waitFor();
    check((await again.evaluate(() => document.documentElement.lang)) === lang, `${lang}: a cold start lost the language chosen`);
    await again.close();

    // The browser offers to install the app (an event made here: headless Chromium never
    // decides a page is installable), and the hint appears above the screen.
    await page.evaluate(() => {
      const e = new Event("beforeinstallprompt", { cancelable: true });
      e.prompt = async () => {};
      dispatchEvent(e);
    });
    await page.locator("[data-testid=install-hint]").waitFor();
    await scan(page, lang, "install-hint");
    await page.locator("[data-testid=install-dismiss]").click();
    await page.locator("[data-testid=install-hint]").waitFor({ state: "detached" });

    await page.locator("#q").fill("poliisi");
    await page.locator("main ul.list[aria-live] li a").first().waitFor();
    await scan(page, lang, "search");

    await page.goto(new URL(`#/card/${CARD}/minor`, a.url).href);
    await page.locator(".urgency [data-testid=contact]").first().waitFor();
    shown[`${lang}LegalBasis`] = await page.locator(".steps .hint", { hasText: "417/2007" }).first().innerText();
    await scan(page, lang, "card-steps");

    const href = await page.locator(".urgency [data-testid=contact] strong a").first().getAttribute("href");
    await page.goto(new URL(href, a.url).href);
    await page.locator("main [data-testid=contact]").waitFor();
    await scan(page, lang, "contact");

    // Sharing the contact, with no share sheet (headless Chromium has none): copied, and then,
    // with copying refused, the text to copy by hand, whose labels are the app's words too.
    const note = page.locator("[data-testid=share-note]");
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(a.url).origin });
    await page.locator("[data-testid=share]").click();
    await page.waitForFunction(() => document.querySelector("[data-testid=share-note]")?.textContent.trim());
    shown[`${lang}Copied`] = (await note.innerText()).trim();
    await page.evaluate(() => {
      Object.defineProperty(navigator, "clipboard", { configurable: true, value: { writeText: () => Promise.reject(new DOMException("denied", "NotAllowedError")) } });
    });
    await page.locator("[data-testid=share]").click();
    await page.locator("[data-testid=share-text]").waitFor();
    shown[`${lang}ShareText`] = await page.locator("[data-testid=share-text]").inputValue();
    await scan(page, lang, "share");

    await page.goto(new URL("#/settings", a.url).href);
    await page.locator("#lang").waitFor();
    await scan(page, lang, "settings");

    await page.goto(new URL("#/print/091", a.url).href);
    await page.locator("main [data-testid=print-sheet] dd").first().waitFor();
    await scan(page, lang, "print");
    await page.goto(new URL("#/accessibility", a.url).href);
    await page.locator("main [data-testid=a11y-gaps]").waitFor();
    await scan(page, lang, "accessibility");

    // The edit form with a number cut short: the rule's message next to the field.
    const id = decodeURIComponent(href.replace("#/contact/", ""));
    await page.goto(new URL(`#/edit/${encodeURIComponent(id)}`, a.url).href);
    await page.locator("#f-phones\\[0\\]").fill("+358 40 123");
    await page.locator("main form button[type=submit]").click();
    await page.waitForFunction(() => document.getElementById("e-phones[0]")?.textContent.trim());
    shown[`${lang}PhoneError`] = (await page.locator("[id='e-phones[0]']").innerText()).trim();
    await scan(page, lang, "edit-error");
    await context.close();
  }
  await browser.close();
  finish({ hits, unworded, screens, shown, strings: english.length });
});
