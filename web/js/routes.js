// @ts-check
// The route table: each page of the URL hash (`#/page/a/b`), the screen that draws it, and
// whether it shows synced content, so that it is drawn again when documents change.

import { errorText, h, show } from "./dom.js";
import { t } from "./i18n.js";
import { accessibilityScreen, adminScreen, editingScreen, printScreen } from "./on-demand.js";
import { cardScreen } from "./screen-card.js";
import { contactScreen } from "./screen-contact.js";
import { browseScreen, homeScreen } from "./screen-home.js";
import { municipalityScreen } from "./screen-municipality.js";
import { settingsScreen } from "./screen-settings.js";
import { signInScreen } from "./screen-signin.js";
import { state } from "./state.js";
import { forgetTitles } from "./widgets.js";

/**
 * A page: the screen drawn from the hash's parts after the page's name, and whether it is live
 * (redrawn when documents change; sign-in, the municipality picker and settings are not).
 * @typedef {{ screen: (a: string, b: string) => unknown, live: boolean }} Page
 */

/** @type {Record<string, Page>} */
const PAGES = {
  "": { screen: () => homeScreen(), live: true },
  card: { screen: (a, b) => cardScreen(a, b), live: true },
  contact: { screen: (a) => contactScreen(a), live: true },
  edit: { screen: (a) => editingScreen("edit", (m) => m.editScreen(a)), live: false },
  browse: { screen: () => browseScreen(), live: true },
  review: { screen: () => editingScreen("review_queue", (m) => m.reviewScreen()), live: true },
  history: {
    screen: (a) => editingScreen("history", (m) => m.historyScreen(a)).catch((e) => show(t("history"), h("p", { class: "error", role: "alert" }, errorText(e)))),
    live: true,
  },
  discarded: { screen: () => editingScreen("discarded", (m) => m.discardedScreen()), live: false },
  add: { screen: () => editingScreen("add_contact", (m) => m.addScreen()), live: false },
  local: { screen: (a, b) => editingScreen("local_version_for", (m) => m.localScreen(a, b)), live: false },
  retired: { screen: () => editingScreen("retired_list", (m) => m.retiredScreen()), live: true },
  settings: { screen: () => settingsScreen(), live: false },
  print: { screen: (a) => printScreen(a || state.settings.municipality || ""), live: true },
  municipality: { screen: () => municipalityScreen(), live: false },
  admin: { screen: (a) => adminScreen(a), live: false },
};

/**
 * The page of a hash's first part: an unknown page is the home screen's.
 * @param {string} name
 */
function page(name) {
  return Object.hasOwn(PAGES, name) ? PAGES[name] : PAGES[""];
}

// A mistyped or cut link (a lone "%") must not stop the app: the part is taken as written.
/** @param {string} part */
function decode(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Draws the screen the URL names. */
export function route() {
  forgetTitles();
  // The accessibility statement is for anyone, signed in or not.
  if (location.hash === "#/accessibility") return accessibilityScreen();
  const { settings } = state;
  if (!settings.token) return signInScreen();
  if (!settings.municipality) return municipalityScreen();
  const [, name, a, b] = location.hash.split("/").map(decode);
  return page(name || "").screen(a, b);
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let routeTimer;

/** Draws the screen again soon, if it shows synced content and no one is typing in it. */
export function routeSoon() {
  clearTimeout(routeTimer);
  routeTimer = setTimeout(() => {
    const name = location.hash.split("/")[1] || "";
    const { settings } = state;
    if (!settings.token || !settings.municipality || !Object.hasOwn(PAGES, name) || !PAGES[name].live) return;
    // Do not pull the screen away from someone typing.
    if (document.activeElement && document.activeElement.tagName === "INPUT") return;
    route();
  }, 150);
}
